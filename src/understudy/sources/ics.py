"""The ``ics`` connector: events from an iCalendar file or a folder of them.

The cursor keeps, per file, its modification time and size, so a file is
read again only when it changed; the expansion window is kept beside them,
and a window that moved (a new day) reads every file again so recurring
events gain their new occurrences. Content hashes keep re-reading idempotent.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from understudy.records import Decision
from understudy.sources.base import Checkpoint, Connector, Problem, Reading
from understudy.sources.calendar import (
    calendar_window,
    decode_calendar,
    observed_decisions,
    read_calendar,
)

__all__ = ["IcsConnector"]


class IcsConnector(Connector):
    """Read events (with attendees and their answers) from .ics files."""

    kind: ClassVar[str] = "ics"
    item_kinds: ClassVar[tuple[str, ...]] = ("event",)
    description: ClassVar[str] = "iCalendar (.ics) files: events, attendees and their answers"
    location_help: ClassVar[str] = "a .ics file or a folder of them"
    checkpoint_every: ClassVar[int] = 100

    def read(self, cursor: dict[str, Any]) -> Iterator[Reading]:
        """Yield the occurrences of every event in files that changed since ``cursor``."""
        root = Path(self.source.location).expanduser()
        if not root.exists():
            yield _missing(root)
            return
        window = calendar_window(self.source.options)
        seen = dict(cursor.get("files", {})) if cursor.get("window") == window.key else {}
        present: dict[str, list[int]] = {}
        read_count = 0
        for path in self._files(root):
            key = _key(root, path)
            try:
                stat = path.stat()
                signature = [stat.st_mtime_ns, stat.st_size]
                if seen.get(key) == signature:
                    present[key] = signature
                    continue
                data = path.read_bytes()
            except OSError as exc:
                yield _unreadable(path, exc)
                continue
            text, problem = decode_calendar(data, str(path))
            if problem is not None:
                yield problem
            folder = path.stem if root.is_dir() else None
            yield from read_calendar(
                text, str(path), window, self.source.options, default_folder=folder
            )
            present[key] = signature
            read_count += 1
            if read_count % self.checkpoint_every == 0:
                yield Checkpoint({"window": window.key, "files": {**seen, **present}})
        # Forget files that are gone, so one put back is read again.
        yield Checkpoint({"window": window.key, "files": present})

    def estimate(self, cursor: dict[str, Any]) -> int | None:
        """Return the number of events in files that changed since ``cursor``."""
        root = Path(self.source.location).expanduser()
        if not root.exists():
            return None
        window = calendar_window(self.source.options)
        seen = cursor.get("files", {}) if cursor.get("window") == window.key else {}
        total = 0
        for path in self._files(root):
            try:
                stat = path.stat()
                if seen.get(_key(root, path)) == [stat.st_mtime_ns, stat.st_size]:
                    continue
                total += path.read_bytes().upper().count(b"BEGIN:VEVENT")
            except OSError:
                continue
        return total

    def observe(self, items: Sequence[Any]) -> list[Decision]:
        """Return the owner's accept / decline / tentative answers to invitations."""
        return observed_decisions(self.source.owner, self.context.owner_emails, items)

    def _files(self, root: Path) -> list[Path]:
        if root.is_file():
            return [root]
        return sorted(
            path
            for path in root.rglob("*")
            if path.suffix.lower() == ".ics"
            and path.is_file()
            and not any(part.startswith(".") for part in path.relative_to(root).parts)
        )


def _key(root: Path, path: Path) -> str:
    return path.name if root.is_file() else path.relative_to(root).as_posix()


def _missing(root: Path) -> Problem:
    reason = "no such file or folder; give a .ics file or a folder of .ics files"
    return Problem(str(root), reason)


def _unreadable(path: Path, exc: OSError) -> Problem:
    reason = f"cannot read the file ({exc.strerror or exc}); check its permissions"
    return Problem(str(path), reason)
