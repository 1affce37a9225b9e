"""Features of an incoming message, computed only from what was known before it.

``History`` replays a mailbox in time order. For each received message it
returns features from the state *before* the message, then records the
message. An outcome (replied or not) becomes known only when it happened:
a reply at its time, a non-reply once the 7-day window has passed. So a
feature never peeks at the future, in training, evaluation or production.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from understudy.sources.decisions import REPLY_WINDOW
from understudy.twin.mailbox import Message

__all__ = ["FEATURE_NAMES", "History"]

_AUTOMATED = re.compile(
    r"(no-?reply|do-?not-?reply|newsletter|notification|alert|mailer|daemon|bounce|"
    r"announce|digest|news@|info@|marketing|subscription|listserv|owner-|admin@|system)",
    re.IGNORECASE,
)
_REQUEST = re.compile(
    r"\b(please|can you|could you|would you|let me know|need (?:you|your)|your thoughts|"
    r"what do you think|any (?:thoughts|comments|questions)|call me|get back to me|advise)\b",
    re.IGNORECASE,
)
_URGENT = re.compile(r"\b(urgent|asap|immediately|today|tomorrow|deadline|eod|by \w+day)\b", re.I)
_BULK = re.compile(r"(unsubscribe|mailing list|to be removed|view this email|privacy policy)", re.I)

FEATURE_NAMES: tuple[str, ...] = (
    "from_sender_log",
    "sender_reply_rate",
    "sender_resolved_log",
    "sent_to_sender_log",
    "sent_to_sender_recent",
    "days_since_sent_to_sender_log",
    "days_since_from_sender_log",
    "sender_latency_log",
    "sender_internal",
    "sender_automated",
    "direct",
    "cc_only",
    "sole_recipient",
    "recipients_log",
    "reply_subject",
    "forward_subject",
    "thread_participated",
    "thread_last_from_owner",
    "answers_owner",
    "thread_length_log",
    "topic_sent_recently",
    "question",
    "request",
    "urgent",
    "bulk",
    "text_length_log",
    "attachments",
    "hour_sin",
    "hour_cos",
    "weekend",
    "global_reply_rate",
    "owner_sent_week_log",
    "owner_recent_reply_rate",
    "domain_reply_rate",
    "sender_bulk_share",
    "new_sender",
    "owner_active_3h",
    "sender_recent_reply_rate",
    "thread_recent_log",
    "thread_senders_log",
    "thread_gap_log",
    "topic_sent_to_sender",
    "topic_from_sender_log",
    "empty_subject",
)


@dataclass(slots=True)
class _Sender:
    received: int = 0
    resolved: int = 0
    replied: int = 0
    latency_log_sum: float = 0.0
    last_received: datetime | None = None
    sent_to: int = 0
    sent_recent: list[datetime] = field(default_factory=list)
    last_sent_to: datetime | None = None
    bulk: int = 0
    decayed_replied: float = 0.0
    decayed_resolved: float = 0.0


def _pair() -> list[int]:
    return [0, 0]


def _days_log(now: datetime, then: datetime | None) -> float:
    if then is None:
        return math.log1p(3650.0)
    return math.log1p(max(0.0, (now - then).total_seconds() / 86400))


def thread_key(message: Message) -> str:
    """Return the conversation a message belongs to, from the message alone.

    The connectors' thread ids are rebuilt over the whole mailbox, so a later
    message can merge two threads; features use the normalized subject
    instead, which a message carries itself.
    """
    return f"topic:{message.topic}" if message.topic else message.thread


class History:
    """What the twin knows about a person's mail at a moment in time."""

    def __init__(self, addresses: frozenset[str]) -> None:
        self.addresses = addresses
        self.domains = frozenset(a.rsplit("@", 1)[-1] for a in addresses if "@" in a)
        self.senders: dict[str, _Sender] = defaultdict(_Sender)
        self.pending: list[tuple[datetime, int, str, bool, float]] = []
        self.thread_owner: set[str] = set()
        self.thread_last_owner: dict[str, bool] = {}
        self.thread_length: dict[str, int] = defaultdict(int)
        self.thread_times: dict[str, list[datetime]] = defaultdict(list)
        self.thread_senders: dict[str, set[str]] = defaultdict(set)
        self.owner_message_ids: set[str] = set()
        self.topic_sent: dict[str, datetime] = {}
        self.topic_pairs: dict[tuple[str, str], datetime] = {}
        self.topic_received: dict[tuple[str, str], int] = defaultdict(int)
        self.resolved = 0
        self.replied = 0
        self._counter = 0
        self.owner_sent_times: list[datetime] = []
        self.recent_outcomes: list[tuple[datetime, bool]] = []
        self.domains_seen: dict[str, list[int]] = defaultdict(_pair)

    def advance(self, now: datetime) -> None:
        """Make known every outcome that had happened by ``now``."""
        while self.pending and self.pending[0][0] <= now:
            known, _, sender, replied, latency = heapq.heappop(self.pending)
            stats = self.senders[sender]
            stats.resolved += 1
            self.resolved += 1
            # Older outcomes count for less: habits with a sender drift.
            stats.decayed_replied = 0.8 * stats.decayed_replied + float(replied)
            stats.decayed_resolved = 0.8 * stats.decayed_resolved + 1.0
            self.recent_outcomes.append((known, replied))
            domain = self.domains_seen[sender.rsplit("@", 1)[-1]]
            domain[0] += 1
            domain[1] += int(replied)
            if replied:
                stats.replied += 1
                self.replied += 1
                stats.latency_log_sum += math.log1p(max(latency, 0.0) / 60)

    def observe(self, message: Message) -> None:
        """Record a message (after its features were taken)."""
        self.thread_length[thread_key(message)] += 1
        self.thread_times[thread_key(message)].append(message.at)
        self.thread_senders[thread_key(message)].add(message.sender)
        if message.sent:
            self._observe_sent(message)
            return
        self.thread_last_owner[thread_key(message)] = False
        if message.topic:
            self.topic_received[(message.topic, message.sender)] += 1
        stats = self.senders[message.sender]
        stats.received += 1
        stats.bulk += int(len(set(message.to) | set(message.cc)) > 5)
        stats.last_received = message.at
        outcome = message.outcome
        replied = outcome.replied_at is not None
        known = outcome.replied_at if replied else message.at + REPLY_WINDOW
        self._counter += 1
        heapq.heappush(
            self.pending,
            (known or message.at, self._counter, message.sender, replied, outcome.latency or 0.0),
        )

    def _observe_sent(self, message: Message) -> None:
        self.owner_sent_times.append(message.at)
        self.thread_owner.add(thread_key(message))
        self.thread_last_owner[thread_key(message)] = True
        if message.message_id:
            self.owner_message_ids.add(message.message_id)
        if message.topic:
            self.topic_sent[message.topic] = message.at
            for address in {*message.to, *message.cc}:
                self.topic_pairs[(message.topic, address)] = message.at
        for address in {*message.to, *message.cc}:
            stats = self.senders[address]
            stats.sent_to += 1
            stats.last_sent_to = message.at
            stats.sent_recent.append(message.at)

    def features(self, message: Message) -> list[float]:
        """Return the features of a received message from what is known before it."""
        self.advance(message.at)
        values = self._sender_features(message) + self._address_features(message)
        values += self._thread_features(message) + self._content_features(message)
        values.append((self.replied + 1) / (self.resolved + 20))
        values += self._activity_features(message)
        values += self._heat(message)
        pair = (message.topic, message.sender)
        sent = self.topic_pairs.get(pair) if message.topic else None
        values.append(float(sent is not None and message.at - sent <= timedelta(days=14)))
        values.append(math.log1p(self.topic_received.get(pair, 0)) if message.topic else 0.0)
        values.append(float(not message.topic))
        return values

    def _activity_features(self, message: Message) -> list[float]:
        week = message.at - timedelta(days=7)
        while self.owner_sent_times and self.owner_sent_times[0] < week:
            self.owner_sent_times.pop(0)
        hours = message.at - timedelta(hours=3)
        active = sum(1 for t in self.owner_sent_times if t >= hours)
        month = message.at - timedelta(days=30)
        while self.recent_outcomes and self.recent_outcomes[0][0] < month:
            self.recent_outcomes.pop(0)
        prior = (self.replied + 1) / (self.resolved + 20)
        recent = sum(r for _, r in self.recent_outcomes)
        domain = self.domains_seen.get(message.sender.rsplit("@", 1)[-1], [0, 0])
        stats = self.senders.get(message.sender) or _Sender()
        return [
            math.log1p(len(self.owner_sent_times)),
            (recent + 5 * prior) / (len(self.recent_outcomes) + 5),
            (domain[1] + 5 * prior) / (domain[0] + 5),
            (stats.bulk + 0.5) / (stats.received + 1),
            float(stats.received == 0 and stats.sent_to == 0),
            math.log1p(active),
            (stats.decayed_replied + 2 * prior) / (stats.decayed_resolved + 2),
        ]

    def _sender_features(self, message: Message) -> list[float]:
        stats = self.senders.get(message.sender) or _Sender()
        prior = (self.replied + 1) / (self.resolved + 20)
        rate = (stats.replied + 2 * prior) / (stats.resolved + 2)
        recent = [t for t in stats.sent_recent if message.at - t <= timedelta(days=30)]
        stats.sent_recent[:] = recent
        latency = stats.latency_log_sum / stats.replied if stats.replied else math.log1p(240)
        domain = message.sender.rsplit("@", 1)[-1]
        return [
            math.log1p(stats.received),
            rate,
            math.log1p(stats.resolved),
            math.log1p(stats.sent_to),
            math.log1p(len(recent)),
            _days_log(message.at, stats.last_sent_to),
            _days_log(message.at, stats.last_received),
            latency,
            float(domain in self.domains),
            float(bool(_AUTOMATED.search(message.sender))),
        ]

    def _address_features(self, message: Message) -> list[float]:
        direct = any(a in self.addresses for a in message.to)
        cc = any(a in self.addresses for a in message.cc)
        recipients = len(set(message.to) | set(message.cc))
        return [
            float(direct),
            float(cc and not direct),
            float(direct and recipients == 1),
            math.log1p(recipients),
        ]

    def _thread_features(self, message: Message) -> list[float]:
        subject = message.subject.strip().lower()
        sent_topic = self.topic_sent.get(message.topic) if message.topic else None
        recent_topic = sent_topic is not None and message.at - sent_topic <= timedelta(days=14)
        return [
            float(subject.startswith("re:")),
            float(subject.startswith(("fw:", "fwd:"))),
            float(thread_key(message) in self.thread_owner),
            float(self.thread_last_owner.get(thread_key(message), False)),
            float(any(ref in self.owner_message_ids for ref in message.replies_to)),
            math.log1p(self.thread_length.get(thread_key(message), 0)),
            float(recent_topic),
        ]

    def _heat(self, message: Message) -> list[float]:
        times = self.thread_times.get(thread_key(message), [])
        recent = sum(1 for t in times if message.at - t <= timedelta(hours=48))
        gap = (message.at - times[-1]).total_seconds() / 3600 if times else 24 * 365
        senders = self.thread_senders.get(thread_key(message), set())
        return [math.log1p(recent), math.log1p(len(senders)), math.log1p(max(gap, 0.0))]

    def _content_features(self, message: Message) -> list[float]:
        text = f"{message.subject}\n{message.text}"
        hour = message.at.hour + message.at.minute / 60
        return [
            float("?" in text),
            float(bool(_REQUEST.search(text))),
            float(bool(_URGENT.search(text))),
            float(bool(_BULK.search(message.text))),
            math.log1p(len(message.text)),
            float(message.attachments > 0),
            math.sin(2 * math.pi * hour / 24),
            math.cos(2 * math.pi * hour / 24),
            float(message.at.weekday() >= 5),
        ]
