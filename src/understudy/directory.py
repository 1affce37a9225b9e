"""The org file: people, groups and projects, in TOML, YAML or CSV.

TOML and YAML share one shape::

    [organization]            # optional
    name = "Halcyon Labs"

    [[people]]
    id = "maya-okafor"        # required, unique
    name = "Maya Okafor"      # required
    title = "Chief Executive Officer"
    emails = ["maya@halcyon.example"]
    handles = ["maya"]        # chat handles
    manager = ""              # a person id
    groups = ["exec"]

    [[groups]]
    id = "exec"
    name = "Executive team"
    parents = ["leadership"]  # groups this group sits inside

    [[projects]]
    id = "atlas"
    name = "Atlas"
    members = ["maya-okafor"]
    groups = ["engineering"]  # groups whose members may read the project

CSV has one row per person with the columns ``id, name, title, emails,
manager, groups, projects`` (lists separated by ``;``); groups and projects
named there are created with their id as name.
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from understudy.errors import InputError
from understudy.records import Group, Person, Project
from understudy.store import Store

__all__ = ["Organization", "load_org", "parse_org", "read_org_file"]


@dataclass(slots=True)
class Organization:
    """Everything an org file declares."""

    name: str = ""
    people: list[Person] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    projects: list[Project] = field(default_factory=list)


def read_org_file(path: Path) -> Organization:
    """Read and check an org file; errors name the file, the record and the field."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such org file; check the path") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the org file ({exc.strerror})") from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _from_csv(path, text)
    data = _parse_mapping(path, text, suffix)
    return parse_org(data, str(path))


def _parse_mapping(path: Path, text: str, suffix: str) -> Mapping[str, Any]:
    try:
        if suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif suffix in {".yaml", ".yml"}:
            data = yaml.safe_load(text)
        else:
            raise InputError(f"{path}: unknown org file type {suffix!r}; use .toml, .yaml or .csv")
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"{path}: not valid YAML{where}; fix the file") from None
    if not isinstance(data, Mapping):
        raise InputError(f"{path}: the org file must hold a table with 'people'")
    return data


def _text(record: Mapping[str, Any], key: str, where: str, required: bool = False) -> str:
    value = record.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str | int):
        raise InputError(f"{where}: field {key!r} must be text")
    text = str(value).strip()
    if required and not text:
        raise InputError(f"{where}: missing field {key!r}")
    return text


def _list(record: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = record.get(key) or []
    if isinstance(value, str):
        value = value.replace(",", ";").split(";")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{where}: field {key!r} must be a list of text")
    return tuple(v.strip() for v in value if v.strip())


def _records(data: Mapping[str, Any], key: str, origin: str) -> list[Mapping[str, Any]]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise InputError(f"{origin}: '{key}' must be a list of tables")
    return list(value)


def parse_org(data: Mapping[str, Any], origin: str = "org file") -> Organization:
    """Build an ``Organization`` from parsed TOML or YAML data."""
    org_table = data.get("organization") or {}
    org = Organization(
        name=str(org_table.get("name", "")) if isinstance(org_table, Mapping) else ""
    )
    for n, record in enumerate(_records(data, "groups", origin)):
        where = f"{origin}: groups[{n}]"
        gid = _text(record, "id", where, required=True)
        org.groups.append(
            Group(
                id=gid,
                name=_text(record, "name", where) or gid,
                members=_list(record, "members", where),
                parents=_list(record, "parents", where),
            )
        )
    for n, record in enumerate(_records(data, "people", origin)):
        org.people.append(_person(record, f"{origin}: people[{n}]"))
    for n, record in enumerate(_records(data, "projects", origin)):
        where = f"{origin}: projects[{n}]"
        pid = _text(record, "id", where, required=True)
        org.projects.append(
            Project(
                id=pid,
                name=_text(record, "name", where) or pid,
                members=_list(record, "members", where),
                groups=_list(record, "groups", where),
                description=_text(record, "description", where),
            )
        )
    _check(org, origin)
    return org


def _person(record: Mapping[str, Any], where: str) -> Person:
    emails = _list(record, "emails", where) or _list(record, "email", where)
    for email in emails:
        if "@" not in email:
            raise InputError(f"{where}: email {email!r} is not an address")
    return Person(
        id=_text(record, "id", where, required=True),
        name=_text(record, "name", where, required=True),
        title=_text(record, "title", where),
        emails=emails,
        handles=_list(record, "handles", where),
        manager=_text(record, "manager", where) or None,
        groups=_list(record, "groups", where),
    )


def _check(org: Organization, origin: str) -> None:
    ids = [p.id for p in org.people]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise InputError(f"{origin}: person id {duplicates[0]!r} appears more than once")
    known = set(ids)
    for n, person in enumerate(org.people):
        if person.manager and person.manager not in known:
            raise InputError(
                f"{origin}: people[{n}] ({person.id}): manager {person.manager!r} is not a person"
            )
    for n, project in enumerate(org.projects):
        for member in project.members:
            if member not in known:
                raise InputError(
                    f"{origin}: projects[{n}] ({project.id}): member {member!r} is not a person"
                )


def _from_csv(path: Path, text: str) -> Organization:
    reader = csv.DictReader(io.StringIO(text))
    columns = {c.strip().lower() for c in reader.fieldnames or []}
    missing = {"id", "name"} - columns
    if missing:
        raise InputError(
            f"{path}: CSV org file lacks column {sorted(missing)[0]!r}; "
            "expected id, name, title, emails, manager, groups, projects"
        )
    org = Organization()
    memberships: dict[str, list[str]] = {}
    groups: dict[str, None] = {}
    for line, row in enumerate(reader, start=2):
        record = {(k or "").strip().lower(): (v or "") for k, v in row.items()}
        person = _person(record, f"{path}: line {line}")
        org.people.append(person)
        groups.update(dict.fromkeys(person.groups))
        for project in _list(record, "projects", f"{path}: line {line}"):
            memberships.setdefault(project, []).append(person.id)
    org.groups = [Group(id=g, name=g) for g in groups]
    org.projects = [Project(id=p, name=p, members=tuple(m)) for p, m in memberships.items()]
    _check(org, str(path))
    return org


def load_org(store: Store, org: Organization) -> dict[str, int]:
    """Write an organization into the store; return how many of each record."""
    for group in org.groups:
        store.upsert_group(group)
    for person in org.people:
        store.upsert_person(person)
    for project in org.projects:
        store.upsert_project(project)
    return {"people": len(org.people), "groups": len(org.groups), "projects": len(org.projects)}
