"""A ranker learned from judgments, kept in the store, used by every search.

Judgments say which items answer which queries: an evaluation's relevance
files, or an organization's own feedback on its searches. Training runs each
judged query through the same ``Searcher.candidates`` that search uses,
labels each candidate item, and fits a logistic regression over the
candidates' ``FEATURES``. The judged queries also become the ranker's
``Feedback`` memory. While training, each query's feedback feature leaves
that query itself out of the memory, so the weight learned for feedback is
the weight it earns on queries it has not seen.

The ranker is stored once per organization (``save_ranker``) and every
``Searcher`` on the store loads it, as long as it was trained on vectors of
the embedder the searcher uses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from understudy.brain.adapter import QueryAdapter, examples, fit_adapter
from understudy.brain.feedback import Feedback
from understudy.brain.search import FEATURES, Pool, QueryEmbedder, Searcher
from understudy.errors import InputError, NotFound
from understudy.records import Principal
from understudy.store import Store

__all__ = [
    "RANKER_FEATURES",
    "RANKER_KIND",
    "RANKER_OWNER",
    "Judgment",
    "Ranker",
    "collect_pools",
    "feedback_from",
    "fit_query_adapter",
    "fit_ranker",
    "keep_judgments",
    "kept_judgments",
    "learn_ranker",
    "load_ranker",
    "merge_judgments",
    "ranker_rows",
    "read_judgments",
    "save_ranker",
    "train_ranker",
]

# The models-table row the ranker is kept in: one per organization.
RANKER_OWNER = "*"
RANKER_KIND = "search-ranker"
JUDGMENTS_KIND = "search-judgments"  # the judged searches it learned from (JSON lines)
# Inverse regularization of the logistic regression; the features are few and
# on one scale, so the fit is not sensitive to it (0.1 to 10 measured alike).
REGULARIZATION = 1.0
MAX_QUERY = 2000  # characters of a judged query kept
ADAPTER_QUERIES = 3000  # the latest judged queries a query adapter learns from
ADAPTER_BATCH = 200  # judged queries whose candidates' vectors are read at once


@dataclass(frozen=True, slots=True)
class Judgment:
    """One query and the items that answer it, with grades (above 0 means relevant)."""

    query: str
    relevant: Mapping[int, int] = field(default_factory=dict)

    @property
    def useful(self) -> tuple[int, ...]:
        """Return the ids of the items judged relevant."""
        return tuple(sorted(item for item, grade in self.relevant.items() if grade > 0))


# The ranker weighs each feature and each product of two features (feedback
# stays linear): on SciFact train (5-fold, 809 queries) nDCG@10 0.736 with the
# features alone, 0.745 with the products and the reciprocal-rank features.
PAIRED = tuple(name for name in FEATURES if name != "feedback")
_FIRST, _SECOND = np.triu_indices(len(PAIRED))
PRODUCTS = tuple(f"{PAIRED[i]}*{PAIRED[j]}" for i, j in zip(_FIRST, _SECOND, strict=True))
RANKER_FEATURES = (*FEATURES, *PRODUCTS)
_PAIRED_AT = np.array([FEATURES.index(name) for name in PAIRED])


def ranker_rows(features: Sequence[Mapping[str, float]]) -> NDArray[np.float64]:
    """Return candidates' features and their pairwise products, in ``RANKER_FEATURES`` order."""
    plain = np.array([[f.get(name, 0.0) for name in FEATURES] for f in features], dtype=np.float64)
    plain = plain.reshape(len(features), len(FEATURES))
    paired = plain[:, _PAIRED_AT]
    return np.hstack([plain, paired[:, _FIRST] * paired[:, _SECOND]])


@dataclass(frozen=True, slots=True)
class Ranker:
    """A logistic model over search features and their products, the feedback
    memory it learned with, and the query adapter searches use with it. A
    ranker stored before the products existed weighs the features alone."""

    weights: Mapping[str, float]
    bias: float = 0.0
    model: str | None = None
    feedback: Feedback | None = None
    adapter: QueryAdapter | None = None

    def score(self, features: Mapping[str, float]) -> float:
        """Return the ranker's score (log-odds of relevance) for one candidate."""
        return float(self.score_many([features])[0])

    def score_many(self, features: Sequence[Mapping[str, float]]) -> NDArray[np.float64]:
        """Return the ranker's scores for many candidates at once."""
        weights = np.array([self.weights.get(name, 0.0) for name in RANKER_FEATURES])
        scores: NDArray[np.float64] = ranker_rows(features) @ weights + self.bias
        return scores

    def fits(self, embedder: QueryEmbedder | None) -> bool:
        """Return whether the ranker was trained on this embedder's vectors (or on none)."""
        if self.model is None:
            return True
        return embedder is not None and embedder.name == self.model

    def to_bytes(self) -> bytes:
        """Return the ranker as JSON bytes."""
        data: dict[str, Any] = {
            "weights": dict(self.weights),
            "bias": self.bias,
            "model": self.model,
            "feedback": self.feedback.as_data() if self.feedback is not None else None,
            "adapter": self.adapter.as_data() if self.adapter is not None else None,
        }
        return json.dumps(data).encode("utf-8")

    @classmethod
    def from_bytes(cls, blob: bytes) -> Ranker:
        """Return the ranker ``to_bytes`` wrote."""
        data = json.loads(blob.decode("utf-8"))
        feedback = Feedback.from_data(data["feedback"]) if data.get("feedback") else None
        adapter = QueryAdapter.from_data(data["adapter"]) if data.get("adapter") else None
        weights = {str(k): float(v) for k, v in data["weights"].items()}
        return cls(weights, float(data["bias"]), data.get("model"), feedback, adapter)


def save_ranker(store: Store, ranker: Ranker, summary: Mapping[str, Any]) -> int:
    """Keep ``ranker`` as the organization's search ranker; return its version."""
    return store.put_model(RANKER_OWNER, RANKER_KIND, ranker.to_bytes(), dict(summary))


def load_ranker(store: Store) -> Ranker | None:
    """Return the organization's stored search ranker, or None if none was trained."""
    stored = store.get_model(RANKER_OWNER, RANKER_KIND)
    return Ranker.from_bytes(stored.blob) if stored is not None else None


def collect_pools(
    searcher: Searcher,
    principal: Principal,
    queries: Sequence[str],
    limit: int = 10,
    progress: Callable[[int], None] | None = None,
) -> list[Pool]:
    """Return each query's hybrid candidates, as search would gather them."""
    pools = []
    for query in queries:
        pool = searcher.candidates(principal, query, limit)
        searcher.add_vector_features(pool)  # a ranker learns from them
        pools.append(pool)
        if progress is not None:
            progress(1)
    return pools


def feedback_from(
    model: str, pools: Sequence[Pool], judgments: Sequence[Judgment]
) -> Feedback | None:
    """Return the feedback memory of judged queries, or None without query vectors."""
    rows = [
        (pool.vector, judgment.useful)
        for pool, judgment in zip(pools, judgments, strict=True)
        if pool.vector is not None and judgment.useful
    ]
    if not rows:
        return None
    return Feedback.build(model, [v for v, _ in rows], [items for _, items in rows])


def fit_query_adapter(
    store: Store, model: str, pools: Sequence[Pool], judgments: Sequence[Judgment]
) -> QueryAdapter | None:
    """Learn a query adapter from judged queries' pools (gathered without one).

    Each judged query's useful items are its positives, whether its search
    found them or not; its other candidates are the negatives. Vectors are
    read as the principal who searched, ``ADAPTER_BATCH`` queries at a time,
    and only the latest ``ADAPTER_QUERIES`` judged queries teach it, so memory
    stays bounded however many judgments an organization keeps. Returns None
    when no query has both.
    """
    taught = []
    recent = list(zip(pools, judgments, strict=True))[-ADAPTER_QUERIES:]
    grouped = _by_principal([p for p, _ in recent], [j for _, j in recent])
    for principal, judged in grouped.items():
        for start in range(0, len(judged), ADAPTER_BATCH):
            batch = judged[start : start + ADAPTER_BATCH]
            wanted = {i for pool, judgment in batch for i in (*pool.candidates, *judgment.useful)}
            vectors = store.item_vectors(principal, model, sorted(wanted))
            for pool, judgment in batch:
                useful = set(judgment.useful)
                others = [vectors[i] for i in pool.candidates if i not in useful and i in vectors]
                positives = [vectors[i] for i in judgment.useful if i in vectors]
                if pool.vector is not None:
                    taught.extend(examples(pool.vector, positives, others))
    try:
        return fit_adapter(model, taught)
    except ValueError:
        return None


def _by_principal(
    pools: Sequence[Pool], judgments: Sequence[Judgment]
) -> dict[Principal, list[tuple[Pool, Judgment]]]:
    grouped: dict[Principal, list[tuple[Pool, Judgment]]] = {}
    for pool, judgment in zip(pools, judgments, strict=True):
        if pool.vector is not None and judgment.useful:
            grouped.setdefault(pool.principal, []).append((pool, judgment))
    return grouped


def fit_ranker(
    pools: Sequence[Pool],
    judgments: Sequence[Judgment],
    model: str | None,
    feedback: bool = True,
    adapter: QueryAdapter | None = None,
) -> Ranker:
    """Fit a ranker on judged queries' candidate pools (from ``collect_pools``).

    ``adapter`` is kept with the ranker: searches with it move their query
    vectors (the weights are learned on the pools as given).
    """
    from sklearn.linear_model import LogisticRegression

    memory = feedback_from(model, pools, judgments) if feedback and model else None
    rows, labels = _training_rows(pools, judgments, memory)
    if len(set(labels.tolist())) < 2:
        raise ValueError(
            "the judged queries' candidates are all relevant or all not; "
            "a ranker needs both to learn from"
        )
    fitted = LogisticRegression(C=REGULARIZATION, max_iter=5000).fit(rows, labels)
    weights = {name: float(w) for name, w in zip(RANKER_FEATURES, fitted.coef_[0], strict=True)}
    return Ranker(weights, float(fitted.intercept_[0]), model, memory, adapter)


def train_ranker(
    searcher: Searcher,
    principal: Principal,
    judgments: Sequence[Judgment],
    progress: Callable[[int], None] | None = None,
    adapt: bool = True,
) -> Ranker:
    """Run each judged query as ``principal`` and learn a ranker (and, with an
    embedder and ``adapt``, its query adapter) from the candidates."""
    judged = [(principal, judgment) for judgment in judgments]
    return learn_ranker(searcher, judged, progress, adapt)


def learn_ranker(
    searcher: Searcher,
    judged: Sequence[tuple[Principal, Judgment]],
    progress: Callable[[int], None] | None = None,
    adapt: bool = True,
) -> Ranker:
    """Run each judged query as the principal who judged it, with ``searcher``'s store,
    embedder and fusion but no ranker, then learn a ranker (and, with an embedder
    and ``adapt``, its query adapter) from the candidates.

    Raises ValueError when the candidates hold no useful item, or nothing else.
    """
    store, embedder = searcher.store, searcher.embedder
    plain = Searcher(store, embedder, searcher.fusion, ranker=None)
    pools = []
    for principal, judgment in judged:
        pools.extend(collect_pools(plain, principal, [judgment.query], progress=progress))
    judgments = [judgment for _, judgment in judged]
    model = embedder.name if embedder is not None else None
    adapter = None
    if adapt and model is not None:
        adapter = fit_query_adapter(store, model, pools, judgments)
    return fit_ranker(pools, judgments, model, adapter=adapter)


def read_judgments(store: Store, path: Path) -> tuple[list[tuple[Principal, Judgment]], list[str]]:
    """Read judged searches from a JSON-lines file; return them and what was skipped.

    Each line is ``{"as": PERSON, "query": TEXT, "useful": [ITEM, ...]}``, the
    item ids as ``understudy search`` shows them. A line that is not such an
    object, names no known person, or lists no item that person may read is
    skipped with a reason naming the file and line; items the person may not
    read are dropped without saying which (that would tell them they exist).
    """
    judged: list[tuple[Principal, Judgment]] = []
    skipped: list[str] = []
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the judgments ({exc.strerror})") from None
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            judged.append(_judgment(store, json.loads(raw.decode("utf-8"))))
        except (UnicodeDecodeError, json.JSONDecodeError):
            skipped.append(f"{path}:{number}: not a line of UTF-8 JSON")
        except (InputError, NotFound) as exc:
            skipped.append(f"{path}:{number}: {exc.message}")
    return judged, skipped


def kept_judgments(store: Store) -> list[tuple[Principal, Judgment]]:
    """Return the judged searches ``keep_judgments`` stored, as they stand now: a
    person gone or an item no longer readable by its judge drops out."""
    stored = store.get_model(RANKER_OWNER, JUDGMENTS_KIND)
    if stored is None:
        return []
    kept = []
    for line in stored.blob.decode("utf-8").splitlines():
        try:
            kept.append(_judgment(store, json.loads(line)))
        except (ValueError, InputError, NotFound):
            continue
    return kept


def keep_judgments(store: Store, judged: Sequence[tuple[Principal, Judgment]]) -> int:
    """Store the organization's judged searches (replacing the kept ones); return the version."""
    lines = [
        json.dumps({"as": principal.people[0], "query": j.query, "useful": list(j.useful)})
        for principal, j in judged
    ]
    blob = "\n".join(lines).encode("utf-8")
    return store.put_model(RANKER_OWNER, JUDGMENTS_KIND, blob, {"judged": len(lines)})


def merge_judgments(
    kept: Sequence[tuple[Principal, Judgment]], new: Sequence[tuple[Principal, Judgment]]
) -> list[tuple[Principal, Judgment]]:
    """Return the kept judged searches with the new ones; a new judgment of the same
    person's same query replaces the kept one."""
    merged = {(p.people, j.query): (p, j) for p, j in kept}
    merged.update({(p.people, j.query): (p, j) for p, j in new})
    return list(merged.values())


def _judgment(store: Store, record: Any) -> tuple[Principal, Judgment]:
    if not isinstance(record, dict):
        raise InputError('not an object {"as": PERSON, "query": TEXT, "useful": [ITEM, ...]}')
    person, query, useful = record.get("as"), record.get("query"), record.get("useful")
    if not isinstance(person, str) or not person.strip():
        raise InputError('"as": the person who searched is missing')
    if not isinstance(query, str) or not query.strip():
        raise InputError('"query": the search text is missing')
    if not isinstance(useful, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in useful
    ):
        raise InputError('"useful": a list of item ids is missing')
    principal = Principal.person(store.find_person(person).id)
    readable = [head.id for head in store.item_heads(principal, useful)]
    if not readable:
        raise InputError(f'"useful": none of the items is one {person!r} may read')
    return principal, Judgment(query.strip()[:MAX_QUERY], dict.fromkeys(readable, 1))


def _training_rows(
    pools: Sequence[Pool], judgments: Sequence[Judgment], memory: Feedback | None
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    rows: list[dict[str, float]] = []
    labels: list[int] = []
    remembered = 0
    for pool, judgment in zip(pools, judgments, strict=True):
        recalled: dict[int, float] = {}
        if memory is not None and pool.vector is not None:
            # The memory holds the judged queries with useful items, in order.
            own = remembered if judgment.useful else None
            recalled = memory.scores(pool.vector, exclude=own)
            remembered += 1 if judgment.useful else 0
        for item_id, candidate in pool.candidates.items():
            rows.append({**candidate.features, "feedback": recalled.get(item_id, 0.0)})
            labels.append(1 if judgment.relevant.get(item_id, 0) > 0 else 0)
    return ranker_rows(rows), np.asarray(labels, dtype=np.int64)
