"""The org file of the demo company, in the TOML shape ``understudy.directory`` reads."""

from __future__ import annotations

import json

from understudy.demo.company import Company

__all__ = ["org_toml"]


def _string(value: str) -> str:
    # A JSON string is a valid TOML basic string.
    return json.dumps(value, ensure_ascii=False)


def _strings(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(_string(v) for v in values) + "]"


def org_toml(company: Company) -> str:
    """Return the org file: the organization, its people, groups and projects (no outsiders)."""
    lines = [
        "[organization]",
        f"name = {_string(company.name)}",
        f"domain = {_string(company.domain)}",
    ]
    for person in company.people:
        lines += [
            "",
            "[[people]]",
            f"id = {_string(person.id)}",
            f"name = {_string(person.name)}",
            f"title = {_string(person.title)}",
            f"emails = {_strings((person.email,))}",
            f"handles = {_strings((person.handle,))}",
            f"manager = {_string(person.manager or '')}",
            f"groups = {_strings(person.groups)}",
        ]
    for team in company.teams:
        lines += ["", "[[groups]]", f"id = {_string(team.id)}", f"name = {_string(team.name)}"]
        if team.parents:
            lines.append(f"parents = {_strings(team.parents)}")
    for project in company.projects:
        lines += [
            "",
            "[[projects]]",
            f"id = {_string(project.id)}",
            f"name = {_string(project.name)}",
            f"members = {_strings(project.members)}",
            f"groups = {_strings(project.groups)}",
            f"description = {_string(project.description)}",
        ]
    return "\n".join(lines) + "\n"
