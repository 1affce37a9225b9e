"""The embedded store: one SQLite file with WAL, FTS5 and an exact vector index."""

from __future__ import annotations

import random
import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from understudy.errors import StoreError
from understudy.records import Principal
from understudy.store.base import SearchHit, Store
from understudy.store.database import Database, sqlite_row_factory
from understudy.store.items import BY_ID, ItemFilter
from understudy.store.permissions import reader_filter

__all__ = [
    "READER_MATCH_ABOVE",
    "READER_MATCH_SHARE",
    "READER_TOKENS_IN_MATCH",
    "SQLiteStore",
    "fts_query",
    "principal_token",
    "readers_match",
]

_WORD = re.compile(r"\w+", re.UNICODE)

# Up to this many reader tokens per person, the MATCH requires one of them
# and FTS5 intersects the posting lists; an FTS5 OR costs in proportion to
# its terms times the rows it walks, so beyond that every match is checked
# against the permission filter instead. Measured at 1M chunks, 60 queries
# (benchmarks/results/search.json, ``keyword_reader_tokens``): p50/p95 ms of
# checking every match 24/112; an OR of 8 tokens 12/29, 16 tokens 19/48,
# 32 tokens 34/78, 64 tokens 67/133.
READER_TOKENS_IN_MATCH = 32

# The reader tokens narrow the MATCH only when the principal may read less
# than this share of the chunks (estimated on a sample of ``_SAMPLE`` chunks).
# Walking the tokens' posting lists costs more than it saves when the
# principal reads much of the index: on the demo company, where the CEO reads
# about half the chunks, a keyword search took twice as long with them.
READER_MATCH_SHARE = 0.3
# Nor in a store of fewer chunks than this: there every word matches few
# chunks, and scoring the reader tokens' phrases (BM25 reads each phrase's
# whole posting list for its weight) costs more than checking each match. On
# the demo company (7,800 chunks) an understudy's answer cost 8.7 ms of CPU
# without them against 11.7 ms with, with the same answers
# (``python benchmarks/connections.py --reader-match``).
READER_MATCH_ABOVE = 50_000
_SAMPLE = 2000


# Matched words in brackets, about 16 tokens of the chunk's text around them.
_SNIPPET = "snippet(chunks_fts, 1, '[', ']', ' … ', 16)"


def fts_query(text: str) -> str:
    """Return an FTS5 query that matches any word of ``text`` (quoted, so no syntax leaks)."""
    words = dict.fromkeys(word.lower() for word in _WORD.findall(text))
    return " OR ".join(f'"{word}"' for word in words)


def principal_token(principal: str) -> str:
    """Return the keyword index's token for a principal of a reader set (see schema)."""
    return "rp" + principal.encode("utf-8").hex()


def readers_match(tokens: Sequence[str]) -> str:
    """Return the FTS5 condition that a chunk's readers hold one of ``tokens``."""
    return "readers : (" + " OR ".join(f'"{token}"' for token in tokens) + ")"


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

    def _reader_match(self, principal: Principal) -> str:
        """Return the MATCH condition on reader tokens for ``principal``, or "" for none.

        Each person contributes an OR of the tokens of their principals
        (themselves, aliases, groups, projects, everyone) and of the readable
        reader sets too large to be indexed by principal.
        """
        if principal.system:
            return ""
        scope = self._scope(principal)
        if scope is not None and "match" in scope.extras:
            return str(scope.extras["match"])
        large = self._sampled()[0] > READER_MATCH_ABOVE
        narrows = large and self._readable_share(principal) < READER_MATCH_SHARE
        match = self._resolve_reader_match(principal) if narrows else ""
        if scope is not None:
            scope.extras["match"] = match
        return match

    def _resolve_reader_match(self, principal: Principal) -> str:
        readers = reader_filter(principal)
        parts = [
            f"""SELECT {n} AS person, 'rp' || lower(hex(principal)) AS token FROM {names}
            UNION ALL SELECT {n}, 'rs' || r.id FROM reader_sets r
            WHERE r.id IN (SELECT id FROM {sets}) AND substr(r.tokens, 1, 2) = 'rs'"""
            for n, (names, sets) in enumerate(zip(readers.principals, readers.names, strict=True))
        ]
        rows = self.db.rows(readers.with_clause() + " UNION ALL ".join(parts), readers.params)
        tokens: dict[int, list[str]] = {n: [] for n in range(len(readers.names))}
        for row in rows:
            tokens[int(row["person"])].append(str(row["token"]))
        if max(len(found) for found in tokens.values()) > READER_TOKENS_IN_MATCH:
            return ""
        return " AND ".join(readers_match(found) for found in tokens.values())

    def _readable_share(self, principal: Principal) -> float:
        """Estimate the share of chunks ``principal`` may read, from a sample of chunks."""
        sample = self._chunk_sample()
        if not sample:
            return 0.0
        readable = set(self.allowed_reader_sets(principal) or ())
        return sum(readers in readable for readers in sample) / len(sample)

    def _chunk_sample(self) -> list[int]:
        """Return the reader sets of up to ``_SAMPLE`` random chunks, kept while the
        chunk ids stay within a tenth of their size then (an estimate: never a filter)."""
        return self._sampled()[1]

    def _sampled(self) -> tuple[int, list[int]]:
        """Return the highest chunk id now and the sample of ``_chunk_sample``."""
        top = int(self.db.scalar("SELECT coalesce(max(id), 0) AS n FROM chunks") or 0)
        kept: tuple[int, list[int]] | None = self.__dict__.get("_sample_kept")
        if kept is not None and abs(top - kept[0]) <= kept[0] // 10:
            return top, kept[1]
        ids = random.Random(top).sample(range(1, top + 1), min(_SAMPLE, top))
        rows = self.db.rows(
            f"SELECT readers_id FROM chunks WHERE {self.db.in_ids('id', '_ids')}",
            {"_ids": self.db.ids_value(ids)},
        )
        sample = [int(row["readers_id"]) for row in rows]
        self.__dict__["_sample_kept"] = (top, sample)
        return top, sample

    def _data_version(self) -> Any:
        return self.db.scalar("PRAGMA data_version")

    def search_text(
        self,
        principal: Principal,
        query: str,
        limit: int = 20,
        where: ItemFilter | None = None,
        snippets: bool = True,
    ) -> list[SearchHit]:
        """Return chunks ranked by BM25 (FTS5), among those ``principal`` may read.

        The MATCH requires, for each person of the principal, one of the
        reader tokens that person's principals and large reader sets carry in
        the index (``_reader_match``), so FTS5 intersects the words' matches
        with the readable chunks before any row is read or scored. A person
        with more than ``READER_TOKENS_IN_MATCH`` tokens, or a principal who
        may read ``READER_MATCH_SHARE`` of the chunks or more, makes the search
        check every match through the narrow ``chunks_id_readers`` index
        instead. The permission condition stays in the WHERE clause either
        way: the index narrows, the SQL decides. SQLite computes every selected
        column of every match before it sorts, so ``snippets=False`` spares a
        snippet per match (about a third of the query at a million chunks).
        """
        words = fts_query(query)
        if not words:
            return []
        match = f"{{title text}} : ({words})"
        readable = self._reader_match(principal)
        if readable:
            match += " AND " + readable
        readers = self._readers(principal)
        condition, params = (where or ItemFilter()).chunk_sql()
        sql = f"""{readers.with_clause()}
            SELECT c.id AS id, c.item_id AS item_id, bm25(chunks_fts, 2.0, 1.0, 0.0) AS rank,
                {_SNIPPET if snippets else "''"} AS snippet
            FROM chunks_fts JOIN chunks c INDEXED BY chunks_id_readers ON c.id = chunks_fts.rowid
            WHERE chunks_fts MATCH :_match AND {readers.condition(BY_ID + "c.readers_id")}
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

    def text_snippets(
        self, principal: Principal, query: str, chunk_ids: Sequence[int]
    ) -> dict[int, str]:
        """Return FTS5 snippets of the chunks that ``principal`` may read and ``query`` matches."""
        words = fts_query(query)
        if not words or not chunk_ids:
            return {}
        readers = self._readers(principal)
        ids = self.db.ids_value(dict.fromkeys(chunk_ids))
        sql = f"""{readers.with_clause()}
            SELECT c.id AS id, {_SNIPPET} AS snippet
            FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid
            WHERE chunks_fts MATCH :_match AND {self.db.in_ids("chunks_fts.rowid", "_ids")}
                AND {readers.condition(BY_ID + "c.readers_id")}"""
        match = f"{{title text}} : ({words})"
        rows = self.db.rows(sql, {**readers.params, "_ids": ids, "_match": match})
        return {int(row["id"]): str(row["snippet"] or "") for row in rows}
