"""An HNSW vector index (faiss) whose search never ranks what the principal may not read.

Vectors are kept as 8-bit scalar codes (one byte per dimension, a quarter of
float32): measured recall@10 against exact float32 search is 0.985 on
384-dimensional vectors (``benchmarks/search.py``). The graph has 16 links
per node.

The permission filter runs inside the graph walk: a bitmap of the rows the
principal may read is handed to faiss, which explores the graph as usual but
only lets allowed rows into the results. The fewer rows are allowed, the
wider the walk must be to find ``k`` of them, so the beam (``efSearch``)
grows with ``k`` divided by the allowed share. When that walk would cost more
than scoring the allowed rows one by one, the index scores them exactly from
the same codes instead, so a small allowed share loses nothing.

Deleted chunks stay in the graph as tombstones (never returned) until they
pass ``TOMBSTONE_SHARE`` of the rows; the owner then rebuilds the index.
"""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from understudy.errors import ConfigError
from understudy.store.vectors import (
    Ids,
    Mask,
    VectorHit,
    VectorIndex,
    id_mask,
    normalize_rows,
    reader_mask,
    unit_query,
)

__all__ = ["EF_MAX", "HnswIndex", "faiss_available", "search_width"]

LINKS = 16
EF_CONSTRUCTION = 80
# Beam width: at least EF_MIN, and EF_PER_HIT per wanted hit divided by the
# allowed share, so that about as many allowed rows enter the beam at every
# share (benchmarks/search.py sweeps EF_MIN against recall@10).
EF_MIN = 200
EF_PER_HIT = 4.0
EF_MAX = 8192
WIDTH_HITS = 100  # the beam is never sized for fewer hits than this
# Scoring allowed rows exactly (gathering their codes, faiss scoring them)
# costs about a fifth of what one unit of beam width costs in the walk
# (measured at 1M rows on 2 cores), so below EF * 5 rows exact is cheaper.
EXACT_ROWS_PER_EF = 5.0
TOMBSTONE_SHARE = 0.3
TRAINING_ROWS = 20_000  # codes trained on this many rows need no retraining
_BLOCK = 16_384  # rows decoded at a time when exporting


def faiss_available() -> bool:
    """Return whether faiss can be imported."""
    try:
        importlib.import_module("faiss")
    except ImportError:
        return False
    return True


def _faiss() -> Any:
    try:
        return importlib.import_module("faiss")
    except ImportError:
        raise ConfigError(
            "vector_index=hnsw needs faiss: run pip install 'faiss-cpu>=1.8,<2', or set "
            "vector_index to 'exact' (UNDERSTUDY_VECTOR_INDEX or config.toml)"
        ) from None


@contextmanager
def _threads(count: int) -> Iterator[None]:
    """Run faiss with ``count`` OpenMP threads: one for a single query, all to build.

    A lone query gains nothing from threads, and on a busy machine OpenMP's
    waiting threads made it three times slower (measured).
    """
    faiss = _faiss()
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(count)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _cores() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def search_width(k: int, allowed: int, total: int) -> int:
    """Return the beam width (efSearch) that finds ``k`` of ``allowed`` rows among ``total``.

    The beam is sized for at least ``WIDTH_HITS`` hits: at a million rows and a
    tenth of them allowed, a beam sized for 10 hits found 75 % of the exact top
    10, one sized for 100 hits about 93 % (benchmarks/search.py sweep).
    """
    share = allowed / max(total, 1)
    wanted = max(k, WIDTH_HITS)
    return int(min(EF_MAX, max(EF_MIN, k, math.ceil(EF_PER_HIT * wanted / max(share, 1e-9)))))


def prefers_exact(k: int, allowed: int, total: int) -> bool:
    """Return whether scoring the allowed rows one by one beats walking the graph."""
    share = allowed / max(total, 1)
    if EF_PER_HIT * k / max(share, 1e-9) > EF_MAX:
        return True
    return allowed <= search_width(k, allowed, total) * EXACT_ROWS_PER_EF


class HnswIndex(VectorIndex):
    """Approximate cosine search on an HNSW graph of 8-bit codes, filtered as it walks."""

    kind: ClassVar[str] = "hnsw"

    def __init__(self, dim: int, graph: Any | None = None) -> None:
        faiss = _faiss()
        self.dim = dim
        if graph is None:
            graph = faiss.IndexHNSWSQ(
                dim, faiss.ScalarQuantizer.QT_8bit, LINKS, faiss.METRIC_INNER_PRODUCT
            )
            graph.hnsw.efConstruction = EF_CONSTRUCTION
        self._graph = graph
        self._ids = np.zeros(0, dtype=np.int64)
        self._groups = np.zeros(0, dtype=np.int64)
        self._alive = np.zeros(0, dtype=bool)
        self._order: Ids | None = None
        self._range: tuple[NDArray[np.float32], NDArray[np.float32]] | None = None
        self._trained_on = 0

    def add(
        self, ids: NDArray[np.int64], groups: NDArray[np.int64], vectors: NDArray[np.float32]
    ) -> None:
        """Add vectors with their chunk ids and reader-set ids (the first call trains codes)."""
        if len(ids) == 0:
            return
        unit = np.ascontiguousarray(normalize_rows(np.asarray(vectors, dtype=np.float32)))
        with _threads(_cores()):
            if not self._graph.is_trained:
                self._graph.train(unit)  # the quantizer learns each dimension's range
                self._trained_on = len(unit)
            self._graph.add(unit)
        self._ids = np.concatenate([self._ids, ids.astype(np.int64)])
        self._groups = np.concatenate([self._groups, groups.astype(np.int64)])
        self._alive = np.concatenate([self._alive, np.ones(len(ids), dtype=bool)])
        self._order = None

    def remove(self, ids: NDArray[np.int64]) -> int:
        """Mark the vectors of these chunk ids as deleted; return how many were held."""
        if len(ids) == 0 or len(self._ids) == 0:
            return 0
        gone = id_mask(self._ids, self._sorted(), ids.tolist()) & self._alive
        self._alive &= ~gone
        return int(gone.sum())

    @property
    def undertrained(self) -> bool:
        """Return whether the codes' ranges were learned from too few of today's rows.

        Rows outside the learned ranges are clipped; an index trained on its
        first handful of vectors should be rebuilt once it has grown.
        """
        return self._trained_on < min(TRAINING_ROWS, len(self._ids) / 8)

    @property
    def tombstone_share(self) -> float:
        """Return the share of rows that are deleted but still in the graph."""
        return 1.0 - float(self._alive.mean()) if len(self._alive) else 0.0

    def search(
        self,
        query: NDArray[np.float32],
        k: int,
        groups: Collection[int] | None,
        ids: Collection[int] | None = None,
    ) -> list[VectorHit]:
        """Return up to ``k`` (chunk id, cosine) pairs among the allowed groups and ids."""
        total = len(self._ids)
        if total == 0 or k <= 0:
            return []
        mask = reader_mask(self._groups, groups) & self._alive
        if ids is not None:
            mask &= id_mask(self._ids, self._sorted(), ids)
        allowed = int(mask.sum())
        if allowed == 0:
            return []
        k = min(k, allowed)
        unit = unit_query(query)
        with _threads(1):
            if prefers_exact(k, allowed, total):
                return self._exact(unit, k, mask)
            hits = self._walk(unit, k, mask, search_width(k, allowed, total))
            # A walk that found too few (a graph cut up by tombstones) must not
            # lose results to the filter: score the allowed rows instead.
            return hits if len(hits) == k else self._exact(unit, k, mask)

    def _walk(self, unit: NDArray[np.float32], k: int, mask: Mask, ef: int) -> list[VectorHit]:
        faiss = _faiss()
        params = faiss.SearchParametersHNSW()
        params.efSearch = ef
        bits = None
        if not mask.all():
            bits = np.packbits(mask, bitorder="little")
            params.sel = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits))
        scores, rows = self._graph.search(unit[None, :], k, params=params)
        del bits  # the selector reads it until search returns
        return [
            (int(self._ids[row]), float(score))
            for score, row in zip(scores[0], rows[0], strict=True)
            if row >= 0
        ]

    def _exact(self, unit: NDArray[np.float32], k: int, mask: Mask) -> list[VectorHit]:
        # Gather the allowed rows' codes and let faiss score them (SIMD on the
        # 8-bit codes): five to ten times faster than decoding them in numpy.
        faiss = _faiss()
        rows = np.flatnonzero(mask)
        storage = faiss.downcast_index(self._graph.storage)
        scorer = faiss.IndexScalarQuantizer(
            self.dim, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        scorer.sq.trained = storage.sq.trained
        scorer.is_trained = True
        scorer.add_sa_codes(np.take(self._codes(), rows, axis=0))
        scores, found = scorer.search(unit[None, :], k)
        return [
            (int(self._ids[rows[i]]), float(score))
            for score, i in zip(scores[0], found[0], strict=True)
            if i >= 0
        ]

    def _codes(self) -> NDArray[np.uint8]:
        faiss = _faiss()
        storage = faiss.downcast_index(self._graph.storage)
        size = int(storage.ntotal) * int(storage.code_size)
        flat = faiss.rev_swig_ptr(storage.codes.data(), size)
        codes: NDArray[np.uint8] = flat.reshape(int(storage.ntotal), int(storage.code_size))
        return codes

    def _code_range(self) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        if self._range is None:
            faiss = _faiss()
            storage = faiss.downcast_index(self._graph.storage)
            trained = faiss.vector_to_array(storage.sq.trained).astype(np.float32)
            self._range = (trained[: self.dim], trained[self.dim :])
        return self._range

    def _sorted(self) -> Ids:
        if self._order is None:
            self._order = np.argsort(self._ids, kind="stable")
        return self._order

    def rows(self) -> tuple[Ids, Ids, NDArray[np.float32]]:
        """Return the live chunk ids, reader-set ids and (decoded) unit vectors."""
        keep = np.flatnonzero(self._alive)
        low, step = self._code_range()
        codes = self._codes()
        vectors = np.empty((len(keep), self.dim), dtype=np.float32)
        for start in range(0, len(keep), _BLOCK):
            part = keep[start : start + _BLOCK]
            decoded = low + (codes[part].astype(np.float32) + 0.5) / 255.0 * step
            vectors[start : start + len(part)] = decoded
        return self._ids[keep], self._groups[keep], normalize_rows(vectors)

    def chunk_ids(self) -> Ids:
        """Return the chunk ids of the live rows."""
        return self._ids[self._alive]

    def save(self, stem: Path) -> list[Path]:
        """Write the graph to ``stem.faiss`` and its rows to ``stem.rows.npz``."""
        graph_path = stem.with_name(f"{stem.name}.faiss")
        rows_path = stem.with_name(f"{stem.name}.rows.npz")
        _faiss().write_index(self._graph, str(graph_path))
        with rows_path.open("wb") as handle:
            np.savez(
                handle,
                ids=self._ids,
                groups=self._groups,
                alive=self._alive,
                trained_on=np.array([self._trained_on], dtype=np.int64),
            )
        return [graph_path, rows_path]

    @classmethod
    def load(cls, stem: Path, dim: int) -> HnswIndex:
        """Read an index written by ``save``; raise ValueError if the files disagree."""
        faiss = _faiss()
        try:
            graph = faiss.read_index(str(stem.with_name(f"{stem.name}.faiss")))
        except RuntimeError as exc:  # faiss reports a bad file as RuntimeError
            raise ValueError(f"{stem}.faiss: {exc}") from None
        with np.load(stem.with_name(f"{stem.name}.rows.npz"), allow_pickle=False) as saved:
            ids, groups, alive = saved["ids"], saved["groups"], saved["alive"]
            trained_on = int(saved["trained_on"][0])
        if graph.d != dim or not (graph.ntotal == len(ids) == len(groups) == len(alive)):
            raise ValueError(f"{stem}: the saved graph and rows disagree")
        index = cls(dim, graph)
        index._ids, index._groups = ids.astype(np.int64), groups.astype(np.int64)
        index._alive = alive.astype(bool)
        index._trained_on = trained_on
        return index

    def __len__(self) -> int:
        return int(self._alive.sum())
