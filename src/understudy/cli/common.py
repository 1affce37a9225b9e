"""What every command shares: settings, the store, consoles, JSON and progress bars."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from understudy.settings import Settings
from understudy.store import Store, open_store

__all__ = [
    "Bar",
    "console",
    "err",
    "open_configured_store",
    "print_citations",
    "print_json",
    "progress_bar",
]

console = Console()
err = Console(stderr=True)


def print_citations(citations: list[dict[str, Any]], indent: str = "  ") -> None:
    """Print an answer's numbered citations, one per line: [n] title (kind #item)."""
    for c in citations:
        console.print(
            f"{indent}[{c['n']}] {c['title']} [dim]({c['kind']} #{c['item']})[/dim]",
            highlight=False,
        )


def open_configured_store() -> Store:
    """Open the store the effective settings point at."""
    return open_store(Settings.load())


def print_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout, for scripts."""
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


class _Rate(TextColumn):
    """Items per second, the figure people watch on long work."""

    def __init__(self) -> None:
        super().__init__("")

    def render(self, task: Any) -> Any:
        speed = task.finished_speed or task.speed
        return self.text_format if speed is None else f"{speed:,.0f}/s"


class Bar:
    """A progress bar's handle: call it to advance; ``update`` to set it outright."""

    def __init__(self, progress: Progress | None, task: Any = None) -> None:
        self._progress = progress
        self._task = task

    def __call__(self, n: int, new_total: int | None = None) -> None:
        if self._progress is None:
            return
        if new_total is not None and self._progress.tasks[0].total != new_total:
            self._progress.update(self._task, total=new_total)
        self._progress.advance(self._task, n)

    def update(self, completed: float, description: str | None = None) -> None:
        """Set how much is done, and optionally what is being done."""
        if self._progress is None:
            return
        if description is None:
            self._progress.update(self._task, completed=completed)
        else:
            self._progress.update(self._task, completed=completed, description=description)


@contextmanager
def progress_bar(description: str, total: int | None = None, quiet: bool = False) -> Iterator[Bar]:
    """Show a progress bar with rate and ETA on stderr; yield its handle."""
    if quiet:
        yield Bar(None)
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        _Rate(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=False) as progress:
        task = progress.add_task(description, total=total)
        yield Bar(progress, task)
        if progress.tasks[0].total is None:
            progress.update(task, total=progress.tasks[0].completed)
