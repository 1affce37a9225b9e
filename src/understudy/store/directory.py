"""People, groups and projects in the store."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from understudy.errors import NotFound
from understudy.records import Group, Person, Project
from understudy.store.database import Database, from_json, now_utc
from understudy.store.permissions import request_memo

T = TypeVar("T")

__all__ = ["DirectoryTables", "normalize_email"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def normalize_email(address: str) -> str:
    """Return an email address in the form used as a key: trimmed, lower case."""
    return address.strip().strip("<>").strip().lower()


def _once_per_request(store: object, key: str, read: Callable[[], list[T]]) -> list[T]:
    """Return ``read()``, kept for the rest of the current request (a copy each time)."""
    memo = request_memo(store)
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = tuple(read())
    return list(memo[key])


class DirectoryTables:
    """Store methods for the directory: people, groups and projects."""

    db: Database

    def upsert_person(self, person: Person) -> None:
        """Insert or update a person; their emails and groups are merged in.

        When an email address already belonged to another person (say, one
        created from a mail header), that person becomes an alias of this one,
        so items addressed to the old id stay readable by the same human.
        """
        with self.db.transaction():
            self._merge_aliases(person)
            self.db.execute(
                """INSERT INTO people (id, name, title, manager, external, handles, created_at)
                VALUES (:id, :name, :title, :manager, :external, :handles, :now)
                ON CONFLICT (id) DO UPDATE SET name = excluded.name, title = excluded.title,
                manager = excluded.manager, external = excluded.external,
                handles = excluded.handles""",
                {
                    "id": person.id,
                    "name": person.name,
                    "title": person.title,
                    "manager": person.manager,
                    "external": person.external,
                    "handles": list(person.handles),
                    "now": now_utc(),
                },
            )
            self.db.executemany(
                """INSERT INTO person_emails (email, person_id) VALUES (:email, :person)
                ON CONFLICT (email) DO UPDATE SET person_id = excluded.person_id""",
                [{"email": normalize_email(e), "person": person.id} for e in person.emails],
            )
            self.db.executemany(
                """INSERT INTO group_members (group_id, person_id) VALUES (:group, :person)
                ON CONFLICT DO NOTHING""",
                [{"group": group, "person": person.id} for group in person.groups],
            )

    def _merge_aliases(self, person: Person) -> None:
        emails = {f"e{i}": normalize_email(e) for i, e in enumerate(person.emails)}
        if not emails:
            return
        marks = ", ".join(f":{k}" for k in emails)
        previous = self.db.rows(
            f"SELECT DISTINCT person_id FROM person_emails WHERE email IN ({marks})", emails
        )
        old_ids = [row["person_id"] for row in previous if row["person_id"] != person.id]
        rows = [{"alias": old, "person": person.id} for old in old_ids]
        self.db.executemany(
            """INSERT INTO person_aliases (alias, person_id) VALUES (:alias, :person)
            ON CONFLICT (alias) DO UPDATE SET person_id = excluded.person_id""",
            rows,
        )
        self.db.executemany(
            "UPDATE person_aliases SET person_id = :person WHERE person_id = :alias", rows
        )

    def resolve_person_id(self, person_id: str) -> str:
        """Return the id a person is known by now, following merges."""
        merged = self.db.scalar(
            "SELECT person_id FROM person_aliases WHERE alias = :a", {"a": person_id}
        )
        return str(merged) if merged else person_id

    def ensure_people(self, addresses: Mapping[str, str]) -> dict[str, str]:
        """Return person ids for email addresses, creating people for unknown ones.

        ``addresses`` maps an email address to a display name. A new person is
        marked external and gets the address itself as id.
        """
        wanted = {normalize_email(a): n for a, n in addresses.items() if _EMAIL.match(a.strip())}
        if not wanted:
            return {}
        known = self._person_ids_for(wanted)
        missing = [email for email in wanted if email not in known]
        if missing:
            now = now_utc()
            with self.db.transaction():
                self.db.executemany(
                    """INSERT INTO people (id, name, title, external, handles, created_at)
                    VALUES (:id, :name, '', :external, :handles, :now) ON CONFLICT DO NOTHING""",
                    [
                        {
                            "id": e,
                            "name": wanted[e] or e,
                            "external": True,
                            "handles": [],
                            "now": now,
                        }
                        for e in missing
                    ],
                )
                self.db.executemany(
                    """INSERT INTO person_emails (email, person_id) VALUES (:email, :email)
                    ON CONFLICT DO NOTHING""",
                    [{"email": e} for e in missing],
                )
            known.update(self._person_ids_for(dict.fromkeys(missing, "")))
        return known

    def _person_ids_for(self, emails: Iterable[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        batch = list(emails)
        for start in range(0, len(batch), 500):
            part = batch[start : start + 500]
            names = {f"e{i}": e for i, e in enumerate(part)}
            marks = ", ".join(f":{k}" for k in names)
            rows = self.db.rows(
                f"SELECT email, person_id FROM person_emails WHERE email IN ({marks})", names
            )
            found.update({row["email"]: row["person_id"] for row in rows})
        return found

    def get_person(self, person_id: str) -> Person | None:
        """Return one person by id (or by an id merged into them), or None."""
        rows = self._people("WHERE p.id = :id", {"id": self.resolve_person_id(person_id)})
        return rows[0] if rows else None

    def find_person(self, text: str) -> Person:
        """Return the person named by an id, an email address or a unique name."""
        person = self.get_person(text)
        if person is None:
            owner = self.db.scalar(
                "SELECT person_id FROM person_emails WHERE email = :e", {"e": normalize_email(text)}
            )
            person = self.get_person(owner) if owner else None
        if person is None:
            matches = self._people("WHERE lower(p.name) = :n", {"n": text.strip().lower()})
            person = matches[0] if len(matches) == 1 else None
        if person is None:
            raise NotFound(f"no person {text!r}; run 'understudy people' to see who is known")
        return person

    def list_people(self, include_external: bool = False) -> list[Person]:
        """Return people, by name; external correspondents only when asked."""
        where = "" if include_external else "WHERE NOT p.external"
        return self._people(where, {})

    def _people(self, where: str, params: dict[str, Any]) -> list[Person]:
        rows = self.db.rows(
            f"SELECT p.* FROM people p {where} ORDER BY p.name, p.id",
            params,
        )
        if not rows:
            return []
        ids = {f"i{n}": row["id"] for n, row in enumerate(rows)}
        emails = self._many(
            "SELECT person_id AS k, email AS v FROM person_emails", "person_id", ids
        )
        groups = self._many(
            "SELECT person_id AS k, group_id AS v FROM group_members", "person_id", ids
        )
        return [
            Person(
                id=row["id"],
                name=row["name"],
                emails=tuple(sorted(emails.get(row["id"], []))),
                handles=tuple(from_json(row["handles"]) or ()),
                title=row["title"],
                manager=row["manager"],
                groups=tuple(sorted(groups.get(row["id"], []))),
                external=bool(row["external"]),
            )
            for row in rows
        ]

    def _many(self, select: str, column: str, ids: dict[str, str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        keys = list(ids)
        for start in range(0, len(keys), 500):
            part = {k: ids[k] for k in keys[start : start + 500]}
            marks = ", ".join(f":{k}" for k in part)
            for row in self.db.rows(f"{select} WHERE {column} IN ({marks})", part):
                out.setdefault(row["k"], []).append(row["v"])
        return out

    def upsert_group(self, group: Group) -> None:
        """Insert or update a group with its members and parent groups."""
        (request_memo(self) or {}).pop("groups", None)
        with self.db.transaction():
            self.db.execute(
                """INSERT INTO groups (id, name) VALUES (:id, :name)
                ON CONFLICT (id) DO UPDATE SET name = excluded.name""",
                {"id": group.id, "name": group.name},
            )
            self.db.executemany(
                """INSERT INTO group_members (group_id, person_id) VALUES (:g, :p)
                ON CONFLICT DO NOTHING""",
                [{"g": group.id, "p": member} for member in group.members],
            )
            self.db.executemany(
                """INSERT INTO group_parents (child_id, parent_id) VALUES (:c, :p)
                ON CONFLICT DO NOTHING""",
                [{"c": group.id, "p": parent} for parent in group.parents],
            )

    def list_groups(self) -> list[Group]:
        """Return every group with its direct members and parents (once per request)."""
        return _once_per_request(self, "groups", self._groups)

    def _groups(self) -> list[Group]:
        rows = self.db.rows("SELECT id, name FROM groups ORDER BY id")
        members: dict[str, list[str]] = {}
        for row in self.db.rows("SELECT group_id, person_id FROM group_members ORDER BY person_id"):
            members.setdefault(row["group_id"], []).append(row["person_id"])
        parents: dict[str, list[str]] = {}
        for row in self.db.rows("SELECT child_id, parent_id FROM group_parents ORDER BY parent_id"):
            parents.setdefault(row["child_id"], []).append(row["parent_id"])
        return [
            Group(
                id=row["id"],
                name=row["name"],
                members=tuple(members.get(row["id"], [])),
                parents=tuple(parents.get(row["id"], [])),
            )
            for row in rows
        ]

    def upsert_project(self, project: Project) -> None:
        """Insert or update a project with its members and reader groups."""
        (request_memo(self) or {}).pop("projects", None)
        with self.db.transaction():
            self.db.execute(
                """INSERT INTO projects (id, name, description) VALUES (:id, :name, :d)
                ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                description = excluded.description""",
                {"id": project.id, "name": project.name, "d": project.description},
            )
            self.db.executemany(
                """INSERT INTO project_members (project_id, person_id) VALUES (:j, :p)
                ON CONFLICT DO NOTHING""",
                [{"j": project.id, "p": member} for member in project.members],
            )
            self.db.executemany(
                """INSERT INTO project_groups (project_id, group_id) VALUES (:j, :g)
                ON CONFLICT DO NOTHING""",
                [{"j": project.id, "g": group} for group in project.groups],
            )

    def list_projects(self) -> list[Project]:
        """Return every project with its members and reader groups (once per request)."""
        return _once_per_request(self, "projects", self._projects)

    def _projects(self) -> list[Project]:
        rows = self.db.rows("SELECT id, name, description FROM projects ORDER BY id")
        members: dict[str, list[str]] = {}
        for row in self.db.rows("SELECT project_id, person_id FROM project_members ORDER BY 2"):
            members.setdefault(row["project_id"], []).append(row["person_id"])
        groups: dict[str, list[str]] = {}
        for row in self.db.rows("SELECT project_id, group_id FROM project_groups ORDER BY 2"):
            groups.setdefault(row["project_id"], []).append(row["group_id"])
        return [
            Project(
                id=row["id"],
                name=row["name"],
                members=tuple(members.get(row["id"], [])),
                groups=tuple(groups.get(row["id"], [])),
                description=row["description"],
            )
            for row in rows
        ]

    def get_project(self, text: str) -> Project:
        """Return the project named by id or name."""
        for project in self.list_projects():
            if text in (project.id, project.name) or text.lower() == project.name.lower():
                return project
        raise NotFound(f"no project {text!r}; run 'understudy projects' to see them")
