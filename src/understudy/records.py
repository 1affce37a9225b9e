"""The core records of DESIGN.md: who, what was read, what was decided, what was done.

Records are plain frozen dataclasses. Every time is timezone-aware UTC. A
principal that may read an item is written ``person:<id>``, ``group:<id>`` or
``project:<id>`` (the members of a project and of the groups that may read it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = [
    "ACTION_STATES",
    "DECISION_ACTIONS",
    "EVERYONE",
    "ITEM_KINDS",
    "Action",
    "Attachment",
    "AuditEvent",
    "Chunk",
    "Decision",
    "Group",
    "Item",
    "Person",
    "Prediction",
    "Principal",
    "Project",
    "Source",
    "group_reader",
    "person_reader",
    "project_reader",
    "utc",
]

ITEM_KINDS = ("email", "event", "message", "document", "task", "row")
DECISION_ACTIONS = (
    "reply",
    "ignore",
    "forward",
    "delegate",
    "file",
    "delete",
    "accept",
    "decline",
    "tentative",
    "approve",
    "reject",
    "reassign",
)
ACTION_STATES = ("proposed", "approved", "rejected", "done", "failed")
EVERYONE = "group:everyone"

ItemKind = Literal["email", "event", "message", "document", "task", "row"]
DecisionOrigin = Literal["observed", "correction"]


def person_reader(person_id: str) -> str:
    """Return the reader string for one person."""
    return f"person:{person_id}"


def group_reader(group_id: str) -> str:
    """Return the reader string for a group."""
    return f"group:{group_id}"


def project_reader(project_id: str) -> str:
    """Return the reader string for the members and reader groups of a project."""
    return f"project:{project_id}"


def utc(moment: datetime) -> datetime:
    """Return ``moment`` in UTC; a naive time is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Principal:
    """Whom a read runs as: items must be readable by every person listed.

    One person is the usual case. Several people is how an understudy answers
    a colleague: only items both its owner and the asker may read. ``system``
    is for maintenance (counts, migrations) and is never given to a request.
    """

    people: tuple[str, ...] = ()
    system: bool = False

    def __post_init__(self) -> None:
        if not self.system and not self.people:
            raise ValueError("a principal needs at least one person, or system=True")

    @classmethod
    def person(cls, person_id: str) -> Principal:
        """Return the principal of one person."""
        return cls(people=(person_id,))

    @classmethod
    def all_of(cls, *person_ids: str) -> Principal:
        """Return a principal that sees only what all these people may read."""
        return cls(people=tuple(dict.fromkeys(person_ids)))

    @classmethod
    def maintenance(cls) -> Principal:
        """Return the principal for internal maintenance, which sees everything."""
        return cls(system=True)


@dataclass(frozen=True, slots=True)
class Person:
    """Someone in (or writing to) the organization."""

    id: str
    name: str
    emails: tuple[str, ...] = ()
    handles: tuple[str, ...] = ()
    title: str = ""
    manager: str | None = None
    groups: tuple[str, ...] = ()
    external: bool = False


@dataclass(frozen=True, slots=True)
class Group:
    """A named set of people, which may sit inside other groups."""

    id: str
    name: str
    members: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Project:
    """A body of work: its members and the groups that may read it."""

    id: str
    name: str
    members: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True)
class Source:
    """A configured connector instance and its sync state."""

    kind: str
    location: str
    owner: str | None = None
    project: str | None = None
    readers: tuple[str, ...] = ()
    name: str = ""
    id: int | None = None
    cursor: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    last_sync: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file attached to an item, with the text extracted from it."""

    name: str
    content_type: str = "application/octet-stream"
    size: int = 0
    text: str = ""
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """One normalized thing read from a source: an immutable version.

    Versions are keyed by (source, external id, content hash), so reading a
    source again never duplicates, and a changed thing becomes a new version
    that supersedes the old one.
    """

    source_id: int
    external_id: str
    kind: ItemKind
    timestamp: datetime
    readers: frozenset[str]
    title: str = ""
    body: str = ""
    author: str | None = None
    recipients: tuple[str, ...] = ()
    thread_id: str | None = None
    folder: str | None = None
    project: str | None = None
    attachments: tuple[Attachment, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    @property
    def content_hash(self) -> str:
        """Return the hash of everything that makes this version what it is."""
        payload = {
            "kind": self.kind,
            "timestamp": utc(self.timestamp).isoformat(),
            "title": self.title,
            "body": self.body,
            "author": self.author,
            "recipients": list(self.recipients),
            "thread_id": self.thread_id,
            "folder": self.folder,
            "project": self.project,
            "readers": sorted(self.readers),
            "attachments": [[a.name, a.content_type, a.size, a.text] for a in self.attachments],
            "metadata": self.metadata,
        }
        encoded = json.dumps(payload, sort_keys=True, default=str).encode("utf-8")
        return hashlib.blake2b(encoded, digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class Chunk:
    """A searchable span of an item; it inherits the item's readers."""

    item_id: int
    ordinal: int
    text: str
    id: int | None = None
    vector: Any = None


@dataclass(frozen=True, slots=True)
class Decision:
    """What a person did with an item, and where we learned it."""

    person: str
    item_id: int
    action: str
    at: datetime
    target: str | None = None
    latency_seconds: float | None = None
    text: str = ""
    origin: DecisionOrigin = "observed"
    id: int | None = None

    @property
    def key(self) -> str:
        """Return the identity that keeps observed decisions from duplicating."""
        if self.origin == "observed":
            return f"observed:{self.person}:{self.item_id}:{self.action}:{self.target or ''}"
        return f"correction:{self.person}:{self.item_id}:{self.action}:{utc(self.at).isoformat()}"


@dataclass(frozen=True, slots=True)
class Prediction:
    """The twin's distribution over actions for an item."""

    person: str
    item_id: int
    distribution: dict[str, float]
    confidence: float
    explanation: tuple[str, ...] = ()
    neighbours: tuple[int, ...] = ()
    draft: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Action:
    """Something the agent wants to do, and where it stands."""

    owner: str
    kind: str
    payload: dict[str, Any]
    requested_by: str
    state: str = "proposed"
    approved_by: str | None = None
    result: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    id: int | None = None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One append-only line of the audit log."""

    actor: str
    event: str
    on_behalf_of: str | None = None
    request: str = ""
    items_read: tuple[int, ...] = ()
    disclosed_to: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    id: int | None = None
