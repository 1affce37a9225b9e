"""Commands that read sources into the store: ingest, sync, sources, stats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from understudy.brain import chunk_pending
from understudy.cli.common import console, err, open_configured_store, print_json, progress_bar
from understudy.errors import InputError
from understudy.records import Principal, Source
from understudy.sources.pipeline import SyncReport, add_source, sync
from understudy.sources.registry import connector_kinds
from understudy.store import ItemFilter, Store
from understudy.store.sources import redact_url

__all__ = ["register", "sync_with_progress"]

JSON_OPTION = typer.Option(False, "--json", help="Print JSON for scripts.")
_URL_KINDS = ("imap", "caldav", "sql")


def _location(kind: str, location: str) -> str:
    if "://" in location or (kind in _URL_KINDS and not Path(location).exists()):
        return location
    return str(Path(location).expanduser().resolve())


def sync_with_progress(store: Store, source: Source, quiet: bool = False) -> SyncReport:
    """Sync one source with a progress bar, then chunk what it added."""
    with progress_bar(f"{source.kind} {Path(source.location).name}", quiet=quiet) as advance:
        report = sync(store, source, progress=advance)
    if report.added:
        with progress_bar("chunking", total=report.added, quiet=quiet) as advance:
            chunk_pending(store, progress=lambda n: advance(n, None))
    return report


def _print_report(report: SyncReport) -> None:
    console.print(
        f"[bold]{report.source}[/bold]: {report.seen} read, {report.added} added, "
        f"{report.unchanged} unchanged, {report.superseded} updated, "
        f"{report.decisions} decisions, {report.problems} problems "
        f"in {report.seconds:.1f}s",
        soft_wrap=True,
    )
    for sample in report.problem_samples:
        err.print(f"  [yellow]problem:[/yellow] {sample}", highlight=False, soft_wrap=True)
    if report.problems > len(report.problem_samples):
        err.print("  (run 'understudy sources' to see the latest problems)")
    if report.error:
        err.print(f"  [red]stopped:[/red] {report.error}", highlight=False, soft_wrap=True)


def _options(pairs: list[str]) -> dict[str, object]:
    options: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--option {pair!r}: write it as KEY=VALUE")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value
    return options


def ingest(
    kind: str = typer.Argument(..., help=f"Kind of source: {', '.join(connector_kinds())}."),
    location: str = typer.Argument(..., help="Path or URL of the source."),
    owner: str = typer.Option(None, "--owner", help="Person whose source this is (id or email)."),
    project: str = typer.Option(None, "--project", help="Project the source belongs to."),
    readers: str = typer.Option(
        "", "--readers", help="Comma-separated people or groups who may read every item."
    ),
    name: str = typer.Option("", "--name", help="A name for the source (default: derived)."),
    option: list[str] = typer.Option(
        [], "--option", help="Connector option KEY=VALUE (repeatable), e.g. window_days_back=90."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Add a source and sync it."""
    options = _options(option)
    location = _location(kind, location)
    if owner is None and kind == "maildir":
        from understudy.sources.maildir import infer_owner_email

        # A mailbox's sent folders say whose it is (the Enron layout has no other clue).
        owner = infer_owner_email(location)
    store = open_configured_store()
    source = add_source(
        store,
        kind,
        location,
        owner=owner,
        project=project,
        readers=[r.strip() for r in readers.split(",") if r.strip()],
        name=name,
        options=options,
    )
    report = sync_with_progress(store, source, quiet=as_json)
    if as_json:
        print_json(report.as_dict())
    else:
        _print_report(report)


def sync_command(
    source: str = typer.Argument(None, help="Source id or name; all sources when omitted."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Re-sync sources incrementally, each from its saved cursor."""
    store = open_configured_store()
    chosen = [store.get_source(source)] if source else store.list_sources()
    reports = [sync_with_progress(store, s, quiet=as_json) for s in chosen]
    if as_json:
        print_json([r.as_dict() for r in reports])
        return
    for report in reports:
        _print_report(report)
    if not chosen:
        console.print("No sources yet; add one with 'understudy ingest KIND LOCATION'.")


def sources(as_json: bool = JSON_OPTION) -> None:
    """List sources with item counts, last sync and last errors."""
    store = open_configured_store()
    rows: list[dict[str, Any]] = []
    for s in store.list_sources():
        counts = store.count_items(Principal.maintenance(), ItemFilter(source_id=s.id))
        errors = store.source_errors(s.id or 0, limit=3)
        rows.append(
            {
                "id": s.id,
                "name": s.name,
                "kind": s.kind,
                "location": redact_url(s.location),
                "owner": s.owner,
                "project": s.project,
                "items": sum(counts.values()),
                "last_sync": s.last_sync.isoformat() if s.last_sync else None,
                "last_error": s.last_error,
                "recent_errors": [f"{e.location}: {e.reason}" for e in errors],
            }
        )
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{len(rows)} sources")
    for column in ("id", "kind", "location", "owner", "items", "last sync", "last errors"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["kind"],
            row["location"],
            row["owner"] or "",
            str(row["items"]),
            (row["last_sync"] or "never")[:19],
            "\n".join(row["recent_errors"]) or "",
        )
    console.print(table)


def stats(as_json: bool = JSON_OPTION) -> None:
    """Show how many items of each kind and decisions of each action are stored."""
    store = open_configured_store()
    data = {
        "items": store.count_items(Principal.maintenance()),
        "decisions": store.count_decisions(),
    }
    if as_json:
        print_json(data)
        return
    table = Table(title=f"Store: {store.location}")
    table.add_column("what")
    table.add_column("count", justify="right")
    for kind, n in data["items"].items():
        table.add_row(f"items: {kind}", f"{n:,}")
    for action, n in data["decisions"].items():
        table.add_row(f"decisions: {action}", f"{n:,}")
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command()(ingest)
    app.command("sync")(sync_command)
    app.command()(sources)
    app.command()(stats)
