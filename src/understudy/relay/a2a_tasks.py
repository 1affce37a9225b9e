"""A2A tasks kept in the deployment's store, so any server process can answer ``GetTask``.

Each task belongs to a scope — who asked which understudy — and is only ever
read back in that scope. Tasks are stored as their protobuf bytes, with the
few fields that queries filter on beside them, and are pruned after a week.
"""

from __future__ import annotations

import itertools
import uuid
from collections import OrderedDict
from datetime import UTC, timedelta
from typing import Any

import anyio.to_thread
from a2a.server.context import ServerCallContext
from a2a.server.id_generator import IDGenerator, IDGeneratorContext
from a2a.server.tasks import TaskStore
from a2a.types import ListTasksRequest, ListTasksResponse, Task
from a2a.utils.constants import DEFAULT_LIST_TASKS_PAGE_SIZE, MAX_LIST_TASKS_PAGE_SIZE
from a2a.utils.errors import InvalidParamsError

from understudy.relay.deployment import Deployment
from understudy.store.database import Database, now_utc
from understudy.store.schema import MIGRATIONS, Migration

__all__ = ["RELAY_TASKS", "FreshTaskIds", "StoreTaskStore", "ensure_task_table", "task_scope"]

RELAY_TASKS: Migration = next(m for m in MIGRATIONS if m.name == "0007_relay_tasks")
RETENTION = timedelta(days=7)
PRUNE_EVERY = 500


def ensure_task_table(db: Database) -> bool:
    """Create the task table once, as a named migration; return whether it ran now."""
    with db.transaction():
        if db.dialect == "postgres":
            db.execute("SELECT pg_advisory_xact_lock(735021)")
        seen = db.scalar(
            "SELECT count(*) AS n FROM migrations WHERE name = :name", {"name": RELAY_TASKS.name}
        )
        if seen:
            return False
        for statement in RELAY_TASKS.for_dialect(db.dialect):
            db.execute(statement)
        db.execute(
            "INSERT INTO migrations (name, applied_at) VALUES (:name, :at)",
            {"name": RELAY_TASKS.name, "at": now_utc().isoformat()},
        )
    return True


def task_scope(context: ServerCallContext) -> str:
    """Return whose tasks a call may see: the caller's, with the understudy it called."""
    return context.user.user_name


class FreshTaskIds(IDGenerator):
    """Make task ids, remembering those not saved yet: no store can hold them, so none is asked.

    A quick answer is a message, and its task id is never saved: without this, the
    request handler would look it up in the store twice for nothing.
    """

    def __init__(self, remember: int = 10_000) -> None:
        self._fresh: OrderedDict[str, None] = OrderedDict()
        self._remember = remember

    def generate(self, context: IDGeneratorContext) -> str:
        """Return a new random task id."""
        task_id = str(uuid.uuid4())
        self._fresh[task_id] = None
        if len(self._fresh) > self._remember:
            self._fresh.popitem(last=False)
        return task_id

    def unsaved(self, task_id: str) -> bool:
        """Return whether the id was made here and never saved."""
        return task_id in self._fresh

    def saved(self, task_id: str) -> None:
        """Forget an id once its task is in the store."""
        self._fresh.pop(task_id, None)


class StoreTaskStore(TaskStore):
    """A2A tasks in the store, scoped to the caller and the understudy called."""

    def __init__(self, deployment: Deployment, fresh: FreshTaskIds | None = None) -> None:
        self.deployment = deployment
        self.fresh = fresh or FreshTaskIds()
        self._saves = itertools.count(1)

    async def save(self, task: Task, context: ServerCallContext) -> None:
        """Insert or replace a task in the caller's scope."""
        self.fresh.saved(task.id)
        scope = task_scope(context)
        prune = next(self._saves) % PRUNE_EVERY == 0
        await anyio.to_thread.run_sync(self._save, scope, task, prune)

    def _save(self, scope: str, task: Task, prune: bool) -> None:
        with self.deployment.store() as store:
            store.db.execute(
                """INSERT INTO relay_tasks (scope, id, context_id, state, updated_at, task)
                VALUES (:s, :id, :c, :state, :at, :task)
                ON CONFLICT (scope, id) DO UPDATE SET context_id = excluded.context_id,
                state = excluded.state, updated_at = excluded.updated_at, task = excluded.task""",
                {
                    "s": scope,
                    "id": task.id,
                    "c": task.context_id,
                    "state": int(task.status.state),
                    "at": now_utc(),
                    "task": task.SerializeToString(),
                },
            )
            if prune:
                store.db.execute(
                    "DELETE FROM relay_tasks WHERE updated_at < :t",
                    {"t": now_utc() - RETENTION},
                )

    async def get(self, task_id: str, context: ServerCallContext) -> Task | None:
        """Return a task of the caller's scope, or None."""
        if self.fresh.unsaved(task_id):
            return None
        scope = task_scope(context)
        return await anyio.to_thread.run_sync(self._get, scope, task_id)

    def _get(self, scope: str, task_id: str) -> Task | None:
        with self.deployment.store() as store:
            row = store.db.row(
                "SELECT task FROM relay_tasks WHERE scope = :s AND id = :id",
                {"s": scope, "id": task_id},
            )
        return None if row is None else Task.FromString(bytes(row["task"]))

    async def list(self, params: ListTasksRequest, context: ServerCallContext) -> ListTasksResponse:
        """Return the caller's tasks, most recently updated first, a page at a time."""
        scope = task_scope(context)
        return await anyio.to_thread.run_sync(self._list, scope, params)

    def _list(self, scope: str, params: ListTasksRequest) -> ListTasksResponse:
        size = params.page_size or DEFAULT_LIST_TASKS_PAGE_SIZE
        if not 1 <= size <= MAX_LIST_TASKS_PAGE_SIZE:
            raise InvalidParamsError(message=f"pageSize must be 1 to {MAX_LIST_TASKS_PAGE_SIZE}")
        offset = _offset(params.page_token)
        conditions, values = _conditions(scope, params)
        with self.deployment.store() as store:
            total = int(
                store.db.scalar(f"SELECT count(*) AS n FROM relay_tasks WHERE {conditions}", values)
            )
            rows = store.db.rows(
                f"""SELECT task FROM relay_tasks WHERE {conditions}
                ORDER BY updated_at DESC, id DESC LIMIT :n OFFSET :o""",
                {**values, "n": size, "o": offset},
            )
        more = offset + size < total
        return ListTasksResponse(
            tasks=[Task.FromString(bytes(row["task"])) for row in rows],
            next_page_token=str(offset + size) if more else "",
            page_size=size,
            total_size=total,
        )

    async def delete(self, task_id: str, context: ServerCallContext) -> None:
        """Delete a task of the caller's scope, if there is one."""
        scope = task_scope(context)
        await anyio.to_thread.run_sync(self._delete, scope, task_id)

    def _delete(self, scope: str, task_id: str) -> None:
        with self.deployment.store() as store:
            store.db.execute(
                "DELETE FROM relay_tasks WHERE scope = :s AND id = :id", {"s": scope, "id": task_id}
            )


def _offset(token: str) -> int:
    if not token:
        return 0
    if not token.isdigit() or len(token) > 9:
        raise InvalidParamsError(message="pageToken is not one this server gave out")
    return int(token)


def _conditions(scope: str, params: ListTasksRequest) -> tuple[str, dict[str, Any]]:
    conditions = ["scope = :s"]
    values: dict[str, Any] = {"s": scope}
    if params.context_id:
        conditions.append("context_id = :c")
        values["c"] = params.context_id
    if params.status:
        conditions.append("state = :state")
        values["state"] = int(params.status)
    if params.HasField("status_timestamp_after"):
        conditions.append("updated_at >= :after")
        values["after"] = params.status_timestamp_after.ToDatetime(tzinfo=UTC)
    return " AND ".join(conditions), values
