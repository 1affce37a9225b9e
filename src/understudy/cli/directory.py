"""Commands about settings and the directory: config, people, projects, org."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from understudy.cli.common import console, open_configured_store, print_json
from understudy.directory import load_org, read_org_file
from understudy.records import Person
from understudy.settings import SETTINGS, Settings

__all__ = ["register"]

JSON_OPTION = typer.Option(False, "--json", help="Print JSON for scripts.")


def config(as_json: bool = JSON_OPTION) -> None:
    """Show the effective settings and where each one came from."""
    settings = Settings.load()
    rows = [
        {
            "name": s.name,
            "value": settings.shown(s.name),
            "origin": settings.origins[s.name],
            "env": s.env_var,
            "help": s.help,
        }
        for s in SETTINGS
    ]
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"Settings (config file: {settings.home / 'config.toml'})")
    for column in ("name", "value", "from", "help"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["name"], row["value"] or "[dim]—[/dim]", row["origin"], row["help"])
    console.print(table)


def _person_json(person: Person) -> dict[str, Any]:
    return {
        "id": person.id,
        "name": person.name,
        "title": person.title,
        "emails": list(person.emails),
        "handles": list(person.handles),
        "manager": person.manager,
        "groups": list(person.groups),
        "external": person.external,
    }


def people(
    as_json: bool = JSON_OPTION,
    include_external: bool = typer.Option(
        False, "--all", help="Include external correspondents found in mail."
    ),
) -> None:
    """List the people in the directory."""
    store = open_configured_store()
    found = store.list_people(include_external=include_external)
    if as_json:
        print_json([_person_json(p) for p in found])
        return
    table = Table(title=f"{len(found)} people")
    for column in ("id", "name", "title", "emails", "groups", "manager"):
        table.add_column(column, overflow="fold")
    for p in found:
        table.add_row(
            p.id, p.name, p.title, ", ".join(p.emails), ", ".join(p.groups), p.manager or ""
        )
    console.print(table)


def projects(as_json: bool = JSON_OPTION) -> None:
    """List the projects, their members and the groups that may read them."""
    store = open_configured_store()
    found = store.list_projects()
    if as_json:
        print_json(
            [
                {
                    "id": p.id,
                    "name": p.name,
                    "description": p.description,
                    "members": list(p.members),
                    "groups": list(p.groups),
                }
                for p in found
            ]
        )
        return
    table = Table(title=f"{len(found)} projects")
    for column in ("id", "name", "members", "reader groups", "description"):
        table.add_column(column, overflow="fold")
    for p in found:
        table.add_row(p.id, p.name, ", ".join(p.members), ", ".join(p.groups), p.description)
    console.print(table)


org_app = typer.Typer(
    help="Load the organization: people, groups and projects.", no_args_is_help=True
)


@org_app.command("load")
def org_load(
    path: Path = typer.Argument(..., help="Org file: .toml, .yaml or .csv."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Load people, groups and projects from an org file."""
    organization = read_org_file(path)
    counts = load_org(open_configured_store(), organization)
    if as_json:
        print_json(counts)
        return
    console.print(
        f"Loaded {counts['people']} people, {counts['groups']} groups and "
        f"{counts['projects']} projects from {path}"
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command()(config)
    app.command()(people)
    app.command()(projects)
    app.add_typer(org_app, name="org")
