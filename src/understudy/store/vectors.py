"""The ``VectorIndex`` contract, its exact (numpy) implementation, and the
index a store keeps in step with its tables.

Each vector carries the id of its chunk and of its chunk's reader set, so a
search keeps only the rows a principal may read *before* ranking: the
permission filter costs no recall. ``ExactIndex`` scores every allowed row;
``understudy.store.hnsw.HnswIndex`` walks a graph that skips disallowed rows
and falls back to scoring the allowed rows when they are few.

``LiveIndex`` holds one model's index for a store: it builds it from the
``chunks`` and ``embeddings`` tables, catches up incrementally as chunks and
vectors are added or chunks deleted, chooses the exact or the HNSW index by
size (the ``vector_index`` setting), and saves it under
``$UNDERSTUDY_HOME/index/`` so a new process loads it instead of rebuilding.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from understudy.errors import ConfigError
from understudy.store.database import Database

__all__ = [
    "AUTO_HNSW_ABOVE",
    "ExactIndex",
    "IndexOptions",
    "LiveIndex",
    "VectorHit",
    "VectorIndex",
    "normalize_rows",
]

VectorHit = tuple[int, float]
Ids = NDArray[np.int64]
Mask = NDArray[np.bool_]

# ``auto`` turns to HNSW above this many vectors. Measured (benchmarks/search.py,
# 384 dimensions, 2 cores): exact search costs ~4 ms at 50k vectors and grows
# linearly (15+ ms at 200k, 80+ ms at 1M), while HNSW stays near 1 ms; below
# 50k an HNSW build is not worth its seconds and its approximate results.
AUTO_HNSW_ABOVE = 50_000
CHOICES = ("auto", "exact", "hnsw")
_PAGE = 20_000
_FORMAT = 1


def normalize_rows(matrix: NDArray[np.float32]) -> NDArray[np.float32]:
    """Return ``matrix`` with every row scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    unit: NDArray[np.float32] = (matrix / norms).astype(np.float32, copy=False)
    return unit


def unit_query(query: NDArray[np.float32]) -> NDArray[np.float32]:
    """Return ``query`` as a float32 vector of length one."""
    vector = np.asarray(query, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def reader_mask(groups_of_rows: NDArray[np.int64], groups: Collection[int] | None) -> Mask:
    """Return which rows belong to an allowed reader set (None allows all)."""
    if groups is None:
        return np.ones(len(groups_of_rows), dtype=bool)
    wanted = np.fromiter(groups, dtype=np.int64, count=len(groups))
    if len(groups_of_rows) == 0 or len(wanted) == 0:
        return np.zeros(len(groups_of_rows), dtype=bool)
    top = max(int(groups_of_rows.max()), 0)
    table = np.zeros(top + 1, dtype=bool)
    table[wanted[(wanted >= 0) & (wanted <= top)]] = True
    mask: Mask = table[groups_of_rows]
    return mask


def id_mask(ids_of_rows: Ids, order: Ids, ids: Collection[int]) -> Mask:
    """Return which rows hold one of ``ids``; ``order`` sorts ``ids_of_rows``."""
    mask = np.zeros(len(ids_of_rows), dtype=bool)
    wanted = np.fromiter(ids, dtype=np.int64, count=len(ids))
    if len(wanted) == 0 or len(order) == 0:
        return mask
    sorted_ids = ids_of_rows[order]
    slots = np.minimum(np.searchsorted(sorted_ids, wanted), len(order) - 1)
    found = sorted_ids[slots] == wanted
    mask[order[slots[found]]] = True
    return mask


def top_k(scores: NDArray[np.float32], k: int) -> NDArray[np.intp]:
    """Return the positions of the ``k`` highest scores, best first (ties by position)."""
    top = min(k, len(scores))
    if top <= 0:
        return np.zeros(0, dtype=np.intp)
    best = np.argpartition(-scores, top - 1)[:top]
    ranked: NDArray[np.intp] = best[np.lexsort((best, -scores[best]))]
    return ranked


class VectorIndex(ABC):
    """Nearest neighbours by cosine similarity, restricted to allowed reader sets."""

    kind: ClassVar[str]
    dim: int

    @abstractmethod
    def add(
        self, ids: NDArray[np.int64], groups: NDArray[np.int64], vectors: NDArray[np.float32]
    ) -> None:
        """Add vectors with their chunk ids and reader-set ids."""

    @abstractmethod
    def remove(self, ids: NDArray[np.int64]) -> int:
        """Drop the vectors of these chunk ids; return how many were held."""

    @abstractmethod
    def search(
        self,
        query: NDArray[np.float32],
        k: int,
        groups: Collection[int] | None,
        ids: Collection[int] | None = None,
    ) -> list[VectorHit]:
        """Return up to ``k`` (chunk id, cosine) pairs among the allowed groups and ids."""

    @abstractmethod
    def rows(self) -> tuple[Ids, Ids, NDArray[np.float32]]:
        """Return the chunk ids, reader-set ids and unit vectors the index holds."""

    @abstractmethod
    def chunk_ids(self) -> Ids:
        """Return the chunk ids the index holds."""

    @abstractmethod
    def save(self, stem: Path) -> list[Path]:
        """Write the index to files named ``stem.*``; return their paths."""

    @classmethod
    @abstractmethod
    def load(cls, stem: Path, dim: int) -> VectorIndex:
        """Read an index written by ``save``; raise ValueError if the files disagree."""

    @abstractmethod
    def __len__(self) -> int:
        """Return how many vectors the index holds."""


class ExactIndex(VectorIndex):
    """Exact cosine search over a numpy matrix; right while the matrix is small."""

    kind: ClassVar[str] = "exact"

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._ids = np.zeros(0, dtype=np.int64)
        self._groups = np.zeros(0, dtype=np.int64)
        self._matrix = np.zeros((0, dim), dtype=np.float32)
        self._order: Ids | None = None

    def add(
        self, ids: NDArray[np.int64], groups: NDArray[np.int64], vectors: NDArray[np.float32]
    ) -> None:
        """Add vectors with their chunk ids and reader-set ids."""
        if len(ids) == 0:
            return
        self._ids = np.concatenate([self._ids, ids.astype(np.int64)])
        self._groups = np.concatenate([self._groups, groups.astype(np.int64)])
        self._matrix = np.vstack([self._matrix, normalize_rows(vectors.astype(np.float32))])
        self._order = None

    def remove(self, ids: NDArray[np.int64]) -> int:
        """Drop the vectors of these chunk ids; return how many were held."""
        gone = np.isin(self._ids, ids)
        count = int(gone.sum())
        if count:
            keep = ~gone
            self._ids, self._groups = self._ids[keep], self._groups[keep]
            self._matrix = self._matrix[keep]
            self._order = None
        return count

    def search(
        self,
        query: NDArray[np.float32],
        k: int,
        groups: Collection[int] | None,
        ids: Collection[int] | None = None,
    ) -> list[VectorHit]:
        """Return up to ``k`` (chunk id, cosine) pairs among the allowed groups and ids."""
        if len(self._ids) == 0 or k <= 0:
            return []
        mask = reader_mask(self._groups, groups)
        if ids is not None:
            if self._order is None:
                self._order = np.argsort(self._ids, kind="stable")
            mask &= id_mask(self._ids, self._order, ids)
        unit = unit_query(query)
        rows = np.arange(len(self._ids)) if mask.all() else np.flatnonzero(mask)
        matrix = self._matrix if len(rows) == len(self._ids) else self._matrix[rows]
        # einsum, not @: for one query numpy's BLAS call would start its thread
        # pool, which measured 30 times slower on a busy two-core machine.
        scores = np.einsum("ij,j->i", matrix, unit)
        best = top_k(scores, k)
        return [(int(self._ids[rows[i]]), float(scores[i])) for i in best]

    def rows(self) -> tuple[Ids, Ids, NDArray[np.float32]]:
        """Return the chunk ids, reader-set ids and unit vectors the index holds."""
        return self._ids, self._groups, self._matrix

    def chunk_ids(self) -> Ids:
        """Return the chunk ids the index holds."""
        return self._ids

    def save(self, stem: Path) -> list[Path]:
        """Write the index to ``stem.npy`` files; return their paths."""
        written = []
        for name, array in (("ids", self._ids), ("groups", self._groups), ("matrix", self._matrix)):
            path = stem.with_name(f"{stem.name}.{name}.npy")
            np.save(path, array, allow_pickle=False)
            written.append(path)
        return written

    @classmethod
    def load(cls, stem: Path, dim: int) -> ExactIndex:
        """Read an index written by ``save``; raise ValueError if the files disagree."""
        index = cls(dim)
        arrays = [
            np.load(stem.with_name(f"{stem.name}.{name}.npy"), allow_pickle=False)
            for name in ("ids", "groups", "matrix")
        ]
        ids, groups, matrix = arrays
        if matrix.shape != (len(ids), dim) or len(groups) != len(ids):
            raise ValueError(f"{stem}: the saved arrays disagree in shape")
        index._ids, index._groups = ids.astype(np.int64), groups.astype(np.int64)
        index._matrix = matrix.astype(np.float32)
        return index

    def __len__(self) -> int:
        return len(self._ids)


def _new_index(kind: str, dim: int) -> VectorIndex:
    if kind == "hnsw":
        from understudy.store.hnsw import HnswIndex

        return HnswIndex(dim)
    return ExactIndex(dim)


def _index_class(kind: str) -> type[VectorIndex]:
    if kind == "hnsw":
        from understudy.store.hnsw import HnswIndex

        return HnswIndex
    return ExactIndex


@dataclass(frozen=True, slots=True)
class IndexOptions:
    """How a store keeps its vector indexes: which kind, when to switch, when to save."""

    choice: str = "auto"
    hnsw_above: int = AUTO_HNSW_ABOVE
    save_above: int = 5_000

    def __post_init__(self) -> None:
        if self.choice not in CHOICES:
            raise ConfigError(
                f"vector_index: unknown index {self.choice!r}; choose one of "
                f"{', '.join(CHOICES)} (set UNDERSTUDY_VECTOR_INDEX or vector_index in config.toml)"
            )

    def kind_for(self, size: int, current: str | None) -> str:
        """Return the index kind to hold ``size`` vectors, given the current kind."""
        if self.choice != "auto":
            return self.choice
        if current == "hnsw" and size >= self.hnsw_above // 4:
            return "hnsw"  # hysteresis: deleting a few chunks does not flip it back
        return "hnsw" if size >= self.hnsw_above else "exact"


@dataclass(slots=True)
class _Marks:
    """How far the index has read the tables."""

    chunk: int = 0  # highest chunk id examined
    embedding: int = 0  # SQLite: highest ``embeddings`` rowid examined
    live: int = 0  # chunks with id <= ``chunk`` when last examined
    fingerprint: str = ""


@dataclass(slots=True)
class _Pending:
    """Chunk ids at or below the mark that had no vector yet when examined."""

    ids: Ids = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def add(self, ids: Ids) -> None:
        if len(ids):
            self.ids = np.union1d(self.ids, ids)

    def drop(self, ids: Ids) -> None:
        if len(ids) and len(self.ids):
            self.ids = np.setdiff1d(self.ids, ids)


def _slug(text: str) -> str:
    return re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9_-]+", "-", text)).strip("-") or "model"


class _IndexFiles:
    """One model's saved index: a manifest naming the files of the latest generation."""

    def __init__(self, directory: Path, prefix: str) -> None:
        self.directory = directory
        self.prefix = prefix
        self.manifest = directory / f"{prefix}.json"

    def read(self, fingerprint: str) -> tuple[VectorIndex, _Marks, Ids] | None:
        """Return the saved index, marks and pending ids, or None if absent or unusable."""
        try:
            meta = json.loads(self.manifest.read_text(encoding="utf-8"))
            marks = _Marks(**meta["marks"])
            if meta["format"] != _FORMAT or marks.fingerprint != fingerprint:
                return None
            stem = self.directory / meta["stem"]
            index = _index_class(str(meta["kind"])).load(stem, int(meta["dim"]))
            pending = np.load(stem.with_name(f"{stem.name}.pending.npy"), allow_pickle=False)
            if len(index) != int(meta["count"]):
                return None
        except (OSError, ValueError, KeyError, TypeError, ConfigError):
            return None  # missing, half-written or corrupt: the caller rebuilds
        return index, marks, pending.astype(np.int64)

    def write(self, index: VectorIndex, marks: _Marks, pending: Ids) -> None:
        """Save a new generation, then point the manifest at it, then drop older ones."""
        self.directory.mkdir(parents=True, exist_ok=True)
        generation = f"{time.time_ns():020d}-{os.getpid()}"
        stem = self.directory / f"{self.prefix}--{generation}"
        index.save(stem)
        np.save(stem.with_name(f"{stem.name}.pending.npy"), pending, allow_pickle=False)
        meta = {
            "format": _FORMAT,
            "kind": index.kind,
            "dim": index.dim,
            "count": len(index),
            "stem": stem.name,
            "marks": asdict(marks),
        }
        temporary = self.manifest.with_name(f"{self.manifest.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(meta, indent=1), encoding="utf-8")
        os.replace(temporary, self.manifest)
        self._drop_older(generation)

    def _drop_older(self, generation: str) -> None:
        for path in self.directory.glob(f"{self.prefix}--*"):
            older = path.name[len(self.prefix) + 2 :].split(".", 1)[0]
            if older < generation:
                path.unlink(missing_ok=True)


class LiveIndex:
    """One model's vectors in a ``VectorIndex`` kept in step with the store's tables.

    Catching up reads only what changed since the marks: chunks above the
    highest chunk id seen; vectors that arrived for chunks seen without one
    (on SQLite, ``embeddings`` rows above the highest rowid seen); and, when
    the count of chunks below the mark changed, which ones were deleted or
    committed late. It runs when the store's data version changes.
    """

    def __init__(
        self, db: Database, model: str, directory: Path | None, options: IndexOptions
    ) -> None:
        self.db = db
        self.model = model
        self.options = options
        self._files = _IndexFiles(directory, _slug(model)) if directory else None
        self._index: VectorIndex | None = None
        self._marks = _Marks()
        self._pending = _Pending()
        self._token: Any = None
        self._unsaved = 0
        self._lock = threading.RLock()

    def current(self, writes: int) -> VectorIndex | None:
        """Return the index, caught up with the tables; None while no vector exists."""
        with self._lock:
            token = (self._data_token(), writes)
            if token != self._token:
                if self._token is None:
                    self._open()
                self._catch_up()
                self._fit_kind()
                self._token = token
                self._save_if_due()
            return self._index

    @property
    def lock(self) -> threading.RLock:
        """Return the lock a search holds, so no catch-up adds under it."""
        return self._lock

    def close(self) -> None:
        """Save what was not saved yet."""
        with self._lock:
            if self._unsaved:
                self._save(force=True)

    def _data_token(self) -> Any:
        if self.db.dialect == "sqlite":
            return self.db.scalar("PRAGMA data_version")
        # Counters, not count(*): cheap at a million rows. Another process's
        # commits show within the statistics flush interval (about a second).
        row = self.db.row(
            """SELECT coalesce((SELECT max(id) FROM chunks), 0) AS top,
            pg_stat_get_tuples_deleted(CAST('chunks' AS regclass)) AS gone,
            pg_stat_get_tuples_inserted(CAST('embeddings' AS regclass)) AS vectors"""
        )
        return tuple((row or {}).values())

    def _fingerprint(self) -> str:
        born = self.db.scalar("SELECT applied_at FROM migrations WHERE name = '0001_directory'")
        return hashlib.blake2b(f"{born}|{self.model}".encode(), digest_size=8).hexdigest()

    def _open(self) -> None:
        fingerprint = self._fingerprint()
        saved = self._files.read(fingerprint) if self._files else None
        if saved is not None:
            self._index, self._marks, pending = saved
            self._pending = _Pending(pending)
            if self._marks.chunk <= self._scalar("SELECT coalesce(max(id), 0) AS n FROM chunks"):
                return
        self._reset(fingerprint)  # nothing saved, or saved for a database that was replaced

    def _reset(self, fingerprint: str) -> None:
        self._index = None
        self._marks = _Marks(fingerprint=fingerprint)
        self._pending = _Pending()
        self._unsaved = 0

    def _scalar(self, sql: str, params: dict[str, Any] | None = None) -> int:
        return int(self.db.scalar(sql, params) or 0)

    def _catch_up(self) -> None:
        top = self._scalar("SELECT coalesce(max(id), 0) AS n FROM chunks")
        if top < self._marks.chunk:
            self._reset(self._marks.fingerprint)
        self._check_below_mark()
        self._read_new_chunks(top)
        self._read_new_vectors()

    def _check_below_mark(self) -> None:
        mark = self._marks.chunk
        if mark == 0:
            return
        total = self._scalar("SELECT count(*) AS n FROM chunks")
        above = self._scalar("SELECT count(*) AS n FROM chunks WHERE id > :m", {"m": mark})
        if total - above == self._marks.live:
            return
        rows = self.db.execute("SELECT id FROM chunks WHERE id <= :m", {"m": mark}).fetchall()
        existing = np.array([row["id"] for row in rows], dtype=np.int64)
        held = self._index.chunk_ids() if self._index is not None else np.zeros(0, np.int64)
        known = np.union1d(held, self._pending.ids)
        gone = np.setdiff1d(known, existing)
        if len(gone):
            removed = self._index.remove(gone) if self._index is not None else 0
            self._pending.drop(gone)
            self._unsaved += removed + 1
        arrived = np.setdiff1d(existing, known)
        for start in range(0, len(arrived), _PAGE):
            part = ",".join(str(int(i)) for i in arrived[start : start + _PAGE])
            self._take(self.db.rows(f"{_CHUNK_ROWS} WHERE c.id IN ({part})", {"m": self.model}))
        self._marks.live = len(existing)

    def _read_new_chunks(self, top: int) -> None:
        low = self._marks.chunk
        while low < top:
            rows = self.db.rows(
                f"{_CHUNK_ROWS} WHERE c.id > :lo AND c.id <= :hi ORDER BY c.id LIMIT :n",
                {"m": self.model, "lo": low, "hi": top, "n": _PAGE * 2},
            )
            if not rows:
                break
            self._take(rows)
            self._marks.live += len(rows)
            low = int(rows[-1]["id"])
        self._marks.chunk = top

    def _read_new_vectors(self) -> None:
        if self.db.dialect == "sqlite":
            self._read_new_vectors_by_rowid()
            return
        pending = self._pending.ids
        for start in range(0, len(pending), _PAGE):
            part = ",".join(str(int(i)) for i in pending[start : start + _PAGE])
            found = self._take(
                self.db.rows(f"{_CHUNK_ROWS} WHERE c.id IN ({part})", {"m": self.model}),
                missing_pending=False,
            )
            self._pending.drop(found)

    def _read_new_vectors_by_rowid(self) -> None:
        top = self._scalar("SELECT coalesce(max(rowid), 0) AS n FROM embeddings")
        low = self._marks.embedding
        while low < top and len(self._pending.ids):
            high = min(top, low + _PAGE)
            rows = self.db.rows(
                """SELECT c.id AS id, c.readers_id AS g, e.vector AS v FROM embeddings e
                JOIN chunks c ON c.text_hash = e.text_hash
                WHERE e.model = :m AND e.rowid > :lo AND e.rowid <= :hi AND c.id <= :mark""",
                {"m": self.model, "lo": low, "hi": high, "mark": self._marks.chunk},
            )
            waiting = np.isin([int(row["id"]) for row in rows], self._pending.ids)
            found = self._take([row for row, wait in zip(rows, waiting, strict=True) if wait])
            self._pending.drop(found)
            low = high
        self._marks.embedding = top

    def _take(self, rows: Sequence[dict[str, Any]], missing_pending: bool = True) -> Ids:
        """Add the rows that have a vector; remember the others as pending; return the added."""
        with_vector = [row for row in rows if row["v"] is not None]
        if missing_pending:
            missing = [row["id"] for row in rows if row["v"] is None]
            self._pending.add(np.array(missing, dtype=np.int64))
            self._unsaved += len(missing)
        self._unsaved += len(with_vector)
        if not with_vector:
            return np.zeros(0, dtype=np.int64)
        dim = len(with_vector[0]["v"]) // 4
        with_vector = [row for row in with_vector if len(row["v"]) == dim * 4]
        ids = np.array([row["id"] for row in with_vector], dtype=np.int64)
        groups = np.array([row["g"] for row in with_vector], dtype=np.int64)
        blob = b"".join(bytes(row["v"]) for row in with_vector)
        vectors = np.frombuffer(blob, dtype=np.float32).reshape(len(with_vector), dim)
        if self._index is None:
            total = self._scalar("SELECT count(*) AS n FROM chunks")
            self._index = self._new_index(self.options.kind_for(total, None), dim)
        if dim == self._index.dim:
            self._index.add(ids, groups, vectors)
        return ids

    def _new_index(self, kind: str, dim: int) -> VectorIndex:
        if kind == "hnsw" and self.options.choice == "auto":
            from understudy.store.hnsw import faiss_available

            kind = "hnsw" if faiss_available() else "exact"  # auto degrades without faiss
        return _new_index(kind, dim)

    def _fit_kind(self) -> None:
        index = self._index
        if index is None:
            return
        wanted = self.options.kind_for(len(index), index.kind)
        if wanted == index.kind and not _worn(index):
            return
        if wanted == "exact" or getattr(index, "undertrained", False):
            # Rebuild from the tables: decoded 8-bit codes are not the vectors.
            self._reset(self._marks.fingerprint)
            self._index = _new_index(wanted, index.dim) if wanted == "exact" else None
            self._catch_up()
            return
        rebuilt = self._new_index(wanted, index.dim)
        for ids, groups, vectors in _pages(index.rows()):
            rebuilt.add(ids, groups, vectors)
        self._index = rebuilt
        self._unsaved += len(rebuilt)

    def _save_if_due(self) -> None:
        size = len(self._index) if self._index is not None else 0
        due = max(self.options.save_above // 5, size // 20, 1)
        if size >= self.options.save_above and self._unsaved >= due:
            self._save(force=False)

    def _save(self, force: bool) -> None:
        if self._files is None or self._index is None:
            return
        if not force and len(self._index) < self.options.save_above:
            return
        try:
            self._files.write(self._index, self._marks, self._pending.ids)
        except OSError:
            return  # a read-only home still searches; it only rebuilds next time
        self._unsaved = 0


_CHUNK_ROWS = """SELECT c.id AS id, c.readers_id AS g, e.vector AS v FROM chunks c
    LEFT JOIN embeddings e ON e.model = :m AND e.text_hash = c.text_hash"""


def _worn(index: VectorIndex) -> bool:
    """Return whether an index holds too many deleted rows or too narrowly trained codes."""
    from understudy.store.hnsw import TOMBSTONE_SHARE

    tombstones = float(getattr(index, "tombstone_share", 0.0))
    return tombstones >= TOMBSTONE_SHARE or bool(getattr(index, "undertrained", False))


def _pages(
    rows: tuple[Ids, Ids, NDArray[np.float32]],
) -> Iterator[tuple[Ids, Ids, NDArray[np.float32]]]:
    ids, groups, vectors = rows
    step = max(_PAGE, 65_536)
    for start in range(0, len(ids), step):
        yield ids[start : start + step], groups[start : start + step], vectors[start : start + step]
