"""Commands of the second brain: index, search, ask, experts, pulse."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from understudy.cli.common import console, err, open_configured_store, print_json, progress_bar
from understudy.errors import InputError
from understudy.records import ITEM_KINDS, Principal
from understudy.settings import Settings, ensure_home
from understudy.store import ItemFilter, Store

__all__ = ["make_searcher", "register"]

JSON_OPTION = typer.Option(False, "--json", help="Print JSON for scripts.")


def make_searcher(store: Store, settings: Settings | None = None) -> Any:
    """Return a searcher with the configured embedding model, if vectors exist for it."""
    from understudy.brain.embeddings import get_embedder
    from understudy.brain.search import Searcher

    settings = settings or Settings.load()
    embedder = get_embedder(settings)
    return Searcher(store, embedder if store.has_embeddings(embedder.name) else None)


def _filter(
    project: str | None, kind: str | None, person: str | None, days: int | None, store: Store
) -> ItemFilter:
    if kind and kind not in ITEM_KINDS:
        raise InputError(f"--kind {kind!r}: use one of {', '.join(ITEM_KINDS)}")
    return ItemFilter(
        kinds=(kind,) if kind else (),
        project=store.get_project(project).id if project else None,
        person=store.find_person(person).id if person else None,
        since=datetime.now(UTC) - timedelta(days=days) if days else None,
    )


def index(
    background: bool = typer.Option(
        False, "--background", help="Run in the background and return."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Chunk and embed everything new; resumable — stop it any time and run it again."""
    from understudy.brain import chunk_pending
    from understudy.brain.embeddings import embed_pending, get_embedder

    settings = Settings.load()
    if background:
        log = ensure_home(settings.home) / "logs"
        log.mkdir(exist_ok=True)
        with (log / "index.log").open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "understudy", "index", "--json"],
                stdout=out,
                stderr=out,
                start_new_session=True,
                env=os.environ.copy(),
            )
        console.print(f"Indexing in the background (pid {process.pid}); log: {log / 'index.log'}")
        return
    store = open_configured_store()
    with progress_bar("chunking", quiet=as_json) as bar:
        chunked = chunk_pending(store, progress=lambda n: bar(n))
    embedder = get_embedder(settings)
    total, _ = store.count_chunks()
    missing = store.count_missing_embeddings(embedder.name)
    with progress_bar(f"embedding ({embedder.name})", total=missing, quiet=as_json) as bar:
        embedded = embed_pending(store, embedder, progress=lambda n: bar(n))
    with progress_bar("preparing the vector index", quiet=as_json):
        prepared = store.prepare_vector_search(embedder.name)
    data = {
        "items_chunked": chunked,
        "texts_embedded": embedded,
        "chunks": total,
        "model": embedder.name,
        "vector_index_size": prepared,
    }
    if as_json:
        print_json(data)
    else:
        console.print(f"Chunked {chunked} items, embedded {embedded} texts with {embedder.name}.")
        if prepared:
            console.print(f"The vector index holds {prepared} vectors, saved for the next process.")


def search(
    query: str = typer.Argument(..., help="What to look for."),
    person: str = typer.Option(..., "--as", help="Search as this person (their permissions)."),
    project: str = typer.Option(None, "--project", help="Only this project."),
    kind: str = typer.Option(
        None, "--kind", help="Only this kind: email, event, message, document, task, row."
    ),
    about: str = typer.Option(
        None, "--person", help="Only items written by or sent to this person."
    ),
    days: int = typer.Option(None, "--days", help="Only the last N days."),
    limit: int = typer.Option(10, "--limit", help="How many results."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Search everything the person may read: ranked results, snippets and why each matched."""
    store = open_configured_store()
    me = store.find_person(person).id
    where = _filter(project, kind, about, days, store)
    results = make_searcher(store).search(Principal.person(me), query, limit, where)
    rows = [
        {
            "rank": n,
            "item": r.item.id,
            "kind": r.item.kind,
            "title": r.item.title,
            "project": r.item.project,
            "when": r.item.timestamp.isoformat(),
            "snippet": r.snippet,
            "why": list(r.why),
            "score": round(r.score, 5),
        }
        for n, r in enumerate(results, start=1)
    ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("Nothing you may read matches that.")
    for row in rows:
        console.print(
            f"[bold]{row['rank']}. {row['title'] or '(untitled)'}[/bold]  "
            f"[dim]{row['kind']} #{row['item']} {row['when'][:10]}[/dim]"
        )
        console.print(f"   {row['snippet']}", highlight=False)
        console.print(f"   [dim]{'; '.join(row['why'])}[/dim]")


def experts(
    topic: str = typer.Argument(..., help="The topic."),
    person: str = typer.Option(..., "--as", help="Ask as this person (their permissions)."),
    limit: int = typer.Option(5, "--limit", help="How many people."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Rank people by what they wrote or handled on a topic, within what the asker may read."""
    from understudy.brain.experts import find_experts

    store = open_configured_store()
    me = store.find_person(person).id
    found = find_experts(make_searcher(store), Principal.person(me), topic, limit)
    if as_json:
        print_json([e.as_dict() for e in found])
        return
    table = Table(title=f"Who knows about {topic!r}")
    for column in ("person", "score", "wrote", "handled"):
        table.add_column(column)
    for e in found:
        table.add_row(
            e.name, f"{e.score:.2f}", ", ".join(map(str, e.wrote)), ", ".join(map(str, e.handled))
        )
    console.print(table)


def pulse(
    project: str = typer.Argument(..., help="Project id or name."),
    person: str = typer.Option(..., "--as", help="As this person (their permissions)."),
    days: int = typer.Option(7, "--days", help="Look back this many days."),
    until: str = typer.Option(None, "--until", help="End of the window (YYYY-MM-DD); default now."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show what changed in a project: decisions, documents, slipping tasks, active threads."""
    from understudy.brain.pulse import project_pulse

    store = open_configured_store()
    me = store.find_person(person).id
    end = datetime.fromisoformat(until).replace(tzinfo=UTC) if until else datetime.now(UTC)
    found = project_pulse(store, Principal.person(me), project, end - timedelta(days=days), end)
    data = found.as_dict()
    if as_json:
        print_json(data)
        return
    console.print(f"[bold]{found.name}[/bold] — {days} days to {end:%Y-%m-%d}")
    for task in data["slipping_tasks"]:  # type: ignore[attr-defined]
        console.print(
            f"  [red]slipping[/red] {task['key']}: {task['title']} (due {task['due'][:10]})"
        )
    for doc in data["documents"]:  # type: ignore[attr-defined]
        console.print(f"  document: {doc['title']}")
    for thread in data["threads"]:  # type: ignore[attr-defined]
        console.print(f"  thread: {thread['subject']} ({thread['messages']} messages)")
    console.print(f"  {len(found.decisions)} decisions, {len(found.changed_tasks)} task updates")
    if found.quiet:
        err.print("Nothing changed that you may see.")


def learn_search(
    judgments: Path = typer.Argument(
        ...,
        help='JSON lines: {"as": PERSON, "query": TEXT, "useful": [ITEM, ...]}, items as '
        "`understudy search` numbers them.",
    ),
    replace: bool = typer.Option(
        False, "--replace", help="Forget the judged searches learned from before."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Learn how to rank searches from judged ones: a ranker, and a query adapter that
    moves queries toward what answered them. Every search then uses both.

    Each judged query runs as the person who judged it; items they may not read
    are dropped. Bad lines are skipped and named; the rest is learned from,
    together with the judged searches kept from earlier runs (a new judgment of
    the same person's same query replaces the old one) unless --replace.
    """
    from understudy.brain.rerank import (
        keep_judgments,
        kept_judgments,
        learn_ranker,
        merge_judgments,
        read_judgments,
        save_ranker,
    )

    store = open_configured_store()
    new, skipped = read_judgments(store, judgments)
    for reason in skipped:
        err.print(f"skipped {reason}", highlight=False, markup=False, soft_wrap=True)
    if not new:
        raise InputError(f"{judgments}: no judged search to learn from")
    kept = [] if replace else kept_judgments(store)
    judged = merge_judgments(kept, new)
    with progress_bar("searching the judged queries", len(judged), as_json) as advance:
        try:
            ranker = learn_ranker(make_searcher(store), judged, advance)
        except ValueError as exc:
            raise InputError(f"{judgments}: nothing learned ({exc})") from None
    keep_judgments(store, judged)
    summary = {
        "trained_on": len(judged),
        "new": len(new),
        "kept_from_before": len(judged) - len(new),
        "skipped": len(skipped),
        "judgments": str(judgments),
        "model": ranker.model,
        "adapter": ranker.adapter is not None,
    }
    _show_learned({**summary, "version": save_ranker(store, ranker, summary)}, skipped, as_json)


def _show_learned(summary: dict[str, Any], skipped: list[str], as_json: bool) -> None:
    if as_json:
        print_json({**summary, "skipped_lines": skipped})
        return
    adapted = "with a query adapter" if summary["adapter"] else "without vectors"
    console.print(
        f"Learned search ranking v{summary['version']} from {summary['trained_on']} judged "
        f"searches ({summary['new']} new; {adapted}); {summary['skipped']} lines skipped."
    )


def register(app: typer.Typer) -> None:
    """Add the brain commands to ``app``."""
    for command in (index, search, experts, pulse):
        app.command()(command)
    app.command("learn-search")(learn_search)
