"""The owner's first view of the day: what waits on them, today's meetings, project changes.

Everything is read as the owner, so the view can only show what they may
read. Until the twin has learned the person, "what matters" is ranked by
cues any assistant would use: how often the owner answers this sender, urgency
and deadline words, direct address and questions.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from understudy.brain.pulse import Pulse, project_pulse
from understudy.records import Item, Principal
from understudy.store import ItemFilter, Store

__all__ = [
    "Meeting",
    "Overview",
    "Waiting",
    "build_overview",
]

_URGENT = re.compile(
    r"\b(urgent|asap|immediately|today|tonight|tomorrow|deadline|by (?:monday|tuesday|wednesday|"
    r"thursday|friday|eod|end of day)|decision needed|need your (?:decision|approval|sign-?off)|"
    r"approve|go/no-go|board)\b",
    re.IGNORECASE,
)
_AUTOMATED = re.compile(
    r"(no-?reply|do-?not-?reply|newsletter|notifications?@|alerts?@|receipts?@|billing@|"
    r"mailer-daemon|digest|unsubscribe)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Waiting:
    """A message that waits on the owner, with why it matters."""

    item: Item
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Meeting:
    """One meeting today, and whether the owner said they will come."""

    item: Item
    start: datetime
    response: str


@dataclass(slots=True)
class Overview:
    """The owner's day at a glance."""

    person: str
    now: datetime
    waiting: list[Waiting]
    meetings: list[Meeting]
    projects: list[Pulse]


def _reply_rates(store: Store, person: str, received: list[Item]) -> dict[str, float]:
    replied_items = {d.item_id for d in store.list_decisions(person=person, actions=("reply",))}
    totals: Counter[str] = Counter()
    replies: Counter[str] = Counter()
    for item in received:
        if item.author:
            totals[item.author] += 1
            replies[item.author] += item.id in replied_items
    # Laplace smoothing keeps a first message from a stranger near the middle.
    return {who: (replies[who] + 1) / (totals[who] + 2) for who in totals}


def _is_automated(item: Item) -> bool:
    sender = str(item.metadata.get("from") or item.author or "")
    return bool(_AUTOMATED.search(sender) or _AUTOMATED.search(item.body[-600:]))


def _is_calendar_reply(item: Item) -> bool:
    return str(item.metadata.get("calendar_method", "")).upper() == "REPLY"


def _unique_messages(items: list[Item]) -> list[Item]:
    """Return one item per message: each participant's mailbox holds its own copy."""
    seen: set[str] = set()
    unique: list[Item] = []
    for item in items:
        key = str(item.metadata.get("message_id") or f"{item.source_id}/{item.external_id}")
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def _waiting(store: Store, person: str, now: datetime, days: int = 7) -> list[Waiting]:
    me = Principal.person(person)
    history = store.list_items(
        me, ItemFilter(kinds=("email",), person=person, since=now - timedelta(days=90), until=now)
    )
    received = [i for i in history if i.author != person and person in i.recipients]
    rates = _reply_rates(store, person, received)
    answered = {i.thread_id for i in history if i.author == person and i.thread_id}
    recent = _unique_messages([i for i in received if i.timestamp >= now - timedelta(days=days)])
    waiting: list[Waiting] = []
    for item in recent:
        if item.thread_id in answered and _answered_after(history, item, person):
            continue
        if _is_automated(item) or _is_calendar_reply(item):
            continue
        waiting.append(_score(item, person, rates.get(item.author or "", 0.5), now))
    waiting.sort(key=lambda w: (-w.score, -w.item.timestamp.timestamp()))
    return waiting


def _answered_after(history: list[Item], item: Item, person: str) -> bool:
    return any(
        other.thread_id == item.thread_id
        and other.author == person
        and other.timestamp > item.timestamp
        for other in history
    )


def _score(item: Item, person: str, reply_rate: float, now: datetime) -> Waiting:
    reasons: list[str] = []
    text = f"{item.title}\n{item.body[:2000]}"
    urgent = bool(_URGENT.search(text))
    direct = person in item.recipients[: max(1, len(item.metadata.get("to", []) or [1]))]
    question = "?" in text[:1500]
    age_days = max(0.0, (now - item.timestamp).total_seconds() / 86400)
    if reply_rate >= 0.6:
        reasons.append(f"you usually answer this sender ({reply_rate:.0%})")
    if urgent:
        reasons.append("urgent or asks for a decision")
    if question:
        reasons.append("asks a question")
    score = 0.45 * reply_rate + 0.3 * urgent + 0.1 * direct + 0.1 * question
    score += 0.05 * max(0.0, 1 - age_days / 7)
    return Waiting(item=item, score=round(score, 3), reasons=tuple(reasons))


def _meetings(store: Store, person: str, day_start: datetime) -> list[Meeting]:
    me = Principal.person(person)
    owner = store.get_person(person)
    emails = {e.lower() for e in (owner.emails if owner else ())}
    events = store.list_items(
        me,
        ItemFilter(kinds=("event",), since=day_start, until=day_start + timedelta(days=1)),
        newest_first=False,
    )
    meetings: dict[str, Meeting] = {}
    for event in events:
        if person not in event.recipients and event.author != person:
            continue
        response = "organizer" if event.author == person else "no answer"
        for attendee in event.metadata.get("attendees", []) or []:
            if str(attendee.get("email", "")).lower() in emails:
                response = str(attendee.get("partstat") or response).lower()
        key = f"{event.metadata.get('uid', event.external_id)}@{event.timestamp.isoformat()}"
        meetings.setdefault(key, Meeting(item=event, start=event.timestamp, response=response))
    return sorted(meetings.values(), key=lambda m: m.start)


def _project_changes(store: Store, person: str, now: datetime, days: int) -> list[Pulse]:
    me = Principal.person(person)
    since = now - timedelta(days=days)
    pulses = [project_pulse(store, me, p.id, since, now) for p in store.list_projects()]
    return [pulse for pulse in pulses if not pulse.quiet]


def build_overview(
    store: Store, person: str, now: datetime, zone: tzinfo, days: int = 7
) -> Overview:
    """Return the owner's overview at ``now``: waiting messages, today's meetings, projects."""
    local = now.astimezone(zone)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    with store.reading_as(Principal.person(person)):
        return Overview(
            person=person,
            now=now,
            waiting=_waiting(store, person, now, days),
            meetings=_meetings(store, person, day_start),
            projects=_project_changes(store, person, now, days),
        )
