"""Measure search on a BEIR-format collection: the product's own path, on a throwaway store.

The documents become items that one evaluation principal may read; they are
chunked and embedded by the indexing jobs and searched by ``Searcher``, so the
figures are the product's. Each query is gathered once and ranked in every
way compared: by keywords, by meaning, by reciprocal rank fusion, by
standardized-score fusion, and by a ranker learned from judgments (with and
without its feedback memory).

What is learned comes from training judgments only. On the ``train`` split
the learned figures are cross-validated: the queries are split into folds,
each fold ranked by a ranker trained on the others; a second, stricter split
keeps queries that share a relevant document in one fold ("unseen
documents"), which shows what learning gives on documents no judgment
mentions. On any other split the ranker is trained on ``qrels/train.tsv`` (if
the collection has it), stored in the throwaway home, and the split's queries
run through ``Searcher.search`` with it, as any search would.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from understudy.brain.embeddings import Embedder, embed_pending
from understudy.brain.indexing import chunk_pending
from understudy.brain.rerank import (
    Judgment,
    Ranker,
    collect_pools,
    fit_query_adapter,
    fit_ranker,
    save_ranker,
)
from understudy.brain.search import Fusion, Mode, Pool, Searcher
from understudy.errors import InputError
from understudy.records import Item, Principal, Source, person_reader
from understudy.store import Store

__all__ = [
    "Collection",
    "Progress",
    "evaluate_retrieval",
    "folds_by_document",
    "folds_by_query",
    "index_documents",
    "load_collection",
    "mrr_at",
    "ndcg_at",
    "quiet",
    "recall_at",
    "retrieval_scores",
]

# A progress reporter: (description, total) -> a context whose value advances by n.
Progress = Callable[[str, int | None], AbstractContextManager[Callable[[int], None]]]
PRINCIPAL = "eval"
FOLDS = 5
SEED = 13
DEPTH = 100  # results ranked per query: enough for Recall@100
# The rankings of what is learned from judgments, as the report names them.
LEARNED = ("adapted vector", "ranker", "ranker+feedback", "ranker without adapter")
# A fixed time for every document: BEIR collections carry none.
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def quiet(description: str, total: int | None) -> AbstractContextManager[Callable[[int], None]]:
    """Report no progress."""
    return nullcontext(lambda n: None)


def ndcg_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    """Return nDCG@k of a ranking against graded judgments (BEIR's linear gain)."""
    gain = sum(relevant.get(doc, 0) / math.log2(n + 2) for n, doc in enumerate(ranked[:k]))
    ideal = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    best = sum(g / math.log2(n + 2) for n, g in enumerate(ideal))
    return gain / best if best > 0 else 0.0


def recall_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    """Return the share of the relevant documents found in the first ``k``."""
    wanted = {doc for doc, grade in relevant.items() if grade > 0}
    return len(wanted.intersection(ranked[:k])) / len(wanted) if wanted else 0.0


def mrr_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    """Return the reciprocal rank of the first relevant document within ``k`` (else 0)."""
    for n, doc in enumerate(ranked[:k]):
        if relevant.get(doc, 0) > 0:
            return 1.0 / (n + 1)
    return 0.0


def retrieval_scores(
    runs: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]]
) -> dict[str, float]:
    """Return mean nDCG@10, Recall@10, Recall@100 and MRR@10 over the judged queries."""
    judged = [q for q in qrels if any(g > 0 for g in qrels[q].values())]
    if not judged:
        return {"ndcg@10": 0.0, "recall@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    measures: dict[str, Callable[[Sequence[str], Mapping[str, int]], float]] = {
        "ndcg@10": lambda r, j: ndcg_at(r, j, 10),
        "recall@10": lambda r, j: recall_at(r, j, 10),
        "recall@100": lambda r, j: recall_at(r, j, 100),
        "mrr@10": lambda r, j: mrr_at(r, j, 10),
    }
    return {
        name: round(sum(f(runs.get(q, []), qrels[q]) for q in judged) / len(judged), 4)
        for name, f in measures.items()
    }


@dataclass(slots=True)
class Collection:
    """A BEIR collection's files: the corpus, and the queries judged in a split."""

    root: Path
    split: str
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    train_queries: dict[str, str] = field(default_factory=dict)
    train_qrels: dict[str, dict[str, int]] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def corpus(self) -> Path:
        """Return the corpus file."""
        return self.root / "corpus.jsonl"


def _json_lines(path: Path, skipped: dict[str, int]) -> Iterator[dict[str, Any]]:
    """Yield the objects of a JSON-lines file; count the lines that are not objects."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror})") from None
    with handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                # Decoded line by line: a line that is not UTF-8 is skipped, not fatal.
                record = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                record = None
            if isinstance(record, dict) and "_id" in record:
                yield record
            else:
                skipped[str(path)] = skipped.get(str(path), 0) + 1


def _qrels(path: Path) -> dict[str, dict[str, int]]:
    """Read a BEIR judgments file: query-id, corpus-id, score, tab-separated, with a header."""
    judged: dict[str, dict[str, int]] = {}
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror})") from None
    for number, raw in enumerate(lines, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{path}:{number}: not UTF-8 text; save the file as UTF-8") from None
        fields = line.strip().split("\t")
        if not line.strip() or (number == 1 and not fields[-1].lstrip("-").isdigit()):
            continue
        if len(fields) < 3 or not fields[2].strip().lstrip("-").isdigit():
            raise InputError(
                f"{path}:{number}: expected 'query-id<TAB>corpus-id<TAB>score', got {line!r}"
            )
        judged.setdefault(fields[0], {})[fields[1]] = int(fields[2])
    return judged


def load_collection(root: Path, split: str = "test") -> Collection:
    """Read a BEIR collection's queries and judgments for ``split`` (and for train, if any)."""
    if not root.is_dir():
        raise InputError(f"{root}: no such collection folder; give a BEIR folder")
    for name in ("corpus.jsonl", "queries.jsonl"):
        if not (root / name).is_file():
            raise InputError(f"{root / name}: missing; a BEIR folder holds {name}")
    qrels_path = root / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        found = sorted(p.stem for p in (root / "qrels").glob("*.tsv"))
        hint = f"splits here: {', '.join(found)}" if found else "no qrels/*.tsv found"
        raise InputError(f"{qrels_path}: missing; choose another --split ({hint})")
    skipped: dict[str, int] = {}
    texts = {
        str(r["_id"]): str(r.get("text") or "")
        for r in _json_lines(root / "queries.jsonl", skipped)
    }
    qrels = _qrels(qrels_path)
    collection = Collection(root, split, {q: texts[q] for q in qrels if q in texts}, qrels, {})
    collection.qrels = {q: j for q, j in qrels.items() if q in texts}
    train_path = root / "qrels" / "train.tsv"
    if split != "train" and train_path.is_file():
        train = _qrels(train_path)
        collection.train_queries = {q: texts[q] for q in train if q in texts}
        collection.train_qrels = {q: j for q, j in train.items() if q in texts}
    collection.skipped = skipped
    if not collection.queries:
        raise InputError(f"{qrels_path}: none of its queries is in {root / 'queries.jsonl'}")
    return collection


def index_documents(
    store: Store,
    collection: Collection,
    embedder: Embedder | None,
    progress: Progress = quiet,
) -> dict[str, int]:
    """Store the corpus as documents the evaluation principal reads; chunk and embed them."""
    source = store.add_source(Source(kind="beir", location=str(collection.root), name="beir"))
    if source.id is None:  # pragma: no cover - a stored source always has an id
        raise InputError(f"{collection.root}: the source could not be registered")
    readers = frozenset({person_reader(PRINCIPAL)})
    batch: list[Item] = []
    ids: dict[str, int] = {}
    with progress("reading documents", None) as advance:
        for record in _json_lines(collection.corpus, collection.skipped):
            batch.append(
                Item(
                    source_id=source.id,
                    external_id=str(record["_id"]),
                    kind="document",
                    timestamp=EPOCH,
                    readers=readers,
                    title=str(record.get("title") or ""),
                    body=str(record.get("text") or ""),
                )
            )
            if len(batch) >= 1000:
                _put(store, batch, ids, advance)
        _put(store, batch, ids, advance)
    if not ids:
        raise InputError(f"{collection.corpus}: no documents (each line: {{'_id', 'text'}})")
    with progress("chunking", len(ids)) as advance:
        chunk_pending(store, progress=advance)
    if embedder is not None:
        missing = store.count_missing_embeddings(embedder.name)
        with progress(f"embedding ({embedder.name})", missing) as advance:
            embed_pending(store, embedder, progress=advance)
    return ids


def _put(
    store: Store, batch: list[Item], ids: dict[str, int], advance: Callable[[int], None]
) -> None:
    if not batch:
        return
    result = store.put_items(batch)
    ids.update(zip((i.external_id for i in batch), result.ids, strict=True))
    advance(len(batch))
    batch.clear()


def folds_by_query(queries: Sequence[str], folds: int = FOLDS) -> list[list[str]]:
    """Split queries into ``folds`` folds at random (with a fixed seed)."""
    order = sorted(queries)
    random.Random(SEED).shuffle(order)
    return [order[n::folds] for n in range(folds)]


def folds_by_document(
    qrels: Mapping[str, Mapping[str, int]], folds: int = FOLDS
) -> list[list[str]]:
    """Split queries into folds so that queries sharing a relevant document share a fold."""
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for query, judged in qrels.items():
        for doc, grade in judged.items():
            if grade > 0:
                parent[root(f"q:{query}")] = root(f"d:{doc}")
    groups: dict[str, list[str]] = {}
    for query in sorted(qrels):
        groups.setdefault(root(f"q:{query}"), []).append(query)
    split: list[list[str]] = [[] for _ in range(folds)]
    for group in sorted(groups.values(), key=lambda g: (-len(g), g)):
        min(split, key=len).extend(group)
    return split


def _judgments(
    pools: Sequence[Pool],
    qids: Sequence[str],
    qrels: Mapping[str, Mapping[str, int]],
    documents: Mapping[str, int],
) -> list[Judgment]:
    """Return judgments keyed by item id, from judgments keyed by document id."""
    judged = []
    for pool, qid in zip(pools, qids, strict=True):
        grades = {documents[d]: g for d, g in qrels[qid].items() if d in documents}
        judged.append(Judgment(pool.query, grades))
    return judged


def _ranked(searcher: Searcher, pool: Pool, mode: Mode, ranker: Ranker | None = None) -> list[str]:
    return [c.head.external_id for c, _ in searcher.order(pool, DEPTH, mode, ranker) if c.head]


def _cross_validated(
    searcher: Searcher,
    pools: Mapping[str, Pool],
    qrels: Mapping[str, Mapping[str, int]],
    folds: Sequence[Sequence[str]],
    documents: Mapping[str, int],
) -> dict[str, dict[str, list[str]]]:
    """Rank each fold with what was learned on the other folds.

    Per fold: a query adapter and rankers (without and with feedback) are
    learned from the other folds' pools; the fold's queries are searched
    again with the adapter, and ranked by meaning alone (``adapted vector``),
    by the rankers, and by a ranker learned and searched without the adapter.
    """
    model = searcher.embedder.name if searcher.embedder is not None else None
    runs: dict[str, dict[str, list[str]]] = {name: {} for name in LEARNED}
    principal = Principal.person(PRINCIPAL)
    for held in folds:
        kept = set(held)
        train = [q for q in pools if q not in kept]
        pooled = [pools[q] for q in train]
        judged = _judgments(pooled, train, qrels, documents)
        adapter = None
        if model is not None:
            adapter = fit_query_adapter(searcher.store, model, pooled, judged)
        bare = fit_ranker(pooled, judged, model, feedback=False)
        for query in held:
            runs["ranker without adapter"][query] = _ranked(searcher, pools[query], "hybrid", bare)
        rankers = {
            "ranker": replace(bare, adapter=adapter),  # the weights do not depend on it
            "ranker+feedback": fit_ranker(pooled, judged, model, feedback=True, adapter=adapter),
        }
        adapted = Searcher(searcher.store, searcher.embedder, searcher.fusion, rankers["ranker"])
        again = collect_pools(adapted, principal, [pools[q].query for q in held], DEPTH)
        for query, pool in zip(held, again, strict=True):
            runs["adapted vector"][query] = _ranked(searcher, pool, "vector")
            for name, ranker in rankers.items():
                runs[name][query] = _ranked(searcher, pool, "hybrid", ranker)
    return runs


def evaluate_retrieval(
    store: Store,
    collection: Collection,
    embedder: Embedder | None,
    progress: Progress = quiet,
) -> dict[str, Any]:
    """Index the collection into ``store``, run its queries, and return the report."""
    started = time.monotonic()
    documents = index_documents(store, collection, embedder, progress)
    indexed = time.monotonic()
    principal = Principal.person(PRINCIPAL)
    plain = Searcher(store, embedder, ranker=None)
    rrf = Searcher(store, embedder, Fusion(keyword=1.0, vector=1.0, method="rrf"), ranker=None)
    qids = sorted(collection.queries)
    with progress("searching", len(qids)) as advance:
        found = collect_pools(
            plain, principal, [collection.queries[q] for q in qids], DEPTH, advance
        )
    pools = dict(zip(qids, found, strict=True))
    runs = {
        "keyword": {q: _ranked(plain, p, "keyword") for q, p in pools.items()},
        "vector": {q: _ranked(plain, p, "vector") for q, p in pools.items()},
        "rrf": {q: _ranked(rrf, p, "hybrid") for q, p in pools.items()},
        "fusion": {q: _ranked(plain, p, "hybrid") for q, p in pools.items()},
    }
    report: dict[str, Any] = {"learned_from": None}
    try:
        if collection.split == "train" and embedder is not None:
            with progress("cross-validating", 2 * FOLDS) as advance:
                by_query = folds_by_query(qids)
                runs.update(_cross_validated(plain, pools, collection.qrels, by_query, documents))
                advance(FOLDS)
                by_document = folds_by_document(collection.qrels)
                strict = _cross_validated(plain, pools, collection.qrels, by_document, documents)
                advance(FOLDS)
            report["learned_from"] = f"train, {FOLDS}-fold cross-validation by query"
            report["unseen_documents"] = {
                name: retrieval_scores(run, collection.qrels) for name, run in strict.items()
            }
        elif collection.train_qrels and embedder is not None:
            runs.update(_trained_on_train(store, collection, embedder, documents, pools, progress))
            report["learned_from"] = f"qrels/train.tsv ({len(collection.train_qrels)} queries)"
    except ValueError as exc:  # fit_ranker: the judged candidates hold no relevant item
        runs = {name: run for name, run in runs.items() if not name.startswith("ranker")}
        train = collection.root / "qrels" / "train.tsv"
        report = {"learned_from": None, "not_learned": f"{train}: nothing learned ({exc})"}
    return _retrieval_report(collection, documents, runs, report, started, indexed)


def _trained_on_train(
    store: Store,
    collection: Collection,
    embedder: Embedder,
    documents: Mapping[str, int],
    pools: Mapping[str, Pool],
    progress: Progress,
) -> dict[str, dict[str, list[str]]]:
    """Learn from the train judgments, store the ranker, and search the split with it."""
    principal = Principal.person(PRINCIPAL)
    plain = Searcher(store, embedder, ranker=None)
    qids = sorted(collection.train_queries)
    with progress("learning from train", len(qids)) as advance:
        found = collect_pools(
            plain, principal, [collection.train_queries[q] for q in qids], DEPTH, advance
        )
    judged = _judgments(found, qids, collection.train_qrels, documents)
    adapter = fit_query_adapter(store, embedder.name, found, judged)
    unadapted = fit_ranker(found, judged, embedder.name, feedback=False)
    bare = replace(unadapted, adapter=adapter)
    learned = fit_ranker(found, judged, embedder.name, feedback=True, adapter=adapter)
    save_ranker(store, learned, {"trained_on": len(judged), "collection": str(collection.root)})
    stored = Searcher(store, embedder)  # loads the ranker just stored, as search does
    runs: dict[str, dict[str, list[str]]] = {name: {} for name in LEARNED}
    with progress("searching with the learned ranker", len(pools)) as advance:
        for qid, pool in pools.items():
            runs["ranker without adapter"][qid] = _ranked(plain, pool, "hybrid", unadapted)
            again = stored.candidates(principal, collection.queries[qid], DEPTH)
            runs["adapted vector"][qid] = _ranked(plain, again, "vector")
            runs["ranker"][qid] = _ranked(plain, again, "hybrid", bare)
            results = stored.search(principal, collection.queries[qid], DEPTH)
            runs["ranker+feedback"][qid] = [r.item.external_id for r in results]
            advance(1)
    return runs


def _retrieval_report(
    collection: Collection,
    documents: Mapping[str, int],
    runs: Mapping[str, Mapping[str, list[str]]],
    report: dict[str, Any],
    started: float,
    indexed: float,
) -> dict[str, Any]:
    steps = {name: retrieval_scores(run, collection.qrels) for name, run in runs.items()}
    final = "ranker+feedback" if "ranker+feedback" in steps else "fusion"
    return {
        "collection": str(collection.root),
        "split": collection.split,
        "keyword": steps["keyword"],
        "vector": steps["vector"],
        "hybrid": steps[final],
        "hybrid_method": final,
        "n_queries": len(collection.qrels),
        "n_documents": len(documents),
        "steps": steps,
        **report,
        "skipped_lines": dict(collection.skipped),
        "seconds": {
            "indexing": round(indexed - started, 1),
            "searching": round(time.monotonic() - indexed, 1),
        },
    }
