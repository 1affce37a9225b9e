"""iCalendar output: each person's calendar file, and the invitations sent by mail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from icalendar import (
    Calendar,
    Event,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    vCalAddress,
    vText,
)

from understudy.demo.company import Company
from understudy.demo.story import Meeting, Timeline

__all__ = ["calendar_bytes", "event", "invitation", "last_change"]

_PRODID = "-//Halcyon Labs//Understudy demo//EN"
# America/New_York since 2007, as RRULEs: shorter than icalendar's list of every transition.
_NEW_YORK = (
    (
        TimezoneDaylight,
        "EDT",
        (timedelta(hours=-5), timedelta(hours=-4)),
        3,
        "2SU",
        datetime(2007, 3, 11, 2),
    ),
    (
        TimezoneStandard,
        "EST",
        (timedelta(hours=-4), timedelta(hours=-5)),
        11,
        "1SU",
        datetime(2007, 11, 4, 2),
    ),
)


def _address(
    company: Company, party: str, partstat: str | None, organizer: bool = False
) -> vCalAddress:
    name, email = company.address(party)
    address = vCalAddress(f"mailto:{email}")
    address.params["CN"] = vText(name)
    if not organizer:
        address.params["CUTYPE"] = vText("INDIVIDUAL")
        address.params["ROLE"] = vText("REQ-PARTICIPANT")
        address.params["PARTSTAT"] = vText(partstat or "NEEDS-ACTION")
        address.params["RSVP"] = vText("TRUE")
    return address


def event(company: Company, meeting: Meeting, only: str | None = None) -> Event:
    """Return the VEVENT of ``meeting``; with ``only``, list just that attendee (for a reply)."""
    component = Event()
    component.add("uid", meeting.uid)
    component.add("dtstamp", meeting.created.astimezone(UTC))
    component.add("created", meeting.created.astimezone(UTC))
    component.add("summary", meeting.summary)
    component.add("dtstart", meeting.start)
    component.add("dtend", meeting.start + timedelta(minutes=meeting.minutes))
    if meeting.rrule:
        component.add("rrule", meeting.rrule)
    if meeting.exdates:
        component.add("exdate", list(meeting.exdates))
    if meeting.location:
        component.add("location", meeting.location)
    if meeting.description:
        component.add("description", meeting.description)
    component.add("organizer", _address(company, meeting.organizer, None, organizer=True))
    component.add("attendee", _address(company, meeting.organizer, "ACCEPTED"))
    for attendance in meeting.attendees:
        if only is None or attendance.party == only:
            component.add("attendee", _address(company, attendance.party, attendance.partstat))
    component.add("sequence", 0)
    component.add("status", "CONFIRMED")
    return component


@lru_cache(maxsize=4)
def _zone(key: str) -> Timezone:
    """Return the VTIMEZONE for ``key``, built once: it is slow to compute."""
    if key != "America/New_York":
        generated: Timezone = Timezone.from_tzid(key)
        return generated
    zone = Timezone()
    zone.add("tzid", key)
    for kind, name, offsets, month, byday, start in _NEW_YORK:
        rule = kind()
        rule.add("tzname", name)
        rule.add("tzoffsetfrom", offsets[0])
        rule.add("tzoffsetto", offsets[1])
        rule.add("dtstart", start)
        rule.add("rrule", {"freq": "yearly", "bymonth": month, "byday": byday})
        zone.add_component(rule)
    return zone


def _calendar(events: list[Event], zone: str, method: str | None = None) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", _PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    calendar.add_component(_zone(zone))
    for component in events:
        calendar.add_component(component)
    data: bytes = calendar.to_ical()
    return data


def invitation(
    company: Company, meeting: Meeting, method: str, attendee: str | None = None
) -> bytes:
    """Return the text/calendar payload of an invitation (REQUEST) or an answer (REPLY)."""
    chosen = attendee if method == "REPLY" else None
    return _calendar([event(company, meeting, chosen)], company.timezone, method)


def calendar_bytes(tl: Timeline, person: str) -> bytes:
    """Return the calendar of one person: every meeting they organize or attend."""
    mine = [
        m
        for m in tl.meetings
        if m.organizer == person or any(a.party == person for a in m.attendees)
    ]
    mine.sort(key=lambda m: (m.start, m.uid))
    return _calendar([event(tl.company, m) for m in mine], tl.company.timezone)


def last_change(tl: Timeline, person: str) -> float:
    """Return when ``person``'s calendar last changed, as a POSIX timestamp."""
    moments = [tl.clock.start.timestamp()]
    for meeting in tl.meetings:
        for attendance in meeting.attendees:
            if person in (attendance.party, meeting.organizer):
                moments.append(meeting.created.timestamp())
                if attendance.answered_at is not None:
                    moments.append(attendance.answered_at.timestamp())
    return min(max(moments), tl.clock.end.timestamp())
