"""One person's mail as the twin sees it: messages in time order, with their outcomes.

The twin learns from a person's own mailbox: what they received, what they
sent, and the decisions the sources observed (docs/decisions.md). This module
turns stored items and decisions into compact ``Message`` records.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from understudy.errors import NotFound
from understudy.records import Decision, Item, Person, Principal
from understudy.sources.decisions import folder_role, normalize_subject, split_quoted
from understudy.store import ItemFilter, Store

__all__ = [
    "Mailbox",
    "Message",
    "Outcome",
    "correspondent",
    "load_mailbox",
    "message_from_item",
]


@dataclass(slots=True)
class Outcome:
    """What the person did with one received message, from observed decisions."""

    replied_at: datetime | None = None
    latency: float | None = None
    forwarded: bool = False
    delegated_to: str | None = None
    folder: str | None = None
    deleted: bool = False
    reply_text: str = ""


@dataclass(slots=True)
class Message:
    """One unique message of the mailbox, received or sent."""

    item_id: int
    at: datetime
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    topic: str
    thread: str
    folders: tuple[str, ...]
    sent: bool
    text: str
    attachments: int
    message_id: str = ""
    replies_to: tuple[str, ...] = ()
    dated: bool = True
    paths: tuple[str, ...] = ()
    project: str | None = None
    outcome: Outcome = field(default_factory=Outcome)

    @property
    def own_folders(self) -> list[str]:
        """Return the person's own filing folders this message sits in."""
        return [f for f in self.folders if folder_role(f) == "own"]


@dataclass(slots=True)
class Mailbox:
    """A person's mail in time order, with the person's addresses."""

    person: str
    addresses: frozenset[str]
    messages: list[Message]

    @property
    def received(self) -> list[Message]:
        """Return the messages the person received, oldest first."""
        return [m for m in self.messages if not m.sent]

    @property
    def sent(self) -> list[Message]:
        """Return the messages the person sent, oldest first."""
        return [m for m in self.messages if m.sent]


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(str(v).lower() for v in value if v)
    return ()


def message_from_item(item: Item, addresses: frozenset[str]) -> Message:
    """Return the twin's view of one stored email item."""
    meta = item.metadata
    sender = str(meta.get("from") or "").lower()
    own_text, _ = split_quoted(item.body)
    folders = tuple(meta.get("folders") or ([item.folder] if item.folder else []))
    copies = meta.get("copies") or ([meta["path"]] if meta.get("path") else [])
    return Message(
        item_id=item.id or 0,
        at=item.timestamp,
        sender=sender,
        to=_strings(meta.get("to")),
        cc=_strings(meta.get("cc")),
        subject=item.title,
        topic=normalize_subject(item.title),
        thread=item.thread_id or f"i{item.id}",
        folders=folders,
        sent=bool(meta.get("sent")) or sender in addresses,
        text=own_text[:4000],
        attachments=len(item.attachments),
        message_id=str(meta.get("message_id") or ""),
        replies_to=tuple(meta.get("in_reply_to") or ()) + tuple(meta.get("references") or ()),
        dated=not meta.get("date_fallback"),
        paths=tuple(str(p) for p in copies),
        project=item.project,
    )


def _apply(messages: dict[int, Message], decisions: Iterable[Decision]) -> None:
    for decision in decisions:
        message = messages.get(decision.item_id)
        if message is None:
            continue
        outcome = message.outcome
        if decision.action == "reply" and outcome.replied_at is None:
            outcome.replied_at = decision.at
            outcome.latency = decision.latency_seconds
            outcome.reply_text = decision.text
        elif decision.action == "forward":
            outcome.forwarded = True
        elif decision.action == "delegate":
            outcome.delegated_to = decision.target
        elif decision.action == "file" and outcome.folder is None:
            outcome.folder = decision.target
        elif decision.action == "delete":
            outcome.deleted = True


def load_mailbox(store: Store, person: str, sources: Sequence[int] | None = None) -> Mailbox:
    """Return the person's mailbox from the mail sources they own."""
    owner = store.get_person(person)
    addresses = frozenset(e.lower() for e in (owner.emails if owner else ()))
    chosen = sources or [
        s.id for s in store.list_sources() if s.owner == person and s.id is not None
    ]
    items: list[Item] = []
    for source_id in chosen:
        items.extend(
            store.list_items(
                Principal.person(person),
                ItemFilter(kinds=("email",), source_id=source_id),
                newest_first=False,
            )
        )
    messages = {item.id or 0: message_from_item(item, addresses) for item in items}
    _apply(messages, store.list_decisions(person=person))
    ordered = sorted(messages.values(), key=lambda m: (m.at, m.item_id))
    return Mailbox(person=person, addresses=addresses, messages=ordered)


def correspondent(store: Store, address: str) -> Person | None:
    """Return the person behind an email address (or a person id), or None if unknown."""
    if not address:
        return None
    found = store.get_person(address)
    if found is not None:
        return found
    try:
        # People from the directory have their own ids; their addresses point at them.
        return store.find_person(address)
    except NotFound:
        return None
