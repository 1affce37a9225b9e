"""The learned ranker and its feedback memory: fitting, keeping, and searching with them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from understudy.brain import chunk_pending
from understudy.brain.embeddings import HashEmbedder, embed_pending
from understudy.brain.feedback import THRESHOLD, Feedback
from understudy.brain.rerank import (
    RANKER_FEATURES,
    Judgment,
    Ranker,
    collect_pools,
    feedback_from,
    fit_ranker,
    load_ranker,
    ranker_rows,
    save_ranker,
    train_ranker,
)
from understudy.brain.search import FEATURES, Searcher
from understudy.records import Item, Principal, Source, person_reader
from understudy.store import Store
from understudy.store.sqlite import SQLiteStore

# Documents on unrelated topics, and questions worded unlike one another.
DOCS = {
    "volcano": "The volcano on the island erupted twice; ash closed the airport for a week.",
    "sourdough": "Our sourdough starter needs rye flour and a warm kitchen to rise overnight.",
    "trombone": "Trombone rehearsal moved to the basement hall because of the noise.",
    "glacier": "Glacier measurements show the ice retreating forty metres each summer.",
    "payroll": "Payroll runs on the twenty-fifth; contractors invoice by the twentieth.",
    "kayak": "Kayak rentals open in June at the north pier, life jackets included.",
    "orchid": "Orchids want indirect light and watering once a week, never standing water.",
    "chess": "The chess club meets Thursdays; bring your own clock for blitz games.",
    "secret": "Merger code name Bluebird; only the board may read this.",
}
QUESTIONS = {
    "volcano": "when did ash from the eruption shut flights",
    "sourdough": "which flour feeds a bread starter",
    "trombone": "where is trombone rehearsal held",
    "glacier": "how fast is ice retreating",
    "payroll": "what day does payroll run",
    "kayak": "where can I hire a kayak",
    "orchid": "how often should orchids get water",
    "chess": "which day does the chess club meet",
}


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[SQLiteStore]:
    opened = SQLiteStore.open(tmp_path / "rank.db")
    yield opened
    opened.close()


def load(store: Store) -> dict[str, int]:
    """Store the documents (the secret one for bo only), chunked and embedded; return ids."""
    source = store.add_source(Source(kind="files", location="/docs"))
    assert source.id is not None
    items = [
        Item(
            source_id=source.id,
            external_id=name,
            kind="document",
            timestamp=datetime(2026, 1, 1, tzinfo=UTC),
            readers=frozenset({person_reader("bo" if name == "secret" else "ann")}),
            title=name.capitalize(),
            body=text,
        )
        for name, text in DOCS.items()
    ]
    ids = store.put_items(items).ids
    chunk_pending(store)
    embed_pending(store, HashEmbedder())
    return dict(zip(DOCS, ids, strict=True))


def judgments(ids: dict[str, int]) -> list[Judgment]:
    return [Judgment(question, {ids[name]: 1}) for name, question in QUESTIONS.items()]


ANN = Principal.person("ann")


# --- the ranker as a value ---------------------------------------------------------


def test_a_judgment_lists_its_useful_items() -> None:
    assert Judgment("q", {7: 1, 3: 2, 5: 0, 9: -1}).useful == (3, 7)
    assert Judgment("q").useful == ()


def test_a_ranker_scores_log_odds_and_knows_its_embedder() -> None:
    ranker = Ranker({"keyword": 2.0, "vector": 0.5}, bias=-1.0, model="hash")
    assert ranker.score({"keyword": 1.5, "vector": 2.0, "thread": 9.0}) == pytest.approx(3.0)
    assert ranker.fits(HashEmbedder())
    assert not ranker.fits(None)
    assert Ranker({}, model=None).fits(None)
    assert Ranker({}, model=None).fits(HashEmbedder())


def test_a_ranker_weighs_products_of_features_and_scores_many_candidates_alike() -> None:
    ranker = Ranker({"keyword*vector": 1.0, "dense*dense": -0.5, "feedback": 2.0}, bias=0.1)
    features = {"keyword": 2.0, "vector": 3.0, "dense": 2.0, "feedback": 0.5}
    assert ranker.score(features) == pytest.approx(0.1 + 6.0 - 2.0 + 1.0)
    assert "feedback*feedback" not in RANKER_FEATURES  # feedback stays linear
    assert set(FEATURES) < set(RANKER_FEATURES)
    many = [features, {}, {"keyword": -1.0, "vector": 1.0}]
    expected = [ranker.score(f) for f in many]
    assert ranker.score_many(many).tolist() == pytest.approx(expected)
    assert expected[1:] == pytest.approx([0.1, -0.9])
    rows = ranker_rows(many)
    assert rows.shape == (3, len(RANKER_FEATURES))


def test_a_ranker_round_trips_through_bytes_with_its_memory() -> None:
    vectors = HashEmbedder().embed_batch(["first question", "second question"])
    memory = Feedback.build("hash", list(vectors), [[3, 4], [5]])
    ranker = Ranker(dict.fromkeys(FEATURES, 0.25), 0.5, "hash", memory)
    back = Ranker.from_bytes(ranker.to_bytes())
    assert (back.weights, back.bias, back.model) == (ranker.weights, 0.5, "hash")
    assert back.feedback is not None
    assert back.feedback.items == ((3, 4), (5,))
    assert np.array_equal(back.feedback.vectors, memory.vectors)
    assert Ranker.from_bytes(Ranker({"keyword": 1.0}).to_bytes()).feedback is None


def test_the_stored_ranker_is_the_one_searches_use(store: Store) -> None:
    assert load_ranker(store) is None
    assert Searcher(store, HashEmbedder()).ranker is None
    assert save_ranker(store, Ranker({"keyword": 1.0}, model="hash"), {"trained_on": 1}) == 1
    assert save_ranker(store, Ranker({"keyword": 2.0}, model="hash"), {"trained_on": 2}) == 2
    stored = load_ranker(store)
    assert stored is not None
    assert stored.weights == {"keyword": 2.0}
    assert Searcher(store, HashEmbedder()).ranker == stored
    # Trained on the hash model's vectors: no use to a search without them.
    assert Searcher(store, None).ranker is None
    assert Searcher(store, HashEmbedder(), ranker=None).ranker is None


# --- the feedback memory -----------------------------------------------------------


def test_feedback_recalls_items_of_close_queries_only() -> None:
    a, b = np.eye(4, dtype=np.float32)[:2]
    memory = Feedback.build("hash", [a, b], [[1, 2], [3]])
    assert len(memory) == 2
    assert memory.scores(a) == {1: pytest.approx(1.0), 2: pytest.approx(1.0)}
    # Just above the threshold counts a little; below it counts nothing.
    near = a * 0.9 + b * (1 - 0.9**2) ** 0.5
    assert memory.scores(near)[1] == pytest.approx((0.9 - THRESHOLD) / (1 - THRESHOLD), abs=1e-5)
    far = a * 0.7 + b * (1 - 0.7**2) ** 0.5
    assert memory.scores(far) == {}
    # A query is never its own evidence, and vectors of another size match nothing.
    assert memory.scores(a, exclude=0) == {}
    assert memory.scores(np.ones(3, dtype=np.float32)) == {}


def test_feedback_round_trips_and_an_empty_memory_recalls_nothing() -> None:
    vectors = list(HashEmbedder().embed_batch(["a question", "another one"]))
    memory = Feedback.build("hash", vectors, [[1], [2, 3]], threshold=0.9)
    back = Feedback.from_data(memory.as_data())
    assert (back.model, back.items, back.threshold) == ("hash", ((1,), (2, 3)), 0.9)
    assert np.array_equal(back.vectors, memory.vectors)
    empty = Feedback.build("hash", [], [])
    assert empty.scores(vectors[0]) == {}
    assert Feedback.from_data(empty.as_data()).items == ()
    with pytest.raises(ValueError, match="one list of items per query vector"):
        Feedback.build("hash", vectors, [[1]])


# --- learning ----------------------------------------------------------------------


def test_pools_are_gathered_per_query(sqlite: SQLiteStore) -> None:
    ids = load(sqlite)
    searcher = Searcher(sqlite, HashEmbedder(), ranker=None)
    counted: list[int] = []
    pools = collect_pools(searcher, ANN, list(QUESTIONS.values()), 5, counted.append)
    assert counted == [1] * len(QUESTIONS)
    assert [p.query for p in pools] == list(QUESTIONS.values())
    assert all(p.vector is not None for p in pools)
    # The asker's pool never holds what they may not read.
    assert all(ids["secret"] not in p.candidates for p in pools)


def test_a_ranker_learns_that_matching_words_and_meaning_count(sqlite: SQLiteStore) -> None:
    ids = load(sqlite)
    searcher = Searcher(sqlite, HashEmbedder(), ranker=None)
    ranker = train_ranker(searcher, ANN, judgments(ids))
    assert ranker.model == "hash"
    assert ranker.weights["keyword"] > 0
    assert ranker.weights["vector"] > 0
    assert ranker.feedback is not None
    assert len(ranker.feedback) == len(QUESTIONS)
    # No question here has a near twin, and none may be its own evidence, so the
    # feedback feature was zero for every training row and earned no weight.
    vectors = HashEmbedder().embed_batch(list(QUESTIONS.values()))
    similarity = vectors @ vectors.T - np.eye(len(QUESTIONS))
    assert similarity.max() < THRESHOLD
    assert ranker.weights["feedback"] == pytest.approx(0.0, abs=1e-9)


def test_search_with_the_stored_ranker_puts_the_answer_first(sqlite: SQLiteStore) -> None:
    ids = load(sqlite)
    ranker = train_ranker(Searcher(sqlite, HashEmbedder(), ranker=None), ANN, judgments(ids))
    save_ranker(sqlite, ranker, {"trained_on": len(QUESTIONS)})
    searcher = Searcher(sqlite, HashEmbedder())
    for name, question in QUESTIONS.items():
        results = searcher.search(ANN, question, 3)
        assert results[0].item.external_id == name, question
        assert 0.0 < results[0].score < 1.0  # a learned score reads as a probability


def test_feedback_reorders_what_the_askers_own_search_found(sqlite: SQLiteStore) -> None:
    ids = load(sqlite)
    embedder = HashEmbedder()
    question = "which day does the chess club meet"
    # A memory that says the kayak note answered this very question, weighed heavily.
    memory = Feedback.build(
        "hash", [embedder.embed_batch([question])[0]], [[ids["kayak"], ids["secret"]]]
    )
    ranker = Ranker({"keyword": 1.0, "vector": 1.0, "feedback": 50.0}, 0.0, "hash", memory)
    searcher = Searcher(sqlite, embedder, ranker=ranker)
    results = searcher.search(ANN, question, 5)
    assert results[0].item.external_id == "kayak"
    assert "judged useful for a similar earlier search" in results[0].why
    # An item judged useful for someone else is never shown to a reader who may not read it.
    assert "secret" not in [r.item.external_id for r in searcher.search(ANN, question, 10)]
    # A question unlike the remembered one ranks as without feedback.
    other = searcher.search(ANN, "how often should orchids get water", 1)
    assert other[0].item.external_id == "orchid"


def test_fitting_needs_relevant_and_irrelevant_candidates(sqlite: SQLiteStore) -> None:
    load(sqlite)
    searcher = Searcher(sqlite, HashEmbedder(), ranker=None)
    pools = collect_pools(searcher, ANN, ["kayak rentals"])
    with pytest.raises(ValueError, match="all relevant or all not"):
        fit_ranker(pools, [Judgment("kayak rentals", {10_000: 1})], "hash")
    with pytest.raises(ValueError, match="all relevant or all not"):
        fit_ranker([], [], "hash")


def test_without_query_vectors_there_is_no_memory(sqlite: SQLiteStore) -> None:
    ids = load(sqlite)
    searcher = Searcher(sqlite, None, ranker=None)
    # "week" is in two notes, so the pools hold relevant and irrelevant candidates.
    judged = [*judgments(ids), Judgment("a week", {ids["orchid"]: 1})]
    pools = collect_pools(searcher, ANN, [j.query for j in judged])
    assert feedback_from("hash", pools, judged) is None
    ranker = fit_ranker(pools, judged, None)
    assert ranker.model is None
    assert ranker.feedback is None
    assert ranker.weights["vector"] == 0.0
    assert fit_ranker(pools, judged, "hash", feedback=False).feedback is None
