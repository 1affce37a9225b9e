"""The store interface: one class of shared SQL, two dialects underneath.

Everything a part of Understudy persists goes through a ``Store``. The SQL
that both backends share lives in the table mixins; a backend adds its
connection, its full-text search and its vector storage.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from understudy.records import Principal
from understudy.store.database import Database
from understudy.store.directory import DirectoryTables
from understudy.store.history import HistoryTables
from understudy.store.items import ItemFilter, ItemTables
from understudy.store.models import ModelTables
from understudy.store.schema import applied_migrations, apply_migrations
from understudy.store.sources import SourceTables
from understudy.store.vectors import IndexOptions, LiveIndex, VectorHit, VectorIndex

__all__ = ["THREADED_SEARCH_ABOVE", "SearchHit", "Store"]

# Vectors above which a hybrid search runs its vector half on a thread beside the
# keyword half (``vector_search_job``); below it the thread costs more than it saves.
THREADED_SEARCH_ABOVE = 100_000


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One ranked chunk: its item, its score and a snippet showing why it matched."""

    chunk_id: int
    item_id: int
    score: float
    snippet: str = ""


class Store(DirectoryTables, SourceTables, ItemTables, HistoryTables, ModelTables, ABC):
    """Persistence for every part; every read of content runs as a principal."""

    dialect: ClassVar[str]

    def __init__(self, db: Database) -> None:
        self.db = db
        self._reader_sets: dict[str, int] = {}
        self._writes = 0
        self._vectors: dict[str, LiveIndex] = {}
        self.vector_options: IndexOptions | None = None
        apply_migrations(db)

    @property
    def location(self) -> str:
        """Return where the store lives (a file path or a URL without password)."""
        return self.db.location

    def migrations(self) -> list[str]:
        """Return the names of the applied migrations."""
        return applied_migrations(self.db)

    def close(self) -> None:
        """Save the vector indexes' unsaved changes, then close the connection."""
        for live in self._vectors.values():
            live.close()
        self.db.close()

    @abstractmethod
    def search_text(
        self,
        principal: Principal,
        query: str,
        limit: int = 20,
        where: ItemFilter | None = None,
        snippets: bool = True,
    ) -> list[SearchHit]:
        """Return chunks ranked by keyword relevance, among those ``principal`` may read.

        ``snippets=False`` lets the store leave hits' snippets empty; a search
        then asks ``text_snippets`` for the few chunks it shows.
        """

    @abstractmethod
    def text_snippets(
        self, principal: Principal, query: str, chunk_ids: Sequence[int]
    ) -> dict[int, str]:
        """Return the keyword snippet of each of ``chunk_ids`` that ``principal`` may read
        and ``query`` matches, matched words in brackets."""

    @abstractmethod
    def _data_version(self) -> Any:
        """Return a token that changes whenever another process commits."""

    def put_embeddings(
        self, model: str, vectors: Sequence[tuple[str, NDArray[np.float32]]]
    ) -> None:
        """Cache vectors by (model, text hash); chunks with that text share them."""
        rows = [
            {"m": model, "h": digest, "v": np.asarray(vec, dtype=np.float32).tobytes()}
            for digest, vec in vectors
        ]
        self._writes += 1
        with self.db.transaction():
            self.db.executemany(
                """INSERT INTO embeddings (model, text_hash, vector) VALUES (:m, :h, :v)
                ON CONFLICT (model, text_hash) DO NOTHING""",
                rows,
            )
            self._after_embeddings(model, [digest for digest, _ in vectors])

    def _after_embeddings(self, model: str, digests: Sequence[str]) -> None:
        """Let a backend index new embeddings natively (pgvector)."""

    def chunks_missing_embeddings(self, model: str, limit: int = 512) -> list[tuple[str, str]]:
        """Return (text hash, text) of chunk texts with no vector for ``model`` yet."""
        rows = self.db.rows(
            """SELECT c.text_hash AS h, min(c.text) AS t FROM chunks c
            WHERE NOT EXISTS (SELECT 1 FROM embeddings e
                WHERE e.model = :m AND e.text_hash = c.text_hash)
            GROUP BY c.text_hash LIMIT :n""",
            {"m": model, "n": limit},
        )
        return [(row["h"], row["t"]) for row in rows]

    def has_embeddings(self, model: str) -> bool:
        """Return whether any text has a vector for ``model`` (cheap, unlike counting)."""
        found = self.db.row(
            "SELECT 1 AS one FROM embeddings WHERE model = :m LIMIT 1", {"m": model}
        )
        return found is not None

    def count_missing_embeddings(self, model: str) -> int:
        """Return how many distinct chunk texts still need a vector for ``model``."""
        return int(
            self.db.scalar(
                """SELECT count(DISTINCT c.text_hash) AS n FROM chunks c
                WHERE NOT EXISTS (SELECT 1 FROM embeddings e
                    WHERE e.model = :m AND e.text_hash = c.text_hash)""",
                {"m": model},
            )
        )

    def count_chunks(self) -> tuple[int, dict[str, int]]:
        """Return the number of chunks and, per model, how many have vectors."""
        total = int(self.db.scalar("SELECT count(*) AS n FROM chunks"))
        rows = self.db.rows(
            """SELECT e.model AS model, count(*) AS n FROM chunks c
            JOIN embeddings e ON e.text_hash = c.text_hash GROUP BY e.model"""
        )
        return total, {row["model"]: int(row["n"]) for row in rows}

    def search_vectors(
        self,
        principal: Principal,
        model: str,
        vector: NDArray[np.float32],
        limit: int = 20,
        where: ItemFilter | None = None,
    ) -> list[SearchHit]:
        """Return chunks nearest to ``vector``, among those ``principal`` may read.

        The index ranks only rows of allowed reader sets (and of chunks that
        match ``where``), so the filter never costs recall.
        """
        return self.vector_hits(self._vector_job(principal, model, limit, where)(vector))

    def vector_search_job(
        self, principal: Principal, model: str, limit: int = 20, where: ItemFilter | None = None
    ) -> Callable[[NDArray[np.float32]], list[VectorHit]] | None:
        """Read now what a vector search in the in-process index needs; return the search.

        The returned search reads no table, so it may run on another thread
        while this connection runs another query (hybrid search runs the
        keyword half meanwhile); ``vector_hits`` then maps its chunks to
        items. Returns None when the index is small (a thread would cost more
        than it saves) or the backend searches in the database (pgvector): use
        ``search_vectors`` then.
        """
        if not self.searches_in_process(model):
            return None
        return self._threaded_job(principal, model, limit, where)

    def _threaded_job(
        self, principal: Principal, model: str, limit: int, where: ItemFilter | None
    ) -> Callable[[NDArray[np.float32]], list[VectorHit]] | None:
        """Return the in-process index's search job, or None where the index is small."""
        index = self._live_index(model).current(self._writes)
        if index is None or len(index) < THREADED_SEARCH_ABOVE:
            return None
        return self._vector_job(principal, model, limit, where)

    def _vector_job(
        self, principal: Principal, model: str, limit: int, where: ItemFilter | None
    ) -> Callable[[NDArray[np.float32]], list[VectorHit]]:
        """Read the reader sets, the filter's chunks and the index caught up; return the
        search over them, which reads no table."""
        groups = self.allowed_reader_sets(principal)
        ids = self._filtered_chunk_ids(where) if where is not None and not where.empty else None
        live = self._live_index(model)
        index = live.current(self._writes)

        def run(vector: NDArray[np.float32]) -> list[VectorHit]:
            with live.lock:  # no catch-up adds under a search
                return [] if index is None else index.search(vector, limit, groups, ids)

        return run

    def searches_in_process(self, model: str) -> bool:
        """Return whether vector searches of ``model`` use the in-process index."""
        return True

    def prepare_vector_search(self, model: str) -> int:
        """Build (or catch up) and save the in-process index of ``model`` where it serves.

        A new process then loads it instead of building it on its first
        search (minutes at a million vectors). Returns its size, 0 where no
        in-process index serves.
        """
        if not self.searches_in_process(model):
            return 0
        return self._save_live_index(model)

    def _save_live_index(self, model: str) -> int:
        """Catch the in-process index of ``model`` up, save it; return its size."""
        live = self._live_index(model)
        index = live.current(self._writes)
        live.close()  # saves what is unsaved
        return len(index) if index is not None else 0

    def refresh_text_statistics(self, added: int) -> None:
        """Bring the statistics keyword ranking reads up to date after ``added`` new chunks.

        SQLite's FTS5 keeps its own (BM25 reads them at each query): nothing to do.
        """

    def vector_hits(self, hits: Sequence[VectorHit]) -> list[SearchHit]:
        """Return the hits of the in-process index with their items (gone chunks dropped)."""
        chunk_items = self._chunk_items([chunk_id for chunk_id, _ in hits])
        return [
            SearchHit(chunk_id=c, item_id=chunk_items[c], score=s)
            for c, s in hits
            if c in chunk_items
        ]

    def _chunk_items(self, chunk_ids: Sequence[int]) -> dict[int, int]:
        if not chunk_ids:
            return {}
        rows = self.db.rows(
            f"SELECT id, item_id FROM chunks WHERE {self.db.in_ids('id', '_ids')}",
            {"_ids": self.db.ids_value(chunk_ids)},
        )
        return {int(row["id"]): int(row["item_id"]) for row in rows}

    def _filtered_chunk_ids(self, where: ItemFilter) -> list[int]:
        condition, params = where.chunk_sql()
        rows = self.db.rows(f"SELECT id FROM chunks c WHERE {condition}", params)
        return [int(row["id"]) for row in rows]

    def _vector_index(self, model: str) -> VectorIndex | None:
        """Return the in-process index of ``model``'s vectors, caught up with the tables."""
        return self._live_index(model).current(self._writes)

    def _index_options(self) -> IndexOptions:
        """Return how in-process vector indexes are kept (the ``vector_index`` setting)."""
        if self.vector_options is None:
            from understudy.settings import Settings

            self.vector_options = IndexOptions(Settings.load().text("vector_index"))
        return self.vector_options

    def _live_index(self, model: str) -> LiveIndex:
        live = self._vectors.get(model)
        if live is None:
            live = LiveIndex(self.db, model, self._vector_directory(), self._index_options())
            self._vectors[model] = live
        return live

    def _vector_directory(self) -> Path | None:
        """Return where in-process indexes are saved: ``index/`` beside the SQLite file."""
        if self.db.dialect == "sqlite":
            location = Path(self.db.location)
            if self.db.location in ("", ":memory:") or not location.parent.is_dir():
                return None
            return location.parent / "index" / location.stem
        from understudy.settings import Settings

        key = hashlib.blake2b(self.db.location.encode(), digest_size=6).hexdigest()
        return Settings.load().home / "index" / f"postgres-{key}"
