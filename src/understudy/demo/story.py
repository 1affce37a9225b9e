"""The story's records: mail, meetings, chat posts, tasks and planted facts.

Generators append to one ``Timeline``; writers turn it into files. Every
record carries its story time, and nothing in the past lies after
``Timeline.clock.end`` (08:00 on ``today``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from understudy.demo.clock import Clock
from understudy.demo.company import Company
from understudy.demo.figures import Figures
from understudy.demo.habits import Habits
from understudy.demo.manifest import PlantedFact

__all__ = [
    "Attendance",
    "ChatPost",
    "Mail",
    "MailPart",
    "Meeting",
    "PlantedFact",
    "Task",
    "TaskChange",
    "Timeline",
]


@dataclass(frozen=True, slots=True)
class MailPart:
    """An attachment: its file name, MIME type and bytes."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Mail:
    """One message: who wrote it to whom, when, and what it says."""

    id: str
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    body: str
    at: datetime
    category: str
    project: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    html: str | None = None
    attachments: tuple[MailPart, ...] = ()
    calendar: bytes | None = None
    method: str | None = None

    @property
    def recipients(self) -> tuple[str, ...]:
        """Return everyone on To and Cc."""
        return self.to + self.cc


@dataclass(frozen=True, slots=True)
class Attendance:
    """One attendee of a meeting and how they answered."""

    party: str
    partstat: str
    answered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Meeting:
    """A calendar event, one-off or recurring, with its attendees' answers."""

    uid: str
    summary: str
    organizer: str
    attendees: tuple[Attendance, ...]
    start: datetime
    minutes: int
    created: datetime
    description: str = ""
    location: str = ""
    rrule: dict[str, Any] | None = None
    exdates: tuple[datetime, ...] = ()
    project: str | None = None
    invite_id: str | None = None

    def partstat(self, party: str) -> str:
        """Return how ``party`` answered (the organizer has always accepted)."""
        for attendance in self.attendees:
            if attendance.party == party:
                return attendance.partstat
        return "ACCEPTED"


@dataclass(frozen=True, slots=True)
class ChatPost:
    """One chat message in a channel, possibly a reply in a thread."""

    channel: str
    author: str
    at: datetime
    text: str
    thread_of: datetime | None = None
    edited_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TaskChange:
    """One line of a task's change history."""

    at: datetime
    who: str
    field: str
    before: str
    after: str


@dataclass(slots=True)
class Task:
    """A tracker issue and its history."""

    key: str
    summary: str
    kind: str
    status: str
    priority: str
    assignee: str
    reporter: str
    created: datetime
    updated: datetime
    due: date | None
    resolution: str
    project: str
    labels: tuple[str, ...]
    description: str
    comments: list[tuple[datetime, str, str]] = field(default_factory=list)
    changes: list[TaskChange] = field(default_factory=list)


@dataclass(slots=True)
class Timeline:
    """Everything that happened, as generators build it up."""

    company: Company
    habits: dict[str, Habits]
    clock: Clock
    seed: int
    figures: Figures
    mails: list[Mail] = field(default_factory=list)
    flags: dict[tuple[str, str], str] = field(default_factory=dict)
    meetings: list[Meeting] = field(default_factory=list)
    chat: list[ChatPost] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    planted: list[PlantedFact] = field(default_factory=list)
    exceptions: list[dict[str, str]] = field(default_factory=list)
    silenced: set[str] = field(default_factory=set)
    _ids: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._ids = random.Random(f"{self.seed}:message-ids")

    def rng(self, purpose: str) -> random.Random:
        """Return a random stream of its own for ``purpose``, fixed by the seed."""
        return random.Random(f"{self.seed}:{purpose}")

    def message_id(self, at: datetime, sender: str) -> str:
        """Return a new, deterministic Message-ID for a message sent by ``sender``."""
        domain = self.company.address(sender)[1].split("@", 1)[1]
        token = f"{self._ids.getrandbits(48):012x}"
        return f"<{at:%Y%m%d%H%M%S}.{len(self.mails):05d}.{token}@{domain}>"

    def add(self, mail: Mail) -> Mail:
        """Record ``mail`` and return it."""
        self.mails.append(mail)
        return mail

    def mark(self, person: str, mail_id: str, flag: str) -> None:
        """Note that ``person`` replied to (R) or passed on (P) a message."""
        current = self.flags.get((person, mail_id), "")
        if flag not in current:
            self.flags[(person, mail_id)] = "".join(sorted(current + flag))

    def tasks_of(self, project: str) -> list[Task]:
        """Return the tasks of one project."""
        return [t for t in self.tasks if t.project == project]
