"""A person's daily patterns: when they work, how fast they answer whom, which meetings."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo

from understudy.records import Decision, Item
from understudy.twin.dataset import LATENCY_BUCKETS, latency_bucket
from understudy.twin.mailbox import Mailbox

__all__ = ["DailyPatterns", "build_patterns"]

MEETING_ACTIONS = ("accept", "decline", "tentative")


@dataclass(slots=True)
class DailyPatterns:
    """When the person is active, how fast they answer, and how they treat meetings."""

    person: str
    activity: list[list[int]] = field(default_factory=lambda: [[0] * 24 for _ in range(7)])
    active_hours: tuple[int, int] | None = None
    response: dict[str, dict[str, float]] = field(default_factory=dict)
    meetings: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """Return the patterns as plain data."""
        return {
            "person": self.person,
            "active_hours": list(self.active_hours) if self.active_hours else None,
            "activity": self.activity,
            "response_time_by_sender_class": self.response,
            "meeting_acceptance": self.meetings,
        }


def _active_hours(activity: list[list[int]]) -> tuple[int, int] | None:
    by_hour = [sum(day[h] for day in activity[:5]) for h in range(24)]
    total = sum(by_hour)
    if total == 0:
        return None
    cumulative = 0
    start = end = 0
    for hour, count in enumerate(by_hour):
        cumulative += count
        if cumulative <= 0.05 * total:
            start = hour + 1
        if cumulative < 0.95 * total:
            end = hour + 1
    return start, min(23, end)


def _responses(mailbox: Mailbox, sender_class: Callable[[str], str]) -> dict[str, dict[str, float]]:
    latencies: dict[str, list[float]] = defaultdict(list)
    for message in mailbox.received:
        if message.outcome.latency is not None:
            latencies[sender_class(message.sender)].append(message.outcome.latency)
    table: dict[str, dict[str, float]] = {}
    for group, values in latencies.items():
        buckets = Counter(latency_bucket(v) for v in values)
        table[group] = {
            "replies": float(len(values)),
            "median_minutes": round(statistics.median(values) / 60, 1),
            **{b: round(buckets[b] / len(values), 3) for b in LATENCY_BUCKETS},
        }
    return table


def _meetings(
    decisions: Sequence[Decision], events: dict[int, Item], zone: tzinfo
) -> dict[str, dict[str, dict[str, int]]]:
    views: dict[str, dict[str, Counter[str]]] = {"organizer": {}, "time": {}, "size": {}}
    for decision in decisions:
        event = events.get(decision.item_id)
        if event is None or decision.action not in MEETING_ACTIONS:
            continue
        hour = event.timestamp.astimezone(zone).hour
        size = len(event.recipients)
        keys = {
            "organizer": event.author or "unknown",
            "time": "before 10:00" if hour < 10 else "after 16:00" if hour >= 16 else "10:00–16:00",
            "size": "1:1" if size <= 2 else "small (3–6)" if size <= 6 else "large (7+)",
        }
        for view, key in keys.items():
            views[view].setdefault(key, Counter())[decision.action] += 1
    return {view: {k: dict(c) for k, c in table.items()} for view, table in views.items()}


def build_patterns(
    mailbox: Mailbox,
    sender_class: Callable[[str], str],
    decisions: Sequence[Decision],
    events: dict[int, Item],
    zone: tzinfo,
) -> DailyPatterns:
    """Return the person's patterns from their mail, their meeting answers and the events."""
    patterns = DailyPatterns(person=mailbox.person)
    for message in mailbox.sent:
        local = message.at.astimezone(zone)
        patterns.activity[local.weekday()][local.hour] += 1
    patterns.active_hours = _active_hours(patterns.activity)
    patterns.response = _responses(mailbox, sender_class)
    patterns.meetings = _meetings(decisions, events, zone)
    return patterns
