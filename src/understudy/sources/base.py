"""The connector contract: one abstract method, capabilities as class attributes.

A connector reads one configured ``Source`` and yields what it finds:
``Draft`` items (with raw addresses, which the pipeline resolves to people),
``Problem`` records for what it could not read, and ``Checkpoint`` cursors
that mark how far it got. The pipeline stores drafts in batches, and saves a
checkpoint only after everything before it is committed, so a killed sync
resumes where it stopped and never duplicates.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from understudy.records import Attachment, Decision, ItemKind, Source

__all__ = [
    "Checkpoint",
    "Connector",
    "Contact",
    "Draft",
    "Problem",
    "Reading",
    "SyncContext",
]


@dataclass(frozen=True, slots=True)
class Contact:
    """A person as a source names them: an email address and a display name."""

    email: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class Draft:
    """An item as a connector read it, before people are resolved.

    ``readers`` are extra principals (``group:…``, ``project:…``) or contacts
    who may read the item; the pipeline always adds the source's owner and
    configured readers. For mail and events the connector lists the author
    and recipients among ``readers`` itself. ``exclusive_readers`` says the
    connector's readers replace the source's configured readers (a SQL table
    with readers of its own); the owner still reads it.
    """

    external_id: str
    kind: ItemKind
    timestamp: datetime
    title: str = ""
    body: str = ""
    author: Contact | None = None
    recipients: tuple[Contact, ...] = ()
    readers: tuple[str | Contact, ...] = ()
    thread_id: str | None = None
    folder: str | None = None
    project: str | None = None
    attachments: tuple[Attachment, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    exclusive_readers: bool = False


@dataclass(frozen=True, slots=True)
class Problem:
    """Something a connector could not read: where it was and why."""

    location: str
    reason: str


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """How far the connector has read; saved once everything before it is stored."""

    cursor: dict[str, Any]


Reading = Draft | Problem | Checkpoint


@dataclass(slots=True)
class SyncContext:
    """What a connector may know about the store while it reads.

    ``known`` maps external ids already stored to their content hash;
    ``projects`` maps lower-cased project ids and names to project ids;
    ``owner_emails`` are the addresses of the source's owner.
    """

    known: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    projects: dict[str, str] = field(default_factory=dict)
    owner_emails: tuple[str, ...] = ()


class Connector(ABC):
    """Reads one kind of source. Subclasses set ``kind`` and implement ``read``."""

    kind: ClassVar[str]
    item_kinds: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""
    location_help: ClassVar[str] = "a path"

    def __init__(self, source: Source, context: SyncContext | None = None) -> None:
        self.source = source
        self.context = context or SyncContext()

    @abstractmethod
    def read(self, cursor: dict[str, Any]) -> Iterator[Reading]:
        """Yield drafts, problems and checkpoints for what lies past ``cursor``."""

    def observe(self, items: Sequence[Any]) -> list[Decision]:
        """Return the owner's decisions seen in the source's stored items."""
        return []

    def estimate(self, cursor: dict[str, Any]) -> int | None:
        """Return roughly how many things ``read`` will look at, for a progress bar."""
        return None
