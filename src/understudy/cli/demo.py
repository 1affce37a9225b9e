"""``understudy demo``: generate the sample company, load it, and show the CEO's morning."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import typer
from rich.panel import Panel
from rich.table import Table

from understudy.brain import chunk_pending, embed_pending, get_embedder
from understudy.cli.common import (
    console,
    err,
    open_configured_store,
    print_citations,
    print_json,
    progress_bar,
)
from understudy.desk import Overview, build_overview
from understudy.directory import load_org, read_org_file
from understudy.errors import InputError
from understudy.settings import Settings, ensure_home
from understudy.sources.pipeline import add_source, sync
from understudy.sources.registry import connector_kinds
from understudy.store import Store

if TYPE_CHECKING:
    from understudy.demo import DemoManifest

__all__ = ["register"]

NEXT_COMMANDS = (
    'understudy search "Atlas launch" --as maya-okafor',
    'understudy ask "What is the status of Beacon?" --as maya-okafor',
    'understudy ask "When is Priya free?" --as maya-okafor --to priya-raman',
    'understudy experts "pricing" --as maya-okafor',
    "understudy twin train --all && understudy approvals",
    "understudy audit --for emily-carter",
)


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--today {text!r}: write the date as YYYY-MM-DD") from None


def _last_weekday() -> date:
    """Return today, or the Friday before it at a weekend: a demo morning is a working one."""
    day = date.today()
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def _manifest(
    root: Path, seed: int, today: date | None, regenerate: bool, quiet: bool
) -> DemoManifest:
    from understudy.demo import DemoManifest, generate_demo

    path = root / "manifest.json"
    if path.is_file() and not regenerate:
        existing = DemoManifest.from_json(path.read_text(encoding="utf-8"))
        if existing.seed == seed and (today is None or existing.today == today):
            # Rewriting the same files is idempotent, but keeping them is faster.
            return existing
        today = today or existing.today
    stages = ("story", "mail", "calendar", "chat", "documents", "tasks", "figures", "manifest")
    with progress_bar("generating company", total=len(stages), quiet=quiet) as bar:

        def show(stage: str, done: int, total: int) -> None:
            step = stages.index(stage) if stage in stages else 0
            bar.update(step + done / max(total, 1), f"generating company: {stage}")

        manifest = generate_demo(root, seed=seed, today=today or _last_weekday(), progress=show)
        bar.update(len(stages), "generating company")
        return manifest


def _load(store: Store, root: Path, manifest: DemoManifest, quiet: bool) -> list[dict[str, Any]]:
    load_org(store, read_org_file(root / "org.toml"))
    available = set(connector_kinds())
    entries = [entry for entry in manifest.sources if entry.kind in available]
    reports: list[dict[str, Any]] = []
    with progress_bar("loading sources", total=len(entries), quiet=quiet) as advance:
        for entry in entries:
            source = add_source(
                store,
                entry.kind,
                str((root / entry.location).resolve()),
                owner=entry.owner,
                project=entry.project,
                readers=entry.readers,
                options={"now": f"{manifest.today.isoformat()}T08:00:00", **entry.options},
            )
            reports.append(sync(store, source).as_dict())
            advance(1, None)
    added = sum(int(r["added"]) for r in reports)
    if added:
        with progress_bar("chunking", total=added, quiet=quiet) as advance:
            chunk_pending(store, progress=lambda n: advance(n, None))
    _embed(store, quiet)
    return reports


def _embed(store: Store, quiet: bool) -> None:
    embedder = get_embedder(Settings.load())
    missing = store.count_missing_embeddings(embedder.name)
    if missing:
        with progress_bar(f"embedding ({embedder.name})", total=missing, quiet=quiet) as bar:
            embed_pending(store, embedder, progress=lambda n: bar(n))


def _show(overview: Overview, manifest: DemoManifest, name: str, names: dict[str, str]) -> None:
    day = overview.now.astimezone(ZoneInfo(manifest.timezone))
    console.print(Panel(f"Good morning, {name} — {day:%A %d %B %Y}", style="bold"))
    waiting = Table(title="Waiting on you", title_justify="left", expand=True)
    for column in ("from", "subject", "received", "why"):
        waiting.add_column(column, overflow="fold")
    for entry in overview.waiting[:8]:
        received = entry.item.timestamp.astimezone(day.tzinfo)
        waiting.add_row(
            names.get(entry.item.author or "", entry.item.author or ""),
            entry.item.title,
            f"{received:%a %d %b %H:%M}",
            "; ".join(entry.reasons),
        )
    console.print(waiting)
    meetings = Table(title="Today's meetings", title_justify="left", expand=True)
    for column in ("time", "meeting", "your answer"):
        meetings.add_column(column)
    for meeting in overview.meetings:
        meetings.add_row(
            f"{meeting.start.astimezone(day.tzinfo):%H:%M}", meeting.item.title, meeting.response
        )
    console.print(meetings)
    projects = Table(title="Projects this week", title_justify="left", expand=True)
    for column in ("project", "what changed"):
        projects.add_column(column, overflow="fold")
    for change in overview.projects:
        projects.add_row(change.name, _project_line(change))
    console.print(projects)


ORG_QUESTION = "Why is the Atlas launch slipping?"
HR_QUESTION = "What is in the compensation review?"


def _understudies(store: Store, manifest: DemoManifest, now: datetime) -> dict[str, Any]:
    """Ask the organization as the CEO, and ask an HR colleague's understudy for HR files."""
    from understudy.agent import LocalRelay, Origin, Request, Understudy, ask_organization

    settings = Settings.load()
    ceo = Understudy(store, manifest.ceo, settings, now=now)
    merged = ask_organization(
        store, LocalRelay(store, settings), ceo.searcher, manifest.ceo, ORG_QUESTION, deadline=20
    )
    hr = [p.id for p in store.list_people() if "hr" in p.groups and "exec" not in p.groups]
    declined: dict[str, Any] = {}
    if hr:
        staff = Understudy(store, hr[0], settings, now=now, searcher=ceo.searcher)
        request = Request(
            owner=hr[0], asker=manifest.ceo, text=HR_QUESTION, origin=Origin.COLLEAGUE
        )
        declined = staff.handle(request).as_dict()
    return {"organization": merged.as_dict(), "declined": declined}


def _show_understudies(found: dict[str, Any], names: dict[str, str]) -> None:
    org = found["organization"]
    console.print(f"\n[bold]Asking the organization:[/bold] {org['question']}")
    for answer in org["answers"][:3]:
        console.print(answer["text"], highlight=False)
        print_citations(answer["citations"][:3])
    others = [names.get(p, p) for p in org["declined"] + org["nothing"]]
    if others:
        console.print(f"[dim]No answer to share from: {', '.join(others)}[/dim]")
    declined = found["declined"]
    if declined:
        console.print(f"\n[bold]Asking an HR colleague's understudy:[/bold] {HR_QUESTION}")
        console.print(declined["text"], highlight=False)


def _project_line(change: Any) -> str:
    parts = []
    if change.slipping:
        keys = ", ".join(t.external_id for t in change.slipping[:4])
        parts.append(f"[red]{len(change.slipping)} overdue tasks[/red] ({keys})")
    if change.documents:
        parts.append("new/updated: " + ", ".join(d.title for d in change.documents[:3]))
    if change.threads:
        parts.append("threads: " + "; ".join(f"{s} ({n})" for s, n in change.threads))
    if change.changed_tasks:
        parts.append(f"{len(change.changed_tasks)} task updates")
    return "\n".join(parts)


def _overview_json(overview: Overview) -> dict[str, Any]:
    return {
        "person": overview.person,
        "now": overview.now.isoformat(),
        "waiting": [
            {
                "item": w.item.id,
                "subject": w.item.title,
                "from": w.item.author,
                "received": w.item.timestamp.isoformat(),
                "score": w.score,
                "why": list(w.reasons),
            }
            for w in overview.waiting
        ],
        "meetings": [
            {
                "item": m.item.id,
                "title": m.item.title,
                "start": m.start.isoformat(),
                "response": m.response,
            }
            for m in overview.meetings
        ],
        "projects": [
            {
                "project": c.project,
                "overdue_tasks": [t.external_id for t in c.slipping],
                "documents": [d.title for d in c.documents],
                "threads": c.threads,
                "task_updates": len(c.changed_tasks),
            }
            for c in overview.projects
        ],
    }


def demo(
    seed: int = typer.Option(7, "--seed", help="Seed of the generated company."),
    today: str = typer.Option(
        None, "--today", help="The demo's today (YYYY-MM-DD); default: kept from the first run."
    ),
    regenerate: bool = typer.Option(False, "--regenerate", help="Write the files again."),
    as_json: bool = typer.Option(False, "--json", help="Print the CEO's view as JSON."),
) -> None:
    """Generate a sample company into UNDERSTUDY_HOME, load it, and show the CEO's morning."""
    started = time.perf_counter()
    settings = Settings.load()
    root = ensure_home(settings.home) / "demo"
    day = _parse_day(today) if today else None
    manifest = _manifest(root, seed, day, regenerate, quiet=as_json)
    store = open_configured_store()
    reports = _load(store, root, manifest, quiet=as_json)
    zone = ZoneInfo(manifest.timezone)
    now = datetime.combine(manifest.today, datetime.min.time()).replace(hour=8, tzinfo=zone)
    overview = build_overview(store, manifest.ceo, now, zone)
    understudies = _understudies(store, manifest, now)
    if as_json:
        print_json(
            {
                "overview": _overview_json(overview),
                "organization": understudies["organization"],
                "declined": understudies["declined"],
                "sources": reports,
                "seconds": round(time.perf_counter() - started, 2),
            }
        )
        return
    ceo = store.get_person(manifest.ceo)
    names = {p.id: p.name for p in store.list_people(include_external=True)}
    _show(overview, manifest, ceo.name.split()[0] if ceo else manifest.ceo, names)
    _show_understudies(understudies, names)
    added = sum(int(r["added"]) for r in reports)
    err.print(f"Loaded {added:,} new items in {time.perf_counter() - started:.1f}s.")
    console.print("\n[bold]Try next:[/bold]\n" + "\n".join(f"  {c}" for c in NEXT_COMMANDS))


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command()(demo)
