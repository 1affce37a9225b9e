"""The embedded store: one SQLite file with WAL, FTS5 and an exact vector index."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any, ClassVar

from understudy.errors import StoreError
from understudy.records import Principal
from understudy.store.base import SearchHit, Store
from understudy.store.database import Database, sqlite_row_factory
from understudy.store.items import ItemFilter
from understudy.store.permissions import reader_filter

__all__ = ["SQLiteStore", "fts_query"]

_WORD = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str:
    """Return an FTS5 query that matches any word of ``text`` (quoted, so no syntax leaks)."""
    words = dict.fromkeys(word.lower() for word in _WORD.findall(text))
    return " OR ".join(f'"{word}"' for word in words)


class SQLiteStore(Store):
    """The default store: a single file under UNDERSTUDY_HOME."""

    dialect: ClassVar[str] = "sqlite"

    @classmethod
    def open(cls, path: Path) -> SQLiteStore:
        """Open (creating if needed) the store file at ``path``."""
        try:
            connection = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            connection.row_factory = sqlite_row_factory
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("PRAGMA busy_timeout = 30000")
            connection.execute("PRAGMA cache_size = -65536")
        except sqlite3.Error as exc:
            raise StoreError(
                f"{path}: cannot open the SQLite store ({exc}); check that the file is a "
                "SQLite database and that UNDERSTUDY_HOME is writable"
            ) from None
        return cls(Database(connection, "sqlite", str(path)))

    def _data_version(self) -> Any:
        return self.db.scalar("PRAGMA data_version")

    def search_text(
        self, principal: Principal, query: str, limit: int = 20, where: ItemFilter | None = None
    ) -> list[SearchHit]:
        """Return chunks ranked by BM25 (FTS5), among those ``principal`` may read."""
        match = fts_query(query)
        if not match:
            return []
        readers = reader_filter(principal)
        condition, params = (where or ItemFilter()).chunk_sql()
        sql = f"""{readers.with_clause()}
            SELECT c.id AS id, c.item_id AS item_id, bm25(chunks_fts, 2.0, 1.0) AS rank,
                snippet(chunks_fts, 1, '[', ']', ' … ', 16) AS snippet
            FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid
            WHERE chunks_fts MATCH :_match AND {readers.condition("c.readers_id")}
                AND {condition}
            ORDER BY rank LIMIT :_limit"""
        rows = self.db.rows(sql, {**readers.params, **params, "_match": match, "_limit": limit})
        return [
            SearchHit(
                chunk_id=int(row["id"]),
                item_id=int(row["item_id"]),
                score=-float(row["rank"]),
                snippet=row["snippet"] or "",
            )
            for row in rows
        ]
