"""The vector indexes: exact and HNSW agree under the permission filter, and the
store's index follows its tables, survives a restart and rebuilds when broken."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from understudy.errors import ConfigError
from understudy.records import Item, Principal, Source
from understudy.store import ChunkDraft, Store
from understudy.store.hnsw import HnswIndex
from understudy.store.sqlite import SQLiteStore
from understudy.store.vectors import ExactIndex, IndexOptions

DIM = 48


def clustered(count: int, seed: int, dim: int = DIM) -> NDArray[np.float32]:
    """Return unit vectors in topics and subtopics, like embeddings of related texts."""
    rng = np.random.default_rng(seed)
    topics = rng.normal(size=(30, dim))
    subtopics = topics[rng.integers(0, 30, 600)] + 0.5 * rng.normal(size=(600, dim))
    vectors = subtopics[rng.integers(0, 600, count)] + 0.35 * rng.normal(size=(count, dim))
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return unit.astype(np.float32)


@pytest.fixture(scope="module")
def indexes() -> tuple[ExactIndex, HnswIndex, NDArray[np.int64], NDArray[np.float32]]:
    """Build an exact and an HNSW index over the same 12,000 vectors in 300 reader sets."""
    drawn = clustered(12_200, seed=1)
    vectors, queries = drawn[:12_000], drawn[12_000:]
    ids = np.arange(12_000, dtype=np.int64) * 7 + 3
    groups = np.random.default_rng(2).integers(1, 301, len(ids)).astype(np.int64)
    exact, graph = ExactIndex(DIM), HnswIndex(DIM)
    for start in range(0, len(ids), 5_000):
        part = slice(start, start + 5_000)
        exact.add(ids[part], groups[part], vectors[part])
        graph.add(ids[part], groups[part], vectors[part])
    return exact, graph, groups, queries


@pytest.mark.parametrize("share", [0.002, 0.01, 0.05, 0.2, 0.6, 1.0])
@pytest.mark.parametrize("k", [10, 100])
def test_hnsw_loses_no_recall_to_the_reader_filter(
    indexes: tuple[ExactIndex, HnswIndex, NDArray[np.int64], NDArray[np.float32]],
    share: float,
    k: int,
) -> None:
    exact, graph, groups, queries = indexes
    rng = np.random.default_rng(int(share * 1000) + k)
    recalls = []
    for query in queries[:40]:
        allowed = {int(g) for g in rng.choice(np.arange(1, 301), max(1, round(300 * share)))}
        truth = exact.search(query, k, allowed)
        found = graph.search(query, k, allowed)
        readable = set(np.flatnonzero(np.isin(groups, list(allowed))) * 7 + 3)
        assert {chunk for chunk, _ in found} <= readable
        assert len(found) == len(truth) == min(k, len(readable))
        recalls.append(len({c for c, _ in truth} & {c for c, _ in found}) / max(1, len(truth)))
    assert np.mean(recalls) >= 0.95, f"recall@{k} at share {share}: {np.mean(recalls):.3f}"


def test_hnsw_scores_are_close_to_exact_cosines(
    indexes: tuple[ExactIndex, HnswIndex, NDArray[np.int64], NDArray[np.float32]],
) -> None:
    exact, graph, _, queries = indexes
    for query in queries[:20]:
        truth = dict(exact.search(query, 10, None))
        for chunk, score in graph.search(query, 10, None):
            if chunk in truth:
                assert abs(score - truth[chunk]) < 0.02


def test_hnsw_honours_an_id_filter_and_deletions() -> None:
    vectors = clustered(3_000, seed=4)
    ids = np.arange(1, 3_001, dtype=np.int64)
    graph = HnswIndex(DIM)
    graph.add(ids, np.ones(len(ids), dtype=np.int64), vectors)
    wanted = set(range(1, 3_001, 37))
    hits = graph.search(vectors[0], 20, None, wanted)
    assert {c for c, _ in hits} <= wanted
    assert len(hits) == 20
    assert graph.remove(np.array([1, 2, 3, 999_999], dtype=np.int64)) == 3
    assert 1 not in {c for c, _ in graph.search(vectors[0], 50, None)}
    assert len(graph) == 2_997
    assert graph.tombstone_share == pytest.approx(3 / 3_000)


def test_saved_hnsw_index_reads_back_identically(tmp_path: Path) -> None:
    vectors = clustered(2_000, seed=5)
    ids = np.arange(2_000, dtype=np.int64)
    graph = HnswIndex(DIM)
    graph.add(ids, ids % 5, vectors)
    graph.remove(np.array([4, 5], dtype=np.int64))
    graph.save(tmp_path / "g")
    again = HnswIndex.load(tmp_path / "g", DIM)
    assert again.search(vectors[9], 15, {1, 2}) == graph.search(vectors[9], 15, {1, 2})
    assert len(again) == 1_998
    (tmp_path / "g.faiss").write_bytes(b"not an index")
    with pytest.raises(ValueError):
        HnswIndex.load(tmp_path / "g", DIM)


def test_unknown_vector_index_setting_says_what_to_choose() -> None:
    with pytest.raises(ConfigError, match="choose one of auto, exact, hnsw"):
        IndexOptions("fastest")


def _load(store: Store, count: int, tag: str = "a") -> list[int]:
    """Store ``count`` one-chunk documents: even ones readable by ann, odd ones by bob."""
    source = store.add_source(Source(kind="files", location=f"/{tag}"))
    assert source.id is not None
    items = [
        Item(
            source_id=source.id,
            external_id=f"{tag}{n}",
            kind="document",
            timestamp=datetime(2026, 1, 1, tzinfo=UTC),
            readers=frozenset({"person:ann" if n % 2 == 0 else "person:bob"}),
            title=f"doc {tag}{n}",
            body=f"body {tag}{n}",
        )
        for n in range(count)
    ]
    ids = store.put_items(items).ids
    store.put_chunks([ChunkDraft(i, 0, "t", f"text {tag} {i}") for i in ids])
    return ids


def _embed(store: Store, seed: int) -> dict[str, NDArray[np.float32]]:
    missing = store.chunks_missing_embeddings("m", limit=100_000)
    vectors = dict(zip([d for d, _ in missing], clustered(len(missing), seed), strict=True))
    store.put_embeddings("m", list(vectors.items()))
    return vectors


def _nearest(store: Store, person: str, query: NDArray[np.float32], k: int = 5) -> list[int]:
    return [h.item_id for h in store.search_vectors(Principal.person(person), "m", query, k)]


def _vector_of(store: Store, vectors: dict[str, NDArray[np.float32]], item: int) -> NDArray:
    chunk = store.get_chunks(Principal.maintenance(), [_chunk_of(store, item)])[0]
    from understudy.store import text_hash

    return vectors[text_hash(chunk.text)]


def _chunk_of(store: Store, item: int) -> int:
    return int(store.db.scalar("SELECT id FROM chunks WHERE item_id = :i", {"i": item}))


@pytest.mark.parametrize("choice", ["exact", "hnsw"])
def test_store_index_follows_new_chunks_vectors_and_superseded_items(
    store: Store, choice: str
) -> None:
    store.vector_options = IndexOptions(choice, save_above=50)
    ids = _load(store, 120)
    vectors = _embed(store, seed=6)
    first = _vector_of(store, vectors, ids[0])
    assert _nearest(store, "ann", first)[0] == ids[0]
    assert ids[0] not in _nearest(store, "bob", first, 60)

    later = _load(store, 40, tag="b")  # chunks first, vectors afterwards
    assert _nearest(store, "ann", first, 200).count(later[0]) == 0
    more = _embed(store, seed=7)
    assert _nearest(store, "ann", _vector_of(store, more, later[0]))[0] == later[0]

    source = store.add_source(Source(kind="files", location="/a"))
    assert source.id is not None
    changed = Item(
        source_id=source.id,
        external_id="a0",
        kind="document",
        timestamp=datetime(2026, 1, 2, tzinfo=UTC),
        readers=frozenset({"person:ann"}),
        title="doc a0 v2",
        body="changed",
    )
    store.put_items([changed])
    assert ids[0] not in _nearest(store, "ann", first, 200)


def test_store_index_sees_writes_from_another_connection(tmp_path: Path) -> None:
    first = SQLiteStore.open(tmp_path / "store.db")
    first.vector_options = IndexOptions("hnsw", save_above=50)
    ids = _load(first, 80)
    vectors = _embed(first, seed=8)
    query = _vector_of(first, vectors, ids[2])
    assert _nearest(first, "ann", query)[0] == ids[2]
    second = SQLiteStore.open(tmp_path / "store.db")
    more = _load(second, 30, tag="b")
    added = _embed(second, seed=9)
    second.close()
    assert _nearest(first, "ann", _vector_of(first, added, more[0]))[0] == more[0]
    first.close()


def _index_files(home: Path) -> list[Path]:
    return sorted((home / "index").rglob("*"))


@pytest.mark.parametrize("choice", ["exact", "hnsw"])
def test_sqlite_index_is_saved_and_loaded_instead_of_rebuilt(tmp_path: Path, choice: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    store = SQLiteStore.open(home / "understudy.db")
    store.vector_options = IndexOptions(choice, save_above=50)
    ids = _load(store, 100)
    vectors = _embed(store, seed=10)
    query = _vector_of(store, vectors, ids[4])
    expected = _nearest(store, "ann", query)
    store.close()
    assert any(p.name == "m.json" for p in _index_files(home))

    # The vectors are gone from the table: only a loaded index can still find them.
    reopened = SQLiteStore.open(home / "understudy.db")
    reopened.vector_options = IndexOptions(choice, save_above=50)
    reopened.db.execute("DELETE FROM embeddings")
    assert _nearest(reopened, "ann", query) == expected
    reopened.close()


def test_corrupt_or_foreign_index_files_are_rebuilt(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    store = SQLiteStore.open(home / "understudy.db")
    store.vector_options = IndexOptions("hnsw", save_above=50)
    ids = _load(store, 100)
    vectors = _embed(store, seed=11)
    query = _vector_of(store, vectors, ids[6])
    store.close()
    for path in _index_files(home):
        if path.suffix == ".faiss":
            path.write_bytes(b"\0" * 64)
    reopened = SQLiteStore.open(home / "understudy.db")
    reopened.vector_options = IndexOptions("hnsw", save_above=50)
    assert _nearest(reopened, "ann", query)[0] == ids[6]
    reopened.close()

    # A new database in the same place must not inherit the old index.
    (home / "understudy.db").unlink()
    fresh = SQLiteStore.open(home / "understudy.db")
    fresh.vector_options = IndexOptions("hnsw", save_above=50)
    assert _nearest(fresh, "ann", query) == []
    fresh.close()


def test_auto_turns_to_hnsw_above_its_threshold(store: Store) -> None:
    store.vector_options = IndexOptions("auto", hnsw_above=150, save_above=10_000)
    _load(store, 100)
    _embed(store, seed=12)
    index = store._vector_index("m")
    assert index is not None
    assert index.kind == "exact"
    _load(store, 100, tag="b")
    _embed(store, seed=13)
    index = store._vector_index("m")
    assert index is not None
    assert index.kind == "hnsw"
    assert len(index) == 200


def test_pgvector_scan_width_follows_the_readable_share() -> None:
    from understudy.store.postgres import hnsw_search_width

    # 16 rows scanned per readable hit wanted, at least 100.
    assert hnsw_search_width(10, 900_000, 1_000_000, iterative=False) == 178
    assert hnsw_search_width(5, 1_000_000, 1_000_000, iterative=False) == 100
    assert hnsw_search_width(20, 500_000, 1_000_000, iterative=False) == 640
    assert hnsw_search_width(20, 200_000, 1_000_000, iterative=False) is None
    assert hnsw_search_width(100, 100_000, 1_000_000, iterative=False) is None
    assert hnsw_search_width(10, 3_000, 1_000_000, iterative=False) is None
    assert hnsw_search_width(100, 100_000, 1_000_000, iterative=True) == 100


def test_pgvector_loses_no_hits_when_few_rows_are_readable(pgvector_store: Store) -> None:
    store = pgvector_store
    source = store.add_source(Source(kind="files", location="/few"))
    assert source.id is not None
    items = [
        Item(
            source_id=source.id,
            external_id=f"f{n}",
            kind="document",
            timestamp=datetime(2026, 1, 1, tzinfo=UTC),
            readers=frozenset({"person:ann" if n % 50 == 0 else "person:bob"}),
            title=f"doc {n}",
            body=f"body {n}",
        )
        for n in range(1_500)
    ]
    ids = store.put_items(items).ids
    store.put_chunks([ChunkDraft(i, 0, "t", f"text {i}") for i in ids])
    missing = store.chunks_missing_embeddings("m", limit=10_000)
    vectors = clustered(len(missing), seed=14, dim=384)
    store.put_embeddings("m", list(zip([d for d, _ in missing], vectors, strict=True)))
    from understudy.store import text_hash

    by_item = {i: vectors[[d for d, _ in missing].index(text_hash(f"text {i}"))] for i in ids}
    readable = [i for n, i in enumerate(ids) if n % 50 == 0]
    query = by_item[ids[700]]
    expected = sorted(readable, key=lambda i: -float(by_item[i] @ query))[:20]
    found = store.search_vectors(Principal.person("ann"), "m", query, 20)
    assert [h.item_id for h in found] == expected
    many = store.search_vectors(Principal.person("bob"), "m", by_item[ids[701]], 10)
    assert len(many) == 10
    assert many[0].item_id == ids[701]
    assert not {h.item_id for h in many} & set(readable)


def test_hnsw_codes_learned_from_a_few_rows_are_relearned_as_the_index_grows(
    store: Store,
) -> None:
    store.vector_options = IndexOptions("hnsw", save_above=10_000)
    _load(store, 6)
    _embed(store, seed=15)
    first = store._vector_index("m")
    assert isinstance(first, HnswIndex)
    assert not first.undertrained
    ids = _load(store, 120, tag="b")
    vectors = _embed(store, seed=16)
    grown = store._vector_index("m")
    assert isinstance(grown, HnswIndex)
    assert not grown.undertrained
    assert len(grown) == 126
    assert _nearest(store, "ann", _vector_of(store, vectors, ids[10]))[0] == ids[10]


def test_pgvector_hands_a_narrow_wide_search_to_the_in_process_index(
    pgvector_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When pgvector's scan cannot reach a small readable share of many rows, the
    in-process index answers, with the same hits as exact ranking."""
    from understudy.store import postgres

    store = pgvector_store
    assert isinstance(store, postgres.PostgresStore)
    ids = _load(store, 400, tag="w")
    missing = store.chunks_missing_embeddings("m", limit=10_000)
    drawn = clustered(len(missing), seed=21, dim=384)
    vectors = dict(zip([d for d, _ in missing], drawn, strict=True))
    store.put_embeddings("m", list(vectors.items()))
    query = _vector_of(store, vectors, ids[8])
    exact = _nearest(store, "ann", query)
    assert not store._vectors  # pgvector served: no in-process index yet
    monkeypatch.setattr(postgres, "_FILTER_PROBE", 10)
    monkeypatch.setattr(postgres, "_EF_LIMIT", 50)
    store.vector_options = IndexOptions("auto", hnsw_above=20)
    store.__dict__.pop("_vector_counts", None)
    handed = _nearest(store, "ann", query)
    assert "m" in store._vectors  # the in-process index was built and used
    assert handed == exact
    # Hybrid search may then walk it on a thread while the keyword half runs.
    assert store.vector_search_job(Principal.person("ann"), "m", 20) is None  # a small index
    monkeypatch.setattr("understudy.store.base.THREADED_SEARCH_ABOVE", 0)
    job = store.vector_search_job(Principal.person("ann"), "m", 20)
    assert job is not None
    assert [h.item_id for h in store.vector_hits(job(query))][:5] == exact
    # A search pgvector serves has no job: it runs in the database.
    monkeypatch.setattr(postgres, "_FILTER_PROBE", 10**9)  # rank the readable rows in SQL
    assert store.vector_search_job(Principal.person("ann"), "m", 20) is None


def test_the_hnsw_beam_is_sized_for_at_least_a_hundred_hits() -> None:
    from understudy.store.hnsw import EF_MAX, EF_MIN, search_width

    # A tenth of a million rows allowed: sized for 100 hits whether 10 or 100 are wanted.
    assert search_width(10, 100_000, 1_000_000) == search_width(100, 100_000, 1_000_000) == 4_000
    assert search_width(10, 1_000_000, 1_000_000) == max(EF_MIN, 400)
    assert search_width(10, 1_000, 1_000_000) == EF_MAX


def test_preparing_saves_the_index_so_a_new_process_loads_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    store = SQLiteStore.open(home / "understudy.db")
    store.vector_options = IndexOptions("hnsw", save_above=50)
    ids = _load(store, 80)
    vectors = _embed(store, seed=17)
    assert not _index_files(home)
    assert store.prepare_vector_search("m") == 80
    assert _index_files(home)  # saved before any search
    assert store.prepare_vector_search("other model") == 0
    query = _vector_of(store, vectors, ids[6])
    expected = _nearest(store, "ann", query)
    store.close()
    reopened = SQLiteStore.open(home / "understudy.db")
    reopened.vector_options = IndexOptions("hnsw", save_above=50)
    assert _nearest(reopened, "ann", query) == expected
    reopened.close()


def test_beside_pgvector_the_index_is_prepared_only_above_its_threshold(
    pgvector_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from understudy.store import postgres

    store = pgvector_store
    _load(store, 60, tag="p")
    missing = store.chunks_missing_embeddings("m", limit=10_000)
    drawn = clustered(len(missing), seed=18, dim=384)
    store.put_embeddings("m", list(zip([d for d, _ in missing], drawn, strict=True)))
    assert store.prepare_vector_search("m") == 0  # few rows: pgvector serves every search
    monkeypatch.setattr(postgres, "_FILTER_PROBE", 20)
    store.__dict__.pop("_vector_counts", None)
    assert store.prepare_vector_search("m") == 60
