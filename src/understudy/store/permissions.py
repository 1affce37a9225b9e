"""The permission filter that every read puts inside its SQL.

A principal's readers are computed in the query itself: the person, the
implicit ``group:everyone`` (for people inside the organization), every group
they belong to (following nested groups), and every project they are a
member of or may read through a group. An item is visible when its reader set
shares a principal with those, for every person the principal lists. A
person also reads as every id merged into them (``person_aliases``): an
address first seen in mail and later declared in the org file keeps its items.

A request that reads many times as one principal (an ask: keyword and vector
search, item heads, chunks, snippets, items) may resolve those reader sets
once, with ``ScopedReads.reading_as``: inside the block every query restricts
rows to that list of set ids, passed as one parameter, instead of computing
the same common table expressions again. The filter is still inside every
query; the block only fixes, for the length of a request, which sets the
principal may read, as a snapshot would.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from understudy.records import Principal, person_reader
from understudy.store.database import Dialect, in_ids

if TYPE_CHECKING:
    from understudy.store.database import Database

__all__ = ["ReaderFilter", "ReaderScope", "ScopedReads", "reader_filter", "request_memo"]


@dataclass(frozen=True)
class ReaderFilter:
    """SQL pieces that restrict rows to what a principal may read.

    ``ctes`` go after ``WITH RECURSIVE``; ``condition(column)`` goes in the
    WHERE clause; ``params`` carry the person ids. Per person, ``names``
    holds the CTE of readable reader-set ids and ``principals`` the CTE of
    their principals (column ``principal``).
    """

    ctes: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    names: tuple[str, ...] = ()
    principals: tuple[str, ...] = ()
    resolved: Dialect | None = None  # the dialect, once the sets are resolved

    def condition(self, column: str) -> str:
        """Return the WHERE condition on a ``readers_id`` column."""
        if self.resolved:
            return in_ids(self.resolved, column, "_readable")
        if not self.names:
            return "1 = 1"
        return " AND ".join(f"{column} IN (SELECT id FROM {name})" for name in self.names)

    def with_clause(self, extra: str = "") -> str:
        """Return the ``WITH RECURSIVE`` clause, with any extra CTEs appended."""
        parts = [*self.ctes, *([extra] if extra else [])]
        return "WITH RECURSIVE " + ",\n".join(parts) if parts else ""


def _person_ctes(index: int) -> tuple[str, str, str]:
    person, reader = f":_who{index}", f":_reader{index}"
    groups, principals, sets = f"_g{index}", f"_p{index}", f"_s{index}"
    group_cte = (
        f"{groups}(id) AS (SELECT group_id FROM group_members WHERE person_id = {person} "
        f"UNION SELECT gp.parent_id FROM group_parents gp "
        f"JOIN {groups} ON gp.child_id = {groups}.id)"
    )
    principal_cte = (
        f"{principals}(principal) AS ("
        f"SELECT CAST({reader} AS TEXT) "
        f"UNION SELECT 'person:' || alias FROM person_aliases WHERE person_id = {person} "
        f"UNION SELECT 'group:everyone' FROM people WHERE id = {person} AND NOT external "
        f"UNION SELECT 'group:' || id FROM {groups} "
        f"UNION SELECT 'project:' || project_id FROM project_members WHERE person_id = {person} "
        f"UNION SELECT 'project:' || project_id FROM project_groups "
        f"WHERE group_id IN (SELECT id FROM {groups}))"
    )
    set_cte = (
        f"{sets}(id) AS (SELECT DISTINCT set_id FROM reader_set_members "
        f"WHERE principal IN (SELECT principal FROM {principals}))"
    )
    return group_cte, principal_cte, set_cte


def reader_filter(principal: Principal) -> ReaderFilter:
    """Return the SQL that limits a query to what ``principal`` may read."""
    if principal.system:
        return ReaderFilter()
    ctes: list[str] = []
    params: dict[str, Any] = {}
    names: list[str] = []
    principals: list[str] = []
    for index, person_id in enumerate(principal.people):
        ctes.extend(_person_ctes(index))
        params[f"_who{index}"] = person_id
        params[f"_reader{index}"] = person_reader(person_id)
        names.append(f"_s{index}")
        principals.append(f"_p{index}")
    return ReaderFilter(
        ctes=tuple(ctes), params=params, names=tuple(names), principals=tuple(principals)
    )


@dataclass
class ReaderScope:
    """A principal's readable reader sets, resolved once for one request.

    ``extras`` lets a backend keep other per-principal values for the same
    request (SQLite keeps the reader tokens of its full-text MATCH).
    """

    people: tuple[str, ...]
    sets: tuple[int, ...]
    filter: ReaderFilter
    extras: dict[str, Any] = field(default_factory=dict)


_SCOPES: ContextVar[tuple[tuple[int, ReaderScope], ...]] = ContextVar("reader_scopes", default=())


def request_memo(store: object) -> dict[str, Any] | None:
    """Return what the reads of the current request keep on ``store``, None outside one.

    It lives as long as the outermost ``reading_as`` block open on ``store`` in
    this thread or task: the directory is read once per request, as the
    reader sets are, and a change to it applies from the next request (or at
    once when this connection makes it).
    """
    for owner, scope in _SCOPES.get():
        if owner == id(store):
            return scope.extras
    return None


class ScopedReads:
    """Store methods that build a read's permission filter, resolved once per request."""

    db: Database

    def _readers(self, principal: Principal) -> ReaderFilter:
        """Return the permission filter of ``principal``: the request's, if it resolved one."""
        scope = self._scope(principal)
        return scope.filter if scope is not None else reader_filter(principal)

    def _scope(self, principal: Principal) -> ReaderScope | None:
        if principal.system:
            return None
        for owner, scope in _SCOPES.get():
            if owner == id(self) and scope.people == principal.people:
                return scope
        return None

    def _resolve_reader_sets(self, principal: Principal) -> list[int]:
        readers = reader_filter(principal)
        sql = f"""{readers.with_clause()} SELECT id FROM reader_sets r
            WHERE {readers.condition("r.id")} ORDER BY id"""
        return [int(row["id"]) for row in self.db.rows(sql, readers.params)]

    def allowed_reader_sets(self, principal: Principal) -> list[int] | None:
        """Return the reader-set ids ``principal`` may read; None means all."""
        if principal.system:
            return None
        scope = self._scope(principal)
        return list(scope.sets) if scope is not None else self._resolve_reader_sets(principal)

    @contextmanager
    def reading_as(self, principal: Principal) -> Iterator[ReaderScope | None]:
        """Resolve ``principal``'s readable reader sets once for the reads in the block.

        Blocks nest: an inner block for the same principal reuses the outer
        one. Each thread and each asyncio task sees only its own blocks.
        """
        scope = self._scope(principal)
        if principal.system or scope is not None:
            yield scope
            return
        sets = tuple(self._resolve_reader_sets(principal))
        value = self.db.ids_value(sets)
        resolved = ReaderFilter(params={"_readable": value}, resolved=self.db.dialect)
        scope = ReaderScope(principal.people, sets, resolved)
        token = _SCOPES.set((*_SCOPES.get(), (id(self), scope)))
        try:
            yield scope
        finally:
            _SCOPES.reset(token)
