"""Hybrid search: keyword and vector candidates, scored together, one result per item.

Both candidate lists come from the store, which applies the principal's reader
filter inside each query, so nothing here ever sees a chunk the principal may
not read.

Each list's scores are standardized: a chunk scores how many standard
deviations it stands above the list's ``candidates``-th entry (BM25 and cosine
then share a scale, and a clear winner counts for more than its rank alone).
An item gathers the features of its chunks — its best chunk and its other
matching chunks, such as a chat message and its context window — and a few of
its own: whether the query names its author, whether other strong candidates
share its thread, whether it was judged useful for a similar past query
(``brain.feedback``), and its reciprocal rank in each list. A model weighs
them: ``Fusion``'s linear weights by default, or a ``Ranker`` learned from
judgments (a logistic model over the features and their pairwise products)
and stored in the home (``brain.rerank``), which every ``Searcher`` on that
store then uses.
Weighted reciprocal rank fusion remains as ``Fusion(method="rrf")``.

On SciFact's training queries (5-fold cross-validated nDCG@10), reciprocal
rank fusion measured 0.717 and standardized-score fusion 0.734; on LoCoMo
(evidence Recall@10) 0.77 and 0.80.
"""

from __future__ import annotations

import math
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from understudy.records import Item, Principal
from understudy.store import ItemFilter, ItemHead, SearchHit, Store
from understudy.store.vectors import VectorHit

if TYPE_CHECKING:
    from understudy.brain.rerank import Ranker

__all__ = [
    "FEATURES",
    "Candidate",
    "Fusion",
    "Mode",
    "Pool",
    "QueryEmbedder",
    "Result",
    "Searcher",
    "query_terms",
]

_WORD = re.compile(r"\w+", re.UNICODE)
_STOP = frozenset(
    "a an and are as at be by for from has have how i in is it of on or that the this to was "
    "were what when where which who why will with do does did about into our we you your".split()
)

# What a ranker reads about each candidate item.
FEATURES = (
    "keyword",  # standardized BM25 of the item's best chunk
    "keyword_more",  # the same, summed over the item's other matching chunks
    "vector",  # standardized cosine of the item's best chunk
    "vector_more",
    "keyword_rr",  # 1 / (60 + rank) in the keyword list, 0 when absent from it
    "vector_rr",  # the same in the vector list
    "in_keyword",  # 1 when the keyword list found the item
    "in_vector",  # 1 when the vector list found the item
    "author_named",  # the query names the item's author
    "other_named",  # the query names someone, but not this item's author
    "thread",  # how strongly the other candidates of its thread match (z-score)
    "feedback",  # similarity of the query to a past query this item was judged useful for
    "dense",  # cosine of the query to the best chunk, for every candidate (z-score in the pool)
    "prf",  # cosine of the best chunk to the centroid of the top candidates (z-score)
)
RANK_OFFSET = 60  # of the reciprocal-rank features, as in reciprocal rank fusion
PRF_DOCS = 5  # top candidates (by fusion) whose centroid the prf feature compares with
Mode = Literal["hybrid", "keyword", "vector"]


def query_terms(text: str) -> list[str]:
    """Return the content words of a query, lower-cased, stop words dropped."""
    words = [w.lower() for w in _WORD.findall(text)]
    kept = [w for w in words if w not in _STOP]
    return list(dict.fromkeys(kept or words))


class QueryEmbedder(Protocol):
    """What search needs from an embedding model."""

    @property
    def name(self) -> str:
        """Return the key the model's vectors are stored under."""
        ...

    def embed_batch(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Return one unit vector per text."""
        ...


@dataclass(frozen=True, slots=True)
class Fusion:
    """How keyword and vector candidates combine when no learned ranker is stored.

    ``method="scores"`` weighs standardized scores: ``keyword`` and ``vector``
    for an item's best chunk in each list, ``more`` times those for its other
    matching chunks. ``method="rrf"`` is weighted reciprocal rank fusion with
    constant ``k``. ``candidates`` is how deep each list is read: 50 ranked as
    well as 100 (SciFact train nDCG@10 0.743 against 0.745, on documents no
    training judgment mentions 0.744 against 0.741; LoCoMo Recall@10 0.814
    against 0.810) and made an understudy's answer about a sixth cheaper.
    """

    keyword: float = 0.6
    vector: float = 0.4
    k: float = 60.0
    candidates: int = 50
    method: Literal["scores", "rrf"] = "scores"
    more: float = 0.3

    def score(self, keyword_rank: int | None, vector_rank: int | None) -> float:
        """Return the reciprocal-rank-fusion score of one chunk from its 1-based ranks."""
        total = 0.0
        if keyword_rank is not None:
            total += self.keyword / (self.k + keyword_rank)
        if vector_rank is not None:
            total += self.vector / (self.k + vector_rank)
        return total

    def weights(self) -> dict[str, float]:
        """Return the linear weights of standardized-score fusion, by feature."""
        return {
            "keyword": self.keyword,
            "keyword_more": self.keyword * self.more,
            "vector": self.vector,
            "vector_more": self.vector * self.more,
        }


@dataclass(frozen=True, slots=True)
class Result:
    """One item found, with its best chunk and why it matched."""

    item: Item
    chunk_id: int
    score: float
    snippet: str
    why: tuple[str, ...] = ()
    keyword_rank: int | None = None
    vector_rank: int | None = None
    # The item's best keyword chunk, whose keyword snippet shows it (None: an excerpt).
    snippet_chunk: int | None = None


@dataclass(slots=True)
class Candidate:
    """One item either list found, with its chunks' scores and the ranker's features."""

    item_id: int
    chunk_id: int
    keyword_rank: int | None = None
    vector_rank: int | None = None
    bm25: float | None = None
    cosine: float | None = None
    snippet: str = ""
    # Standardized scores of the item's matching chunks, by chunk id, per list.
    keyword_chunks: dict[int, float] = field(default_factory=dict)
    vector_chunks: dict[int, float] = field(default_factory=dict)
    features: dict[str, float] = field(default_factory=dict)
    head: ItemHead | None = None  # what ranking reads of the item
    item: Item | None = None  # the whole item, fetched for results only


@dataclass(slots=True)
class Pool:
    """The candidates of one query, ready to be ranked in any mode."""

    query: str
    principal: Principal
    candidates: dict[int, Candidate]
    vector: NDArray[np.float32] | None = None  # the query's vector, as the model embeds it
    vector_features: bool = False  # whether ``dense`` and ``prf`` are set
    # The vector the search used: ``vector`` moved by the ranker's query adapter, if any.
    adapted: NDArray[np.float32] | None = None

    @property
    def searched(self) -> NDArray[np.float32] | None:
        """Return the vector the vector search ran with."""
        return self.adapted if self.adapted is not None else self.vector


class Searcher:
    """Search the store as a principal, by keywords, by meaning, or both.

    ``ranker`` is a learned ``Ranker``; by default the one stored in the home
    (if any, and if trained with this embedder) is loaded on first use; None
    means ``fusion`` alone. A ranker with a query adapter also moves every
    query's vector before the vector search (brain/adapter).
    """

    def __init__(
        self,
        store: Store,
        embedder: QueryEmbedder | None = None,
        fusion: Fusion | None = None,
        ranker: Ranker | Literal["stored"] | None = "stored",
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.fusion = fusion or Fusion()
        self._ranker = ranker
        self._names: dict[str, str] = {}

    @property
    def ranker(self) -> Ranker | None:
        """Return the learned ranker in use, loading the stored one the first time."""
        if self._ranker == "stored":
            from understudy.brain.rerank import load_ranker

            stored = load_ranker(self.store)
            usable = stored is not None and stored.fits(self.embedder)
            self._ranker = stored if usable else None
        return self._ranker

    def keyword(
        self, principal: Principal, query: str, limit: int, where: ItemFilter | None = None
    ) -> list[SearchHit]:
        """Return keyword hits (BM25 on SQLite, ts_rank on PostgreSQL).

        Snippets may be left out: ``rank`` fetches them for the results it shows.
        """
        terms = " ".join(query_terms(query))
        return self.store.search_text(principal, terms, limit, where, snippets=False)

    def vector(
        self, principal: Principal, query: str, limit: int, where: ItemFilter | None = None
    ) -> list[SearchHit]:
        """Return nearest chunks by meaning; empty without an embedding model."""
        if self.embedder is None:
            return []
        vector = self.embedder.embed_batch([query])[0]
        adapted = self._adapted(vector)
        searched = adapted if adapted is not None else vector
        return self.store.search_vectors(principal, self.embedder.name, searched, limit, where)

    def _embed_and_search(
        self, query: str, job: Callable[[NDArray[np.float32]], list[VectorHit]]
    ) -> tuple[NDArray[np.float32], NDArray[np.float32] | None, list[VectorHit]]:
        """Embed ``query``, adapt it and run ``job`` (reads no table: safe on a thread)."""
        if self.embedder is None:  # pragma: no cover - only called with an embedder
            raise ValueError("a vector search needs an embedder")
        vector = self.embedder.embed_batch([query])[0]
        adapted = self._adapted(vector)
        return vector, adapted, job(adapted if adapted is not None else vector)

    def _adapted(self, vector: NDArray[np.float32]) -> NDArray[np.float32] | None:
        """Return ``vector`` moved by the ranker's query adapter, or None without one."""
        ranker = self.ranker
        adapter = ranker.adapter if ranker is not None else None
        if adapter is None or self.embedder is None or adapter.model != self.embedder.name:
            return None
        return adapter.apply(vector)

    def search(
        self,
        principal: Principal,
        query: str,
        limit: int = 10,
        where: ItemFilter | None = None,
        mode: str = "hybrid",
        snippets: bool = True,
    ) -> list[Result]:
        """Return up to ``limit`` items for ``query``, best first, one per item.

        ``snippets=False`` leaves every snippet empty, for a caller that shows
        only some results: ``with_snippets`` fetches theirs afterwards.
        """
        checked = _mode(mode)
        with self.store.reading_as(principal):
            pool = self.candidates(principal, query, limit, where, checked)
            return self.rank(pool, limit, checked, snippets=snippets)

    def candidates(
        self,
        principal: Principal,
        query: str,
        limit: int = 10,
        where: ItemFilter | None = None,
        mode: Mode = "hybrid",
    ) -> Pool:
        """Return the items either list finds for ``query``, with their features."""
        depth = max(self.fusion.candidates, limit * 3)
        found: dict[int, Candidate] = {}
        vector: NDArray[np.float32] | None = None
        adapted: NDArray[np.float32] | None = None
        job = None
        if mode == "hybrid" and self.embedder is not None:
            job = self.store.vector_search_job(principal, self.embedder.name, depth, where)
        if job is not None:
            # A large in-process index: embed and search on a thread while the
            # keyword half runs on this connection (SQLite lets go of the
            # interpreter while it steps; the HNSW search holds it).
            _ = self.ranker  # a stored ranker is read here, on this thread's connection
            running = _threads().submit(self._embed_and_search, query, job)
        if mode in ("hybrid", "keyword"):
            hits = self.keyword(principal, query, depth, where)
            _gather(found, hits, self.fusion.candidates, keyword=True)
        if job is not None:
            vector, adapted, nearest = running.result()
            hits = self.store.vector_hits(nearest)
            _gather(found, hits, self.fusion.candidates, keyword=False)
        elif mode in ("hybrid", "vector") and self.embedder is not None:
            vector = self.embedder.embed_batch([query])[0]
            adapted = self._adapted(vector)
            searched = adapted if adapted is not None else vector
            hits = self.store.search_vectors(principal, self.embedder.name, searched, depth, where)
            _gather(found, hits, self.fusion.candidates, keyword=False)
        pool = Pool(query, principal, found, vector, adapted=adapted)
        self._attach_heads(pool, list(found))
        return pool

    def rank(
        self,
        pool: Pool,
        limit: int = 10,
        mode: Mode = "hybrid",
        ranker: Ranker | None = None,
        snippets: bool = True,
    ) -> list[Result]:
        """Return the best ``limit`` items of ``pool``: by BM25, by cosine, or fused.

        ``ranker`` overrides the searcher's own (learned or stored) ranker.
        """
        ranker = ranker or self.ranker
        chosen = self.order(pool, limit, mode, ranker)
        self._attach_items(pool, [candidate for candidate, _ in chosen])
        results = [
            self._result(pool, candidate, score, ranker)
            for candidate, score in chosen
            if candidate.item is not None
        ]
        return self.with_snippets(pool.principal, pool.query, results) if snippets else results

    def with_snippets(
        self, principal: Principal, query: str, results: Sequence[Result]
    ) -> list[Result]:
        """Return ``results`` with their snippets, fetched as ``principal``.

        A result's snippet is the keyword snippet of its best keyword chunk, or
        an excerpt of its best chunk when the keywords matched none (or the
        principal may no longer read that chunk).
        """
        wanted = [r.snippet_chunk for r in results if not r.snippet and r.snippet_chunk]
        terms = " ".join(query_terms(query))
        found = self.store.text_snippets(principal, terms, wanted) if wanted else {}
        lacking = [
            r.chunk_id for r in results if not r.snippet and not found.get(r.snippet_chunk or 0)
        ]
        chunks = {c.id: c.text for c in self.store.get_chunks(principal, lacking)}
        shown = []
        for result in results:
            snippet = result.snippet or found.get(result.snippet_chunk or 0, "")
            if not snippet:
                snippet = _excerpt(chunks.get(result.chunk_id, result.item.body), query)
            why = result.why
            if result.keyword_rank is not None and why:  # its words, now that they show
                why = (_keyword_reason(result.keyword_rank, query, result.item, snippet), *why[1:])
            shown.append(replace(result, snippet=snippet, why=why))
        return shown

    def order(
        self, pool: Pool, limit: int = 10, mode: Mode = "hybrid", ranker: Ranker | None = None
    ) -> list[tuple[Candidate, float]]:
        """Return the best ``limit`` candidates of ``pool`` with their scores, one per message."""
        ranker = ranker or self.ranker
        if mode == "hybrid" and ranker is not None:
            self.add_vector_features(pool)
        candidates = pool.candidates
        if mode == "hybrid" and ranker is not None and ranker.feedback is not None:
            candidates = self._with_feedback(pool, ranker)
        listed = list(candidates.values())
        if mode == "hybrid" and ranker is not None:
            values = ranker.score_many([c.features for c in listed]).tolist()
        else:
            values = [self._score(c, mode, ranker) for c in listed]
        scored = [(c, s) for c, s in zip(listed, values, strict=True) if s > -math.inf]
        scored.sort(key=lambda pair: (-pair[1], pair[0].item_id))
        return _one_per_message(scored, limit)

    def _score(self, candidate: Candidate, mode: Mode, ranker: Ranker | None) -> float:
        if mode == "keyword":
            return candidate.bm25 if candidate.bm25 is not None else -math.inf
        if mode == "vector":
            return candidate.cosine if candidate.cosine is not None else -math.inf
        if ranker is not None:
            return ranker.score(candidate.features)
        if self.fusion.method == "rrf":
            return self.fusion.score(candidate.keyword_rank, candidate.vector_rank)
        weights = self.fusion.weights()
        return sum(weights.get(name, 0.0) * value for name, value in candidate.features.items())

    def _attach_heads(self, pool: Pool, item_ids: Sequence[int]) -> None:
        """Fetch the candidates' item heads (as the principal) and compute item features."""
        heads = {h.id: h for h in self.store.item_heads(pool.principal, item_ids)}
        for item_id in item_ids:
            head = heads.get(item_id)
            if head is None:
                pool.candidates.pop(item_id, None)
                continue
            candidate = pool.candidates[item_id]
            candidate.head = head
            candidate.features.update(_chunk_features(candidate))
        self._name_features(pool)
        _thread_features(pool.candidates.values(), self.fusion.weights())

    def _attach_items(self, pool: Pool, chosen: Sequence[Candidate]) -> None:
        """Fetch the whole items of the candidates shown (as the principal, in one query)."""
        missing = [c.item_id for c in chosen if c.item is None]
        items = {i.id: i for i in self.store.get_items(pool.principal, missing)} if missing else {}
        for candidate in chosen:
            if candidate.item is None:
                candidate.item = items.get(candidate.item_id)

    def add_vector_features(self, pool: Pool) -> None:
        """Set ``dense`` and ``prf`` from the candidates' stored vectors (0 without them).

        ``dense`` scores keyword-only candidates by meaning too; ``prf`` is
        pseudo-relevance feedback: likeness to what the best candidates share.
        Only a learned ranker weighs them, so they are computed when one ranks
        the pool or learns from it (one store query), not on every search.
        """
        if pool.vector_features:
            return
        pool.vector_features = True
        listed = list(pool.candidates.values())
        for candidate in listed:
            candidate.features["dense"] = candidate.features["prf"] = 0.0
        searched = pool.searched
        if searched is None or self.embedder is None or len(listed) < 2:
            return
        vectors = self.store.chunk_vectors(
            pool.principal, self.embedder.name, [c.chunk_id for c in listed]
        )
        have = [c for c in listed if c.chunk_id in vectors]
        if len(have) < 2:
            return
        weights = self.fusion.weights()
        fused = sorted(
            have,
            key=lambda c: (-sum(w * c.features.get(n, 0.0) for n, w in weights.items()), c.item_id),
        )
        matrix = np.stack([vectors[c.chunk_id] for c in have])
        centroid = np.stack([vectors[c.chunk_id] for c in fused[:PRF_DOCS]]).mean(axis=0)
        norm = float(np.linalg.norm(centroid))
        for name, raw in (
            ("dense", matrix @ np.asarray(searched, dtype=np.float32)),
            ("prf", matrix @ (centroid / norm) if norm > 0 else np.zeros(len(have))),
        ):
            spread = float(raw.std())
            if spread <= 1e-9:
                continue
            for candidate, value in zip(have, (raw - raw.mean()) / spread, strict=True):
                candidate.features[name] = float(value)

    def _name_features(self, pool: Pool) -> None:
        words = {w.lower() for w in _WORD.findall(pool.query)}
        names = {c.item_id: self._author_name(c.head) for c in pool.candidates.values()}
        named = {
            item_id
            for item_id, name in names.items()
            if any(part in words for part in _name_parts(name))
        }
        for candidate in pool.candidates.values():
            own = candidate.item_id in named
            candidate.features["author_named"] = 1.0 if own else 0.0
            candidate.features["other_named"] = 1.0 if named and not own else 0.0

    def _author_name(self, head: ItemHead | None) -> str:
        if head is None:
            return ""
        if head.author_name:
            return head.author_name
        if not head.author:
            return ""
        if head.author not in self._names:
            person = self.store.get_person(head.author)
            self._names[head.author] = person.name if person else ""
        return self._names[head.author]

    def _with_feedback(self, pool: Pool, ranker: Ranker) -> dict[int, Candidate]:
        """Return the candidates with their feedback feature set.

        Feedback only reorders what the lists found: an item is never shown
        because of someone else's search alone.
        """
        if ranker.feedback is None or pool.vector is None:
            return pool.candidates
        found = ranker.feedback.scores(pool.vector)
        return {
            item_id: replace(c, features={**c.features, "feedback": found.get(item_id, 0.0)})
            for item_id, c in pool.candidates.items()
        }

    def _result(
        self, pool: Pool, candidate: Candidate, score: float, ranker: Ranker | None
    ) -> Result:
        item = candidate.item
        if item is None:  # pragma: no cover - candidates without items are dropped
            raise ValueError("candidate without its item")
        shown = score
        if ranker is not None and math.isfinite(score):
            shown = 1.0 / (1.0 + math.exp(-score))  # a learned score reads as a probability
        return Result(
            item=item,
            chunk_id=candidate.chunk_id,
            score=shown if math.isfinite(shown) else 0.0,
            snippet=candidate.snippet,
            why=_why(candidate, pool.query, item),
            keyword_rank=candidate.keyword_rank,
            vector_rank=candidate.vector_rank,
            snippet_chunk=next(iter(candidate.keyword_chunks), None),
        )


def _mode(mode: str) -> Mode:
    if mode == "hybrid":
        return "hybrid"
    if mode == "keyword":
        return "keyword"
    if mode == "vector":
        return "vector"
    raise ValueError(f"unknown search mode {mode!r}; use hybrid, keyword or vector")


def _standardized(scores: Sequence[float], window: int) -> list[float]:
    """Return each score's height above the ``window``-th, in standard deviations of the head.

    Scores below the ``window``-th (or, in a shorter list, below zero) count as
    zero, so a list's depth never changes how its head compares with the other list.
    """
    if not scores:
        return []
    head = np.asarray(scores[:window], dtype=np.float64)
    floor = float(head[-1]) if len(scores) >= window else min(0.0, float(head.min()))
    spread = float(head.std()) if len(head) >= 5 else 0.0
    if spread <= 1e-9:
        spread = max(float(head.max()) - floor, 1e-9)
    return [max(0.0, (float(s) - floor) / spread) for s in scores]


_THREADS: ThreadPoolExecutor | None = None
_THREADS_LOCK = threading.Lock()


def _threads() -> ThreadPoolExecutor:
    """Return the threads vector halves of hybrid searches run on (made on first use)."""
    global _THREADS
    with _THREADS_LOCK:
        if _THREADS is None:
            _THREADS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="vector-search")
        return _THREADS


def _forget_threads() -> None:
    """In a forked child the pool's threads do not exist: make a new pool on first use."""
    global _THREADS, _THREADS_LOCK
    _THREADS, _THREADS_LOCK = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_threads)


def _gather(
    found: dict[int, Candidate], hits: Sequence[SearchHit], window: int, keyword: bool
) -> None:
    """Add one list's hits to the candidates, keeping each item's chunks' scores."""
    standardized = _standardized([hit.score for hit in hits], window)
    for rank, (hit, value) in enumerate(zip(hits, standardized, strict=True), start=1):
        candidate = found.get(hit.item_id)
        if candidate is None:
            candidate = found[hit.item_id] = Candidate(hit.item_id, hit.chunk_id)
        if keyword:
            if candidate.keyword_rank is None:
                candidate.keyword_rank, candidate.bm25 = rank, hit.score
                candidate.snippet = hit.snippet
            candidate.keyword_chunks.setdefault(hit.chunk_id, value)
        else:
            if candidate.vector_rank is None:
                candidate.vector_rank, candidate.cosine = rank, hit.score
            candidate.vector_chunks.setdefault(hit.chunk_id, value)


def _chunk_features(candidate: Candidate) -> dict[str, float]:
    keyword = sorted(candidate.keyword_chunks.values(), reverse=True)
    vector = sorted(candidate.vector_chunks.values(), reverse=True)
    # The best chunk is the one both lists rate highest together.
    chunk_ids = set(candidate.keyword_chunks) | set(candidate.vector_chunks)
    candidate.chunk_id = max(
        sorted(chunk_ids),
        key=lambda c: candidate.keyword_chunks.get(c, 0.0) + candidate.vector_chunks.get(c, 0.0),
    )
    keyword_rank, vector_rank = candidate.keyword_rank, candidate.vector_rank
    return {
        "keyword": keyword[0] if keyword else 0.0,
        "keyword_more": sum(keyword[1:]),
        "vector": vector[0] if vector else 0.0,
        "vector_more": sum(vector[1:]),
        "keyword_rr": 1.0 / (RANK_OFFSET + keyword_rank) if keyword_rank is not None else 0.0,
        "vector_rr": 1.0 / (RANK_OFFSET + vector_rank) if vector_rank is not None else 0.0,
        "in_keyword": 1.0 if keyword_rank is not None else 0.0,
        "in_vector": 1.0 if vector_rank is not None else 0.0,
    }


def _thread_features(candidates: Iterable[Candidate], weights: Mapping[str, float]) -> None:
    """Score each candidate's thread by its three best candidates, as a z-score."""
    listed = list(candidates)
    by_thread: dict[str, list[float]] = {}
    for c in listed:
        if c.head is not None and c.head.thread_id:
            first = sum(weights.get(n, 0.0) * c.features.get(n, 0.0) for n in weights)
            by_thread.setdefault(c.head.thread_id, []).append(first)
    totals = {t: sum(sorted(v, reverse=True)[:3]) for t, v in by_thread.items()}
    threaded = [totals[c.head.thread_id] for c in listed if c.head and c.head.thread_id]
    mean = float(np.mean(threaded)) if threaded else 0.0
    spread = float(np.std(threaded)) if len(threaded) > 1 else 0.0
    for c in listed:
        thread = c.head.thread_id if c.head else None
        if thread and spread > 1e-9:
            c.features["thread"] = (totals[thread] - mean) / spread
        else:
            c.features["thread"] = 0.0


def _name_parts(name: str) -> set[str]:
    return {part.lower() for part in _WORD.findall(name) if len(part) >= 3}


def _one_per_message(
    ranked: Sequence[tuple[Candidate, float]], limit: int
) -> list[tuple[Candidate, float]]:
    """Keep one copy of each message: every participant's mailbox holds its own."""
    kept: list[tuple[Candidate, float]] = []
    seen: set[str] = set()
    for candidate, score in ranked:
        head = candidate.head
        key = (head.message_id or str(candidate.item_id)) if head else ""
        if head is None or key in seen:
            continue
        seen.add(key)
        kept.append((candidate, score))
        if len(kept) >= limit:
            break
    return kept


def _excerpt(text: str, query: str, width: int = 220) -> str:
    terms = query_terms(query)
    lowered = text.lower()
    positions = [lowered.find(t) for t in terms if lowered.find(t) >= 0]
    start = max(0, min(positions) - 60) if positions else 0
    piece = " ".join(text[start : start + width].split())
    return ("… " if start else "") + piece + (" …" if start + width < len(text) else "")


def _keyword_reason(rank: int, query: str, item: Item, snippet: str) -> str:
    """Return why the keywords matched: the query's words in the title or the snippet."""
    text = f"{item.title} {snippet}".lower()
    matched = [t for t in query_terms(query) if t in text]
    words = ", ".join(matched[:5]) if matched else "stemmed words"
    return f"keywords #{rank}: {words}"


def _why(candidate: Candidate, query: str, item: Item) -> tuple[str, ...]:
    reasons: list[str] = []
    if candidate.keyword_rank is not None:
        reasons.append(_keyword_reason(candidate.keyword_rank, query, item, candidate.snippet))
    if candidate.vector_rank is not None and candidate.cosine is not None:
        reasons.append(f"meaning #{candidate.vector_rank}: cosine {candidate.cosine:.2f}")
    if candidate.features.get("author_named"):
        reasons.append("the question names its author")
    if candidate.features.get("feedback", 0.0) > 0:
        reasons.append("judged useful for a similar earlier search")
    return tuple(reasons)
