"""Meetings: weekly series, one-off invitations by mail, and everyone's answers.

Each attendee answers by their habits (declining outside their hours and by
their own rules, sometimes tentative), after a delay that follows how fast
they answer the organizer. Invitations and answers travel as mail with a
text/calendar part (METHOD:REQUEST and METHOD:REPLY).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from understudy.demo.calendar import invitation
from understudy.demo.clock import add_work_minutes
from understudy.demo.habits import sender_class
from understudy.demo.story import Attendance, Mail, Meeting, Timeline

__all__ = ["Plan", "answer", "attendances", "invite", "series"]

_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_VERBS = {"ACCEPTED": "Accepted", "DECLINED": "Declined", "TENTATIVE": "Tentative"}
_REGRETS = ("", "Sorry, I have a conflict.", "Can't make this one — please send notes.")


def answer(
    tl: Timeline, rng: random.Random, party: str, organizer: str, start: datetime, minutes: int
) -> str:
    """Return how ``party`` answers a meeting at ``start``: ACCEPTED, DECLINED or TENTATIVE."""
    habits = tl.habits[party]
    finish = start + timedelta(minutes=minutes)
    if (
        start.weekday() >= 5
        or start.hour < habits.start_hour
        or (finish.hour, finish.minute) > (habits.end_hour, 0)
    ):
        return "DECLINED"
    for rule in habits.declines:
        if (
            (rule == "before-10" and start.hour < 10)
            or (rule == "friday" and start.weekday() == 4)
            or (rule == "friday-afternoon" and start.weekday() == 4 and start.hour >= 12)
            or (rule == "after-16" and start.hour >= 16)
            or (
                rule.startswith("organizer:")
                and tl.company.is_internal(organizer)
                and rule.split(":", 1)[1] in tl.company.employee(organizer).groups
            )
        ):
            return "DECLINED"
    return "TENTATIVE" if rng.random() < habits.tentative_rate else "ACCEPTED"


def _when(start: datetime, minutes: int) -> str:
    finish = start + timedelta(minutes=minutes)
    return f"{start:%a %b} {start.day}, {start.year} {start:%H:%M}–{finish:%H:%M} ({start:%Z})"


def _answered_at(
    tl: Timeline, rng: random.Random, party: str, organizer: str, created: datetime
) -> datetime | None:
    habits = tl.habits[party]
    rule = habits.replies[sender_class(tl.company, habits, organizer)]
    low, high = (rule.min_minutes, rule.max_minutes) if rule.probability > 0 else (60, 600)
    at = add_work_minutes(
        created, rng.randint(low, max(low, high)), habits.start_hour, habits.end_hour
    )
    return at if at < tl.clock.end else None


def attendances(
    tl: Timeline,
    rng: random.Random,
    organizer: str,
    parties: tuple[str, ...],
    start: datetime,
    minutes: int,
    created: datetime | None,
) -> tuple[Attendance, ...]:
    """Return everyone's answer; with ``created``, when they answered (or NEEDS-ACTION)."""
    answers = []
    for party in parties:
        if not tl.company.is_internal(party):
            answers.append(Attendance(party, "ACCEPTED"))
            continue
        partstat = answer(tl, rng, party, organizer, start, minutes)
        when = _answered_at(tl, rng, party, organizer, created) if created else None
        if created is not None and when is None:
            partstat = "NEEDS-ACTION"
        answers.append(Attendance(party, partstat, when))
    return tuple(answers)


def _invitation_text(tl: Timeline, meeting: Meeting) -> str:
    name, email = tl.company.address(meeting.organizer)
    guests = ", ".join(tl.company.address(a.party)[0] for a in meeting.attendees)
    lines = [
        f"{name} has invited you to a meeting.",
        "",
        meeting.summary,
        f"When: {_when(meeting.start, meeting.minutes)}",
        f"Where: {meeting.location or 'Zoom'}",
        f"Organizer: {name} <{email}>",
        f"Guests: {guests}",
    ]
    if meeting.description:
        lines += ["", meeting.description]
    return "\n".join(lines)


def _reply_mail(tl: Timeline, rng: random.Random, meeting: Meeting, attendance: Attendance) -> None:
    if attendance.answered_at is None or attendance.partstat not in _VERBS:
        return
    verb = _VERBS[attendance.partstat]
    name = tl.company.address(attendance.party)[0]
    text = f"{name} has {verb.lower()} this invitation."
    if attendance.partstat == "DECLINED":
        text = f"{text}\n\n{rng.choice(_REGRETS)}".rstrip()
    invite_id = meeting.invite_id or ""
    tl.add(
        Mail(
            id=tl.message_id(attendance.answered_at, attendance.party),
            sender=attendance.party,
            to=(meeting.organizer,),
            cc=(),
            subject=f"{verb}: {meeting.summary} @ {_when(meeting.start, meeting.minutes)}",
            body=text,
            at=attendance.answered_at,
            category="invite-reply",
            project=meeting.project,
            in_reply_to=invite_id,
            references=(invite_id,),
            calendar=invitation(tl.company, meeting, "REPLY", attendance.party),
            method="REPLY",
        )
    )
    tl.mark(attendance.party, invite_id, "R")


@dataclass(frozen=True, slots=True)
class Plan:
    """A meeting to put in calendars: one-off (``created`` is when it was sent) or a series."""

    slug: str
    summary: str
    organizer: str
    parties: tuple[str, ...]
    minutes: int
    start: datetime | None = None
    created: datetime | None = None
    weekdays: tuple[int, ...] = ()
    hour: tuple[int, int] = (9, 0)
    interval: int = 1
    project: str | None = None
    location: str = "Zoom"
    description: str = ""
    cancel: bool = False

    @property
    def uid(self) -> str:
        """Return the iCalendar UID."""
        return self.slug if "@" in self.slug else f"{self.slug}@halcyon.example"


def invite(tl: Timeline, rng: random.Random, plan: Plan) -> Meeting:
    """Create a one-off meeting, mail the invitation, and mail every attendee's answer."""
    if plan.start is None or plan.created is None:
        raise ValueError(f"meeting {plan.slug} needs a start and a creation time")
    invite_id = tl.message_id(plan.created, plan.organizer)
    attendees = attendances(
        tl, rng, plan.organizer, plan.parties, plan.start, plan.minutes, plan.created
    )
    meeting = Meeting(
        plan.uid,
        plan.summary,
        plan.organizer,
        attendees,
        plan.start,
        plan.minutes,
        plan.created,
        description=plan.description,
        location=plan.location,
        project=plan.project,
        invite_id=invite_id,
    )
    tl.meetings.append(meeting)
    pending = replace(
        meeting, attendees=tuple(Attendance(a.party, "NEEDS-ACTION") for a in attendees)
    )
    tl.add(
        Mail(
            id=invite_id,
            sender=plan.organizer,
            to=plan.parties,
            cc=(),
            subject=f"Invitation: {plan.summary} @ {_when(plan.start, plan.minutes)}",
            body=_invitation_text(tl, meeting),
            at=plan.created,
            category="invite",
            project=plan.project,
            calendar=invitation(tl.company, pending, "REQUEST"),
            method="REQUEST",
        )
    )
    for attendance in attendees:
        if tl.company.is_internal(attendance.party):
            _reply_mail(tl, rng, meeting, attendance)
    return meeting


def _first_on(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def series(tl: Timeline, rng: random.Random, plan: Plan) -> Meeting:
    """Create a weekly series that began before the window, sometimes with a cancelled week."""
    begin = _first_on(tl.clock.start.date() - timedelta(days=28), plan.weekdays[0])
    start = tl.clock.at(begin, *plan.hour)
    rule: dict[str, Any] = {"freq": "weekly", "byday": [_DAYS[d] for d in plan.weekdays]}
    if plan.interval > 1:
        rule["interval"] = plan.interval
    exdates: tuple[datetime, ...] = ()
    if rng.random() < 0.4 or plan.cancel:
        weeks = rng.randrange(5, 10) // plan.interval * plan.interval
        exdates = (tl.clock.at(begin + timedelta(weeks=weeks), *plan.hour),)
    attendees = attendances(tl, rng, plan.organizer, plan.parties, start, plan.minutes, None)
    meeting = Meeting(
        plan.uid,
        plan.summary,
        plan.organizer,
        attendees,
        start,
        plan.minutes,
        start - timedelta(days=7),
        description=plan.description,
        location=plan.location,
        rrule=rule,
        exdates=exdates,
        project=plan.project,
    )
    tl.meetings.append(meeting)
    return meeting
