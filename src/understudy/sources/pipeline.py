"""The one ingest pipeline every connector feeds: resolve, store, checkpoint, observe."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from understudy.records import Item, Principal, Source, person_reader
from understudy.sources.base import Checkpoint, Contact, Draft, Problem, SyncContext
from understudy.sources.registry import connector_class
from understudy.store import ItemFilter, Store

__all__ = ["SyncReport", "add_source", "sync"]

ProgressCallback = Callable[[int, int | None], None]


@dataclass(slots=True)
class SyncReport:
    """What one sync of one source did."""

    source: str
    seen: int = 0
    added: int = 0
    unchanged: int = 0
    superseded: int = 0
    problems: int = 0
    decisions: int = 0
    seconds: float = 0.0
    error: str | None = None
    problem_samples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """Return the report as plain data for ``--json``."""
        return {
            "source": self.source,
            "seen": self.seen,
            "added": self.added,
            "unchanged": self.unchanged,
            "superseded": self.superseded,
            "problems": self.problems,
            "decisions": self.decisions,
            "seconds": round(self.seconds, 3),
            "error": self.error,
        }


def add_source(
    store: Store,
    kind: str,
    location: str,
    owner: str | None = None,
    project: str | None = None,
    readers: Sequence[str] = (),
    name: str = "",
    options: dict[str, object] | None = None,
) -> Source:
    """Register a source (checking its kind and people), or return the existing one."""
    connector_class(kind)
    owner_id = _owner_id(store, owner) if owner else None
    project_id = store.get_project(project).id if project else None
    return store.add_source(
        Source(
            kind=kind,
            location=location,
            owner=owner_id,
            project=project_id,
            readers=tuple(_reader_principal(store, r) for r in readers),
            name=name,
            options=dict(options or {}),
        )
    )


def _owner_id(store: Store, owner: str) -> str:
    """Return the owner's person id; an unknown email address becomes a new person."""
    if "@" in owner:
        known = store.ensure_people({owner: ""})
        if known:
            return store.resolve_person_id(next(iter(known.values())))
    return store.find_person(owner).id


def _reader_principal(store: Store, text: str) -> str:
    if text.startswith(("person:", "group:", "project:")):
        return text
    if any(group.id == text for group in store.list_groups()):
        return f"group:{text}"
    return person_reader(store.find_person(text).id)


class _Batch:
    """Drafts waiting to be stored, resolved to people in one round trip."""

    def __init__(self, store: Store, source: Source, report: SyncReport) -> None:
        self.store = store
        self.source = source
        self.report = report
        self.drafts: list[Draft] = []

    def flush(self) -> None:
        if not self.drafts:
            return
        contacts: dict[str, str] = {}
        for draft in self.drafts:
            for contact in _contacts(draft):
                contacts.setdefault(contact.email, contact.name)
        people = self.store.ensure_people(contacts)
        items = [self._item(draft, people) for draft in self.drafts]
        result = self.store.put_items(items)
        self.report.added += result.added
        self.report.unchanged += result.unchanged
        self.report.superseded += result.superseded
        self.drafts.clear()

    def _item(self, draft: Draft, people: dict[str, str]) -> Item:
        def who(contact: Contact | None) -> str | None:
            return None if contact is None else people.get(contact.email.strip().lower())

        readers = set() if draft.exclusive_readers else set(self.source.readers)
        if self.source.owner:
            readers.add(person_reader(self.source.owner))
        for reader in draft.readers:
            if isinstance(reader, Contact):
                person = who(reader)
                if person:
                    readers.add(person_reader(person))
            else:
                readers.add(reader)
        if not readers and self.source.project:
            readers.add(f"project:{self.source.project}")
        recipients = tuple(p for p in (who(c) for c in draft.recipients) if p)
        return Item(
            source_id=self.source.id or 0,
            external_id=draft.external_id,
            kind=draft.kind,
            timestamp=draft.timestamp,
            readers=frozenset(readers),
            title=draft.title,
            body=draft.body,
            author=who(draft.author),
            recipients=tuple(dict.fromkeys(recipients)),
            thread_id=draft.thread_id,
            folder=draft.folder,
            project=draft.project or self.source.project,
            attachments=draft.attachments,
            metadata=draft.metadata,
        )


def _contacts(draft: Draft) -> list[Contact]:
    found = [draft.author] if draft.author else []
    found.extend(draft.recipients)
    found.extend(r for r in draft.readers if isinstance(r, Contact))
    return [c for c in found if c is not None and c.email]


def _context(store: Store, source: Source) -> SyncContext:
    projects: dict[str, str] = {}
    for project in store.list_projects():
        projects[project.id.lower()] = project.id
        projects[project.name.lower()] = project.id
    owner = store.get_person(source.owner) if source.owner else None
    return SyncContext(
        known=store.item_hashes(source.id or 0),
        options=dict(source.options),
        projects=projects,
        owner_emails=owner.emails if owner else (),
    )


def sync(
    store: Store,
    source: Source,
    progress: ProgressCallback | None = None,
    batch_size: int = 500,
) -> SyncReport:
    """Read a source past its cursor into the store, then record observed decisions.

    Problems are recorded with their location and the sync goes on. A
    checkpoint's cursor is saved only after every draft before it is stored.
    """
    started = time.perf_counter()
    report = SyncReport(source=source.name)
    if source.id is None:
        raise ValueError("sync needs a stored source; call add_source first")
    connector = connector_class(source.kind)(source, _context(store, source))
    cursor = dict(source.cursor)
    pending = _Batch(store, source, report)
    try:
        total = connector.estimate(cursor)
        for reading in connector.read(cursor):
            if isinstance(reading, Draft):
                pending.drafts.append(reading)
                report.seen += 1
                if len(pending.drafts) >= batch_size:
                    pending.flush()
            elif isinstance(reading, Problem):
                report.problems += 1
                if len(report.problem_samples) < 5:
                    report.problem_samples.append(f"{reading.location}: {reading.reason}")
                store.record_source_error(source.id, reading.location, reading.reason)
            elif isinstance(reading, Checkpoint):
                pending.flush()
                store.save_cursor(source.id, reading.cursor)
            if progress is not None and not isinstance(reading, Checkpoint):
                progress(1, total)
        pending.flush()
        if report.added or report.superseded or not source.last_sync:
            # Decisions only change when items do; an unchanged source skips the pass.
            items = store.list_items(
                Principal.maintenance(), ItemFilter(source_id=source.id), newest_first=False
            )
            report.decisions = store.add_decisions(connector.observe(items))
    except OSError as exc:
        pending.flush()
        report.error = f"{source.location}: {exc.strerror or exc}"
        store.record_source_error(source.id, source.location, report.error)
    last = report.error or (report.problem_samples[-1] if report.problem_samples else None)
    if last is None and report.seen == 0:
        # Nothing was read again, so what was wrong last time still stands.
        last = source.last_error
    store.finish_sync(source.id, last)
    report.seconds = time.perf_counter() - started
    return report
