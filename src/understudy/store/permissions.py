"""The permission filter that every read puts inside its SQL.

A principal's readers are computed in the query itself: the person, the
implicit ``group:everyone`` (for people inside the organization), every group
they belong to (following nested groups), and every project they are a
member of or may read through a group. An item is visible when its reader set
shares a principal with those, for every person the principal lists. A
person also reads as every id merged into them (``person_aliases``): an
address first seen in mail and later declared in the org file keeps its items.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from understudy.records import Principal, person_reader

__all__ = ["ReaderFilter", "reader_filter"]


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

    def condition(self, column: str) -> str:
        """Return the WHERE condition on a ``readers_id`` column."""
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
