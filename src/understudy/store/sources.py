"""Configured sources, their sync cursors and the errors their syncs met."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from understudy.errors import NotFound
from understudy.records import Source
from understudy.store.database import Database, from_json, now_utc, parse_time

__all__ = ["SourceError", "SourceTables"]


@dataclass(frozen=True, slots=True)
class SourceError:
    """One problem a sync met: where (file, message, URL) and why."""

    source_id: int
    location: str
    reason: str
    at: datetime


def _source_name(source: Source) -> str:
    if source.name:
        return source.name
    owner = f"@{source.owner}" if source.owner else ""
    return f"{source.kind}:{redact_url(source.location)}{owner}"


def redact_url(location: str) -> str:
    """Return ``location`` with any password in a URL replaced by ***."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", location)


class SourceTables:
    """Store methods for sources, cursors and sync errors."""

    db: Database

    def add_source(self, source: Source) -> Source:
        """Add a source, or return the one already registered under its name.

        Options given again for an existing source are merged into its own, so
        a second ``ingest`` can change, say, a window or a credential.
        """
        name = _source_name(source)
        with self.db.transaction():
            self.db.execute(
                """INSERT INTO sources (name, kind, location, owner, project, readers, cursor,
                options, created_at) VALUES (:name, :kind, :location, :owner, :project,
                :readers, :cursor, :options, :now) ON CONFLICT (name) DO NOTHING""",
                {
                    "name": name,
                    "kind": source.kind,
                    "location": source.location,
                    "owner": source.owner,
                    "project": source.project,
                    "readers": list(source.readers),
                    "cursor": dict(source.cursor),
                    "options": dict(source.options),
                    "now": now_utc(),
                },
            )
            existing = self.get_source(name)
            if source.options and {**existing.options, **source.options} != existing.options:
                self.db.execute(
                    "UPDATE sources SET options = :o WHERE name = :n",
                    {"o": {**existing.options, **source.options}, "n": name},
                )
        return self.get_source(name)

    def get_source(self, ref: str | int) -> Source:
        """Return a source by id or name."""
        text = str(ref)
        if text.isdigit():
            row = self.db.row("SELECT * FROM sources WHERE id = :id", {"id": int(text)})
        else:
            row = self.db.row("SELECT * FROM sources WHERE name = :n", {"n": text})
        if row is None:
            raise NotFound(f"no source {ref!r}; run 'understudy sources' to see them")
        return _source(row)

    def list_sources(self) -> list[Source]:
        """Return every source, oldest first."""
        return [_source(row) for row in self.db.rows("SELECT * FROM sources ORDER BY id")]

    def save_cursor(self, source_id: int, cursor: dict[str, Any]) -> None:
        """Record how far a source has been read."""
        self.db.execute(
            "UPDATE sources SET cursor = :c WHERE id = :id", {"c": cursor, "id": source_id}
        )

    def finish_sync(self, source_id: int, error: str | None) -> None:
        """Record the end of a sync and its last error, if any."""
        self.db.execute(
            "UPDATE sources SET last_sync = :now, last_error = :e WHERE id = :id",
            {"now": now_utc(), "e": error, "id": source_id},
        )

    def record_source_error(self, source_id: int, location: str, reason: str) -> None:
        """Record one problem met during a sync, naming where it was."""
        self.db.execute(
            """INSERT INTO source_errors (source_id, at, location, reason)
            VALUES (:s, :at, :loc, :reason)""",
            {"s": source_id, "at": now_utc(), "loc": location, "reason": reason},
        )

    def source_errors(self, source_id: int, limit: int = 20) -> list[SourceError]:
        """Return the latest errors of a source, newest first."""
        rows = self.db.rows(
            """SELECT source_id, location, reason, at FROM source_errors
            WHERE source_id = :s ORDER BY id DESC LIMIT :n""",
            {"s": source_id, "n": limit},
        )
        return [
            SourceError(
                source_id=row["source_id"],
                location=row["location"],
                reason=row["reason"],
                at=parse_time(row["at"]) or now_utc(),
            )
            for row in rows
        ]

    def clear_source_errors(self, source_id: int) -> None:
        """Forget the errors of earlier syncs before a new full sync."""
        self.db.execute("DELETE FROM source_errors WHERE source_id = :s", {"s": source_id})


def _source(row: dict[str, Any]) -> Source:
    return Source(
        kind=row["kind"],
        location=row["location"],
        owner=row["owner"],
        project=row["project"],
        readers=tuple(from_json(row["readers"]) or ()),
        name=row["name"],
        id=int(row["id"]),
        cursor=from_json(row["cursor"]) or {},
        options=from_json(row["options"]) or {},
        last_sync=parse_time(row["last_sync"]),
        last_error=row["last_error"],
    )
