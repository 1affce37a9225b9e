"""The principals a person holds: themselves, their groups (nested) and projects.

The store computes the same set inside every query; this is the Python view
of it, for policy rules and for SQL table permissions.
"""

from __future__ import annotations

from understudy.records import EVERYONE, group_reader, person_reader, project_reader
from understudy.store import Store

__all__ = ["principals_of"]


def principals_of(store: Store, person_id: str) -> set[str]:
    """Return every principal string that applies to a person."""
    person = store.get_person(person_id)
    if person is None:
        return {person_reader(person_id)}
    groups = {g.id: g for g in store.list_groups()}
    mine = set(person.groups)
    changed = True
    while changed:
        changed = False
        for group in list(mine):
            for parent in groups[group].parents if group in groups else ():
                if parent not in mine:
                    mine.add(parent)
                    changed = True
    names = {person_reader(person.id)} | {group_reader(g) for g in mine}
    if not person.external:
        names.add(EVERYONE)
    for project in store.list_projects():
        if person.id in project.members or mine & set(project.groups):
            names.add(project_reader(project.id))
    return names
