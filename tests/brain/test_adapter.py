"""The query adapter: learning it, keeping it with the ranker, and searching with it."""

from __future__ import annotations

import numpy as np
import pytest

from tests.brain.test_rerank import ANN, QUESTIONS, judgments, load, sqlite  # noqa: F401
from understudy.brain.adapter import QueryAdapter, examples, fit_adapter
from understudy.brain.embeddings import HashEmbedder
from understudy.brain.rerank import Ranker, load_ranker, save_ranker, train_ranker
from understudy.brain.search import Searcher
from understudy.records import Principal
from understudy.store import Store
from understudy.store.sqlite import SQLiteStore

DIM = 16


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def _rotated_world(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Documents, and queries that land near a fixed rotation of their answer."""
    rng = np.random.default_rng(seed)
    documents = _unit(rng.normal(size=(40, DIM)))
    rotation, _ = np.linalg.qr(rng.normal(size=(DIM, DIM)))
    answers = rng.integers(0, len(documents), size=200)
    noise = 0.05 * rng.normal(size=(len(answers), DIM))
    queries = _unit(documents[answers] @ rotation.T + noise)
    return documents, queries, answers


def _hit_rate(queries: np.ndarray, documents: np.ndarray, answers: np.ndarray) -> float:
    return float(np.mean(np.argmax(queries @ documents.T, axis=1) == answers))


def test_an_adapter_learns_where_judged_queries_should_land() -> None:
    documents, queries, answers = _rotated_world(3)
    taught = []
    for query, answer in zip(queries[:150], answers[:150], strict=True):
        others = [documents[[n]] for n in range(len(documents)) if n != answer]
        taught.extend(examples(query, [documents[[answer]]], others, negatives=10))
    adapter = fit_adapter("toy", taught, strength=0.01, epochs=200)
    assert adapter.trained_on == 150
    held, held_answers = queries[150:], answers[150:]
    before = _hit_rate(held, documents, held_answers)
    after = _hit_rate(adapter.apply(held), documents, held_answers)
    assert before < 0.3
    assert after > 0.9
    # Its output is unit length, for one vector and for rows of them.
    assert np.linalg.norm(adapter.apply(held[0])) == pytest.approx(1.0, abs=1e-5)
    assert np.linalg.norm(adapter.apply(held), axis=1) == pytest.approx(1.0, abs=1e-5)


def test_a_strong_penalty_keeps_the_adapter_near_the_identity() -> None:
    documents, queries, answers = _rotated_world(4)
    taught = [
        e
        for q, a in zip(queries[:50], answers[:50], strict=True)
        for e in examples(q, [documents[[a]]], [documents[[(a + 1) % 40]]])
    ]
    stiff = fit_adapter("toy", taught, strength=1e4)
    assert np.abs(stiff.matrix - np.eye(DIM)).max() < 0.01


def test_examples_take_the_chunk_nearest_the_query_and_the_nearest_others() -> None:
    query = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    useful = np.array([[0.0, 1.0, 0.0], [0.8, 0.6, 0.0]], dtype=np.float32)  # two chunks
    far = np.array([[0.0, 0.0, 1.0]], dtype=np.float32)
    near = np.array([[0.6, 0.0, 0.8]], dtype=np.float32)
    empty = np.zeros((0, 3), dtype=np.float32)
    (example,) = examples(query, [useful, empty], [far, near, empty], negatives=1)
    assert example.useful.tolist() == pytest.approx([0.8, 0.6, 0.0])
    assert example.others.tolist() == [pytest.approx([0.6, 0.0, 0.8])]
    assert examples(query, [], [far]) == []


def test_nothing_to_learn_from_is_an_error() -> None:
    query = np.ones(3, dtype=np.float32) / np.sqrt(3)
    lonely = examples(query, [query.reshape(1, 3)], [])
    with pytest.raises(ValueError, match="both a useful chunk and another candidate"):
        fit_adapter("toy", lonely)
    with pytest.raises(ValueError, match="both a useful chunk"):
        fit_adapter("toy", [])


def test_an_adapter_round_trips_and_a_damaged_one_is_refused() -> None:
    adapter = QueryAdapter("hash", np.arange(9, dtype=np.float32).reshape(3, 3), 7)
    back = QueryAdapter.from_data(adapter.as_data())
    assert (back.model, back.trained_on) == ("hash", 7)
    assert np.array_equal(back.matrix, adapter.matrix)
    damaged = {**adapter.as_data(), "dim": 4}
    with pytest.raises(ValueError, match="9 numbers for a 4x4 matrix"):
        QueryAdapter.from_data(damaged)


def test_a_ranker_keeps_its_adapter_and_an_older_ranker_has_none() -> None:
    adapter = QueryAdapter("hash", np.eye(4, dtype=np.float32) * 2, 3)
    back = Ranker.from_bytes(Ranker({"keyword": 1.0}, 0.0, "hash", None, adapter).to_bytes())
    assert back.adapter is not None
    assert np.array_equal(back.adapter.matrix, adapter.matrix)
    older = b'{"weights": {"keyword": 1.0}, "bias": 0.0, "model": "hash", "feedback": null}'
    assert Ranker.from_bytes(older).adapter is None


def _toward(
    store: Store, target: int, embedder: HashEmbedder, reader: Principal = ANN
) -> QueryAdapter:
    """An adapter that sends every query to ``target``'s vector (as ``reader`` reads it)."""
    (vectors,) = store.item_vectors(reader, embedder.name, [target]).values()
    aim = vectors[0] / np.linalg.norm(vectors[0])
    matrix = np.outer(aim, np.ones(aim.size, dtype=np.float32)).astype(np.float32)
    return QueryAdapter(embedder.name, matrix)


def test_searches_move_their_query_by_the_rankers_adapter(store: Store) -> None:
    ids = load(store)
    embedder = HashEmbedder()
    question = QUESTIONS["chess"]
    kayak = _toward(store, ids["kayak"], embedder)
    searcher = Searcher(store, embedder, ranker=Ranker({"vector": 1.0}, 0.0, "hash", None, kayak))
    names = {item_id: name for name, item_id in ids.items()}
    assert [names[h.item_id] for h in searcher.vector(ANN, question, 1)] == ["kayak"]
    pool = searcher.candidates(ANN, question, 5, mode="vector")
    assert pool.vector is not None
    assert pool.adapted is not None
    assert np.allclose(pool.vector, embedder.embed_batch([question])[0])  # memory compares these
    assert pool.searched is pool.adapted
    # An adapter of another model is not used; a search without a ranker has none.
    other = QueryAdapter("minilm-int8", kayak.matrix)
    for ranker in (Ranker({"vector": 1.0}, 0.0, "hash", None, other), None):
        plain = Searcher(store, embedder, ranker=ranker)
        assert plain.candidates(ANN, question, 5, mode="vector").adapted is None
        assert names[plain.vector(ANN, question, 1)[0].item_id] == "chess"


def test_an_adapter_aimed_at_a_secret_still_shows_only_what_the_reader_may_read(
    store: Store,
) -> None:
    ids = load(store)
    embedder = HashEmbedder()
    secret = _toward(store, ids["secret"], embedder, Principal.person("bo"))
    searcher = Searcher(store, embedder, ranker=Ranker({"vector": 1.0}, 0.0, "hash", None, secret))
    found = {r.item.external_id for r in searcher.search(ANN, "merger code name", 20)}
    assert "secret" not in found
    assert store.item_vectors(ANN, "hash", [ids["secret"], ids["kayak"]]).keys() == {ids["kayak"]}


def test_item_vectors_hold_each_items_chunks_in_order(store: Store) -> None:
    ids = load(store)
    found = store.item_vectors(ANN, "hash", [ids["kayak"], ids["orchid"], 10_000])
    assert found.keys() == {ids["kayak"], ids["orchid"]}
    chunks = store.chunk_vectors(ANN, "hash", [])  # nothing asked, nothing read
    assert chunks == {}
    assert all(m.ndim == 2 and m.shape[1] == HashEmbedder.dim for m in found.values())
    assert store.item_vectors(ANN, "hash", []) == {}
    assert store.item_vectors(ANN, "no-such-model", [ids["kayak"]]) == {}


def test_training_learns_an_adapter_that_searches_then_use(sqlite: SQLiteStore) -> None:  # noqa: F811
    ids = load(sqlite)
    ranker = train_ranker(Searcher(sqlite, HashEmbedder(), ranker=None), ANN, judgments(ids))
    assert ranker.adapter is not None
    assert ranker.adapter.model == "hash"
    assert ranker.adapter.trained_on == len(QUESTIONS)
    unadapted = train_ranker(
        Searcher(sqlite, HashEmbedder(), ranker=None), ANN, judgments(ids), adapt=False
    )
    assert unadapted.adapter is None
    save_ranker(sqlite, ranker, {"trained_on": len(QUESTIONS)})
    stored = load_ranker(sqlite)
    assert stored is not None
    assert stored.adapter is not None
    searcher = Searcher(sqlite, HashEmbedder())
    pool = searcher.candidates(ANN, QUESTIONS["kayak"], 3)
    assert pool.adapted is not None
    for name, question in QUESTIONS.items():
        assert searcher.search(ANN, question, 3)[0].item.external_id == name, question
