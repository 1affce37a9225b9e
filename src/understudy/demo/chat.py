"""Team chat: channel conversations during working hours, exported the way Slack does.

The export holds ``users.json``, ``channels.json`` (public), ``groups.json``
(private) and one JSON list of messages per channel per day; threads carry
``thread_ts``, ``reply_count`` and ``replies``; mentions are ``<@U…>``.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from understudy.demo.planted import atlas_dates
from understudy.demo.story import ChatPost, Timeline

__all__ = ["Channel", "build_chat", "channels", "slack_export", "user_ids"]


@dataclass(frozen=True, slots=True)
class Channel:
    """A chat channel, its members and whether it is private."""

    id: str
    name: str
    purpose: str
    members: tuple[str, ...]
    private: bool = False


_LINES: dict[str, tuple[str, ...]] = {
    "general": (
        "Reminder: all-hands is on the first Thursday of the month at 4pm.",
        "Welcome to everyone who started this week! Say hi in #random.",
        "The Q{quarter} goals doc is up — comments welcome until Friday.",
        "Office wifi will be down for maintenance tonight from 10pm.",
        "Big thanks to {mention} for covering the customer escalation yesterday.",
        "Expense reports for last month are due by the 5th.",
        "Benefits enrollment closes at the end of the month — check your inbox for the link.",
        "Fire drill on Wednesday at 11am. It takes ten minutes, promise.",
        "New laptops for the sales team arrived; {mention} is handing them out.",
        "Please update your emergency contact details in the HR portal.",
    ),
    "random": (
        "Anyone up for lunch at the Thai place at 12:30?",
        "The coffee machine on 3 is fixed. Celebrate responsibly.",
        "Photos from the team hike are in the shared drive.",
        "Podcast recommendation thread, go.",
        "Who left the excellent banana bread in the kitchen?",
        "Is it just me or is the elevator extra slow today?",
        "Book club picks for next month: vote with emoji.",
        "{mention} your plant on the third floor is thriving.",
        "Friday trivia is back — teams of four, sign up here.",
        "Lost: one blue umbrella. Found: three black ones.",
    ),
    "project": (
        "{ticket} is ready for review — {mention} can you take a look?",
        "Deployed the latest {project} build to staging.",
        "{metric} looks better after yesterday's change.",
        "Standup notes: {ticket} in progress, nothing blocked on my side.",
        "Does anyone know who owns {ticket}? It has been idle for a week.",
        "Heads-up: I will be out tomorrow afternoon; {mention} has my {project} items.",
        "Customer feedback on {project} is in the tracker under {ticket}.",
        "Pushed a fix for the flaky test in {ticket}.",
        "Can we timebox the {project} sync to 20 minutes this week?",
        "Draft for {ticket} is in the doc — comments welcome before Thursday.",
        "{mention} do you have ten minutes to pair on {ticket}?",
        "Closing {ticket}; follow-ups are in new tickets.",
        "Reminder: {project} demo prep tomorrow, bring screenshots.",
    ),
    "exec-team": (
        "Reminder to send your exec staff updates by tonight.",
        "Board deck draft is in the exec folder — please review your slides.",
        "Can we move exec staff by 30 minutes next week? I have a customer call.",
        "Hiring update: two offers out, one accepted.",
        "Cash position is fine; I will walk through it at exec staff.",
        "Pipeline review moved to Thursday — {mention} please bring the Beacon numbers.",
        "Offsite venue is booked; agenda draft coming next week.",
        "Heads-up: a customer escalation may reach you directly; it is handled.",
    ),
    "hr-private": (
        "Calibration session is booked; I will send the pre-read tomorrow.",
        "Benefits renewal quote came in 6% higher than last year.",
        "Two exit interviews this month — notes are in the HR folder.",
        "Offer letter template is updated with the new bands.",
        "Comp review letters go out after calibration, not before.",
        "Background check for the new SRE hire cleared.",
        "Reminder: manager training on structured interviews next Tuesday.",
    ),
}
_REPLIES = (
    "On it.",
    "Thanks!",
    "+1",
    "Can you share the link?",
    "I can take a look after lunch.",
    "Agreed.",
    "Let us discuss at standup.",
    "Done — see the ticket.",
    "Nice work.",
    "Looking now.",
)


def user_ids(tl: Timeline) -> dict[str, str]:
    """Return the chat user id (``U01…``) of every employee."""
    rng = tl.rng("chat:ids")
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    return {
        p.id: "U01" + "".join(rng.choice(alphabet) for _ in range(8)) for p in tl.company.people
    }


def channels(tl: Timeline) -> list[Channel]:
    """Return the public and private channels and their members."""
    company = tl.company
    everyone = tuple(p.id for p in company.people)
    listing = [
        Channel("C01GENERAL0", "general", "Company-wide announcements", everyone),
        Channel("C01RANDOM00", "random", "Everything else", everyone),
    ]
    for n, project in enumerate(company.projects):
        listing.append(Channel(f"C01PRJ{n:05d}", project.id, project.title, project.members))
    execs = tuple(p.id for p in company.people if p.level <= 1)
    listing.append(Channel("G01EXECTEAM", "exec-team", "Executive team", execs, private=True))
    listing.append(
        Channel("G01HRPRIVAT", "hr-private", "HR only", company.in_group("hr"), private=True)
    )
    return listing


def _text(
    tl: Timeline,
    rng: random.Random,
    channel: Channel,
    ids: dict[str, str],
    author: str,
    at: datetime,
) -> str:
    bank = _LINES.get(channel.name) or _LINES["project"]
    others = [m for m in channel.members if m != author] or [author]
    project = (
        tl.company.project(channel.name)
        if channel.name in {p.id for p in tl.company.projects}
        else None
    )
    tasks = tl.tasks_of(project.id) if project else []
    return rng.choice(bank).format(
        mention=f"<@{ids[rng.choice(others)]}>",
        ticket=rng.choice(tasks).key if tasks else "the ticket",
        project=project.name if project else "the project",
        metric=rng.choice(("p95 latency", "error rate", "build time", "test coverage")),
        quarter=(at.month - 1) // 3 + 1,
    )


def _thread(tl: Timeline, rng: random.Random, channel: Channel, parent: ChatPost) -> None:
    moment = parent.at
    for _ in range(rng.choice((1, 1, 2, 3))):
        author = rng.choice([m for m in channel.members if m != parent.author] or [parent.author])
        habits = tl.habits[author]
        moment = moment + timedelta(minutes=rng.randrange(3, 90))
        if moment >= tl.clock.end or not habits.start_hour <= moment.hour < habits.end_hour:
            return
        tl.chat.append(
            ChatPost(channel.name, author, moment, rng.choice(_REPLIES), thread_of=parent.at)
        )


def _day(
    tl: Timeline, rng: random.Random, listing: list[Channel], ids: dict[str, str], day: Any
) -> None:
    for person in tl.company.people:
        habits = tl.habits[person.id]
        mine = [c for c in listing if person.id in c.members]
        weights = [
            3.0 if c.name in {p.id for p in tl.company.projects} or c.private else 1.0 for c in mine
        ]
        count = int(habits.chat_per_day) + (rng.random() < habits.chat_per_day % 1)
        for _ in range(count):
            channel = rng.choices(mine, weights=weights)[0]
            at = tl.clock.moment_in(rng, day, habits.start_hour, habits.end_hour)
            if at >= tl.clock.end:
                continue
            edited = at + timedelta(minutes=rng.randrange(1, 9)) if rng.random() < 0.04 else None
            post = ChatPost(
                channel.name,
                person.id,
                at,
                _text(tl, rng, channel, ids, person.id, at),
                edited_at=edited,
            )
            tl.chat.append(post)
            if rng.random() < 0.3:
                _thread(tl, rng, channel, post)


def _atlas_slip(tl: Timeline) -> None:
    original, revised = atlas_dates(tl.clock.today)
    script = (
        (
            19,
            "jonas-weber",
            10,
            "Backfill timed out again on the three biggest tenants. Migration is behind.",
        ),
        (
            15,
            "aisha-khan",
            14,
            "Load test result: we fall over at 2.1x launch traffic, target is 3x.",
        ),
        (
            12,
            "daniel-reyes",
            9,
            f"Flagging to Maya today: the {original:%B} {original.day} launch is at risk.",
        ),
        (8, "lena-park", 11, "Failover drill postponed again — the new region is not ready."),
        (
            5,
            "daniel-reyes",
            15,
            f"Decision: Atlas launch slips three weeks, to {revised:%B} {revised.day}. "
            "Launch review with Maya to confirm.",
        ),
        (2, "chloe-dubois", 13, "Drafting the note to beta customers about the new launch date."),
    )
    for days_back, author, hour, text in script:
        day = tl.clock.today - timedelta(days=days_back)
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        tl.chat.append(ChatPost("atlas", author, tl.clock.at(day, hour, 17), text))


def build_chat(tl: Timeline) -> None:
    """Fill ``tl.chat`` with ten weeks of channel traffic and the Atlas slip discussion."""
    rng = tl.rng("chat")
    listing = channels(tl)
    ids = user_ids(tl)
    for day in tl.clock.workdays():
        _day(tl, rng, listing, ids, day)
    _atlas_slip(tl)
    tl.chat.sort(key=lambda p: (p.at, p.channel, p.author))


def _ts(at: datetime, serial: int) -> str:
    return f"{int(at.timestamp())}.{serial % 1000000:06d}"


def _messages(tl: Timeline, ids: dict[str, str]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    parents: dict[tuple[str, datetime], dict[str, Any]] = {}
    days: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for serial, post in enumerate(tl.chat):
        ts = _ts(post.at, serial)
        message: dict[str, Any] = {
            "type": "message",
            "user": ids[post.author],
            "text": post.text,
            "ts": ts,
        }
        if post.edited_at is not None:
            message["edited"] = {"user": ids[post.author], "ts": _ts(post.edited_at, 0)}
        if post.thread_of is not None and (post.channel, post.thread_of) in parents:
            parent = parents[(post.channel, post.thread_of)]
            message["thread_ts"] = parent["ts"]
            message["parent_user_id"] = parent["user"]
            parent.setdefault("replies", []).append({"user": message["user"], "ts": ts})
            parent["reply_count"] = len(parent["replies"])
            parent["reply_users"] = sorted({r["user"] for r in parent["replies"]})
            parent["reply_users_count"] = len(parent["reply_users"])
            parent["latest_reply"] = ts
            parent["thread_ts"] = parent["ts"]
        else:
            parents.setdefault((post.channel, post.at), message)
        days.setdefault(post.channel, {}).setdefault(post.at.date().isoformat(), []).append(message)
    return days


def _users(tl: Timeline, ids: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "id": ids[p.id],
            "team_id": "T01HALCYON",
            "name": p.handle,
            "real_name": p.name,
            "tz": tl.company.timezone,
            "deleted": False,
            "is_bot": False,
            "profile": {
                "real_name": p.name,
                "display_name": p.first,
                "title": p.title,
                "email": p.email,
            },
        }
        for p in tl.company.people
    ]


def _channel_record(tl: Timeline, channel: Channel, ids: dict[str, str]) -> dict[str, Any]:
    created = int(tl.clock.start.timestamp()) - 86400 * 200
    creator = ids[tl.company.ceo.id]
    return {
        "id": channel.id,
        "name": channel.name,
        "created": created,
        "creator": creator,
        "is_archived": False,
        "is_general": channel.name == "general",
        "members": [ids[m] for m in channel.members],
        "topic": {"value": "", "creator": "", "last_set": 0},
        "purpose": {"value": channel.purpose, "creator": creator, "last_set": created},
    }


def _dump(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def slack_export(tl: Timeline) -> dict[str, tuple[bytes, float]]:
    """Return the export's files (path inside the export -> bytes and mtime)."""
    ids = user_ids(tl)
    listing = channels(tl)
    end = tl.clock.end.timestamp()
    files: dict[str, tuple[bytes, float]] = {
        "users.json": (_dump(_users(tl, ids)), end),
        "channels.json": (
            _dump([_channel_record(tl, c, ids) for c in listing if not c.private]),
            end,
        ),
        "groups.json": (_dump([_channel_record(tl, c, ids) for c in listing if c.private]), end),
    }
    for name, days in sorted(_messages(tl, ids).items()):
        for day, messages in sorted(days.items()):
            latest = max(float(m.get("latest_reply", m["ts"])) for m in messages)
            files[f"{name}/{day}.json"] = (_dump(messages), min(latest, end))
    return files
