"""Learned models kept in the store, so any API process can load a person's twin."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from understudy.store.database import Database, from_json, now_utc, parse_time

__all__ = ["ModelTables", "StoredModel"]


@dataclass(frozen=True, slots=True)
class StoredModel:
    """A serialized model of one kind for one person, with a summary of how it measured."""

    person: str
    kind: str
    version: int
    trained_at: datetime
    blob: bytes
    summary: dict[str, Any]


class ModelTables:
    """Store methods for learned models."""

    db: Database

    def put_model(self, person: str, kind: str, blob: bytes, summary: dict[str, Any]) -> int:
        """Save a new version of a person's model; return its version number."""
        with self.db.transaction():
            current = self.db.scalar(
                "SELECT version FROM models WHERE person_id = :p AND kind = :k",
                {"p": person, "k": kind},
            )
            version = int(current or 0) + 1
            self.db.execute(
                """INSERT INTO models (person_id, kind, version, trained_at, blob, summary)
                VALUES (:p, :k, :v, :at, :blob, :summary)
                ON CONFLICT (person_id, kind) DO UPDATE SET version = excluded.version,
                trained_at = excluded.trained_at, blob = excluded.blob,
                summary = excluded.summary""",
                {
                    "p": person,
                    "k": kind,
                    "v": version,
                    "at": now_utc(),
                    "blob": blob,
                    "summary": summary,
                },
            )
        return version

    def get_model(self, person: str, kind: str) -> StoredModel | None:
        """Return a person's model of a kind, or None if none was trained."""
        row = self.db.row(
            "SELECT * FROM models WHERE person_id = :p AND kind = :k", {"p": person, "k": kind}
        )
        if row is None:
            return None
        return StoredModel(
            person=row["person_id"],
            kind=row["kind"],
            version=int(row["version"]),
            trained_at=parse_time(row["trained_at"]) or now_utc(),
            blob=bytes(row["blob"]),
            summary=from_json(row["summary"]) or {},
        )

    def get_policy(self, owner: str) -> dict[str, Any] | None:
        """Return an owner's stored agent policy, or None for the defaults."""
        row = self.db.row("SELECT data FROM policies WHERE owner = :o", {"o": owner})
        return None if row is None else dict(from_json(row["data"]) or {})

    def put_policy(self, owner: str, data: dict[str, Any]) -> None:
        """Save an owner's agent policy."""
        self.db.execute(
            """INSERT INTO policies (owner, data, updated_at) VALUES (:o, :d, :at)
            ON CONFLICT (owner) DO UPDATE SET data = excluded.data,
            updated_at = excluded.updated_at""",
            {"o": owner, "d": data, "at": now_utc()},
        )

    def secret(self, name: str, make: Callable[[], str]) -> str:
        """Return a named secret, creating it once with ``make`` (shared by all processes)."""
        found = self.db.scalar("SELECT value FROM secrets WHERE name = :n", {"n": name})
        if found:
            return str(found)
        self.db.execute(
            """INSERT INTO secrets (name, value, created_at) VALUES (:n, :v, :at)
            ON CONFLICT (name) DO NOTHING""",
            {"n": name, "v": make(), "at": now_utc()},
        )
        return str(self.db.scalar("SELECT value FROM secrets WHERE name = :n", {"n": name}))

    def list_models(self, kind: str | None = None) -> list[tuple[str, str, int]]:
        """Return (person, kind, version) of every stored model."""
        rows = self.db.rows("SELECT person_id, kind, version FROM models ORDER BY person_id, kind")
        return [
            (r["person_id"], r["kind"], int(r["version"]))
            for r in rows
            if kind is None or r["kind"] == kind
        ]
