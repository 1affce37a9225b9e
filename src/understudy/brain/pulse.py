"""What changed in a project between two dates, as the asker may see it.

New decisions, new or updated documents, slipping tasks (past due and not
done, or due dates moved later) and the most active threads. The desk's
brief and the agent's status answers use it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from understudy.records import Decision, Item, Principal
from understudy.store import ItemFilter, Store

__all__ = ["DONE_STATUSES", "Pulse", "project_pulse", "task_due"]

DONE_STATUSES = frozenset(
    {"done", "closed", "resolved", "approved", "rejected", "won't do", "cancelled", "fixed"}
)
_PREFIX = re.compile(r"^(?:(?:re|fwd?|aw)\s*:\s*)+", re.IGNORECASE)


@dataclass(slots=True)
class Pulse:
    """A project's changes in a window."""

    project: str
    name: str
    since: datetime
    until: datetime
    documents: list[Item] = field(default_factory=list)
    slipping: list[Item] = field(default_factory=list)
    changed_tasks: list[Item] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    threads: list[tuple[str, int]] = field(default_factory=list)

    @property
    def quiet(self) -> bool:
        """Return whether nothing happened."""
        return not (
            self.documents or self.slipping or self.changed_tasks or self.decisions or self.threads
        )

    def as_dict(self) -> dict[str, object]:
        """Return the pulse as plain data."""
        return {
            "project": self.project,
            "name": self.name,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "documents": [{"item": d.id, "title": d.title} for d in self.documents],
            "slipping_tasks": [
                {
                    "item": t.id,
                    "key": t.external_id,
                    "title": t.title,
                    "due": str(task_due(t) or ""),
                }
                for t in self.slipping
            ],
            "task_updates": len(self.changed_tasks),
            "decisions": [
                {"person": d.person, "action": d.action, "item": d.item_id} for d in self.decisions
            ],
            "threads": [{"subject": s, "messages": n} for s, n in self.threads],
        }


def task_due(item: Item) -> datetime | None:
    """Return a task's due date, if it has one."""
    raw = item.metadata.get("due_date") or item.metadata.get("due")
    if not raw:
        return None
    try:
        return datetime.fromisoformat(str(raw))
    except ValueError:
        return None


def _slipping(item: Item, until: datetime) -> bool:
    status = str(item.metadata.get("status", "")).lower()
    if status in DONE_STATUSES:
        return False
    due = task_due(item)
    if due is not None and due.date() < until.date():
        return True
    history = " ".join(str(h) for h in item.metadata.get("history", []) or [])
    return "due date" in history.lower()


def _threads(mail: list[Item], name: str) -> list[tuple[str, int]]:
    pattern = re.compile(rf"\b{re.escape(name)}\b", re.IGNORECASE)
    counts: Counter[str] = Counter()
    subjects: dict[str, str] = {}
    seen: set[str] = set()
    for item in mail:
        key = str(item.metadata.get("message_id") or f"{item.source_id}/{item.external_id}")
        if key in seen:
            continue  # each participant's mailbox holds its own copy
        seen.add(key)
        if item.kind == "message":
            channel = str(item.metadata.get("channel", ""))
            if pattern.fullmatch(channel):
                counts[f"#{channel}"] += 1
                subjects.setdefault(f"#{channel}", f"#{channel} chat")
        elif pattern.search(item.title) and "calendar_method" not in item.metadata:
            thread = item.thread_id or item.external_id
            counts[thread] += 1
            subjects.setdefault(thread, _PREFIX.sub("", item.title))
    return [(subjects[key], n) for key, n in counts.most_common(3)]


def _project_mail(
    store: Store, principal: Principal, name: str, since: datetime, until: datetime
) -> list[Item]:
    """Return the mail and chat of the window that may name the project, newest first.

    The store narrows it (subjects holding the name, the channel named after it,
    since Slack channel names are lower case) so the whole window's mail is not
    read; ``_threads`` then applies the exact rule. A name the database may not
    fold alike (not ASCII) reads every message of the window.
    """
    if not name.isascii():
        return store.list_items(
            principal, ItemFilter(kinds=("email", "message"), since=since, until=until)
        )
    mail = store.list_items(
        principal, ItemFilter(kinds=("email",), since=since, until=until, title_contains=name)
    )
    chat = store.list_items(
        principal, ItemFilter(kinds=("message",), since=since, until=until, folder=name.lower())
    )
    return sorted([*mail, *chat], key=lambda i: (i.timestamp, i.id or 0), reverse=True)


def project_pulse(
    store: Store, principal: Principal, project: str, since: datetime, until: datetime
) -> Pulse:
    """Return what changed in ``project`` between ``since`` and ``until``."""
    found = store.get_project(project)
    pulse = Pulse(project=found.id, name=found.name, since=since, until=until)
    # The window's documents and every task: the project's mail is read below, by subject.
    documents = ItemFilter(project=found.id, kinds=("document",), since=since, until=until)
    tasks = ItemFilter(project=found.id, kinds=("task",), until=until)
    items = store.list_items(principal, documents) + store.list_items(principal, tasks)
    for item in items:
        if item.kind == "document" and item.timestamp >= since:
            pulse.documents.append(item)
        if item.kind == "task":
            if _slipping(item, until):
                pulse.slipping.append(item)
            if item.timestamp >= since:
                pulse.changed_tasks.append(item)
    # By day: a due date may be a naive date ("2026-03-05") or carry a time zone.
    pulse.slipping.sort(key=lambda t: (task_due(t) or until).date())
    # A decision points at the version it was made on, which a later edit supersedes;
    # the project's decisions count where the principal may read that version.
    decisions = store.list_decisions(since=since, until=until, project=found.id)
    readable = {h.id for h in store.item_heads(principal, [d.item_id for d in decisions])}
    pulse.decisions = [d for d in decisions if d.item_id in readable]
    pulse.threads = _threads(_project_mail(store, principal, found.name, since, until), found.name)
    return pulse
