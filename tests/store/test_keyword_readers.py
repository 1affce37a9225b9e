"""Keyword search narrowed by readers inside the full-text index.

SQLite's FTS5 index holds who may read each chunk as tokens (one per
principal of its reader set, or one for the set when it is large), and a
search requires one of its principal's tokens in the MATCH unless there are
too many; PostgreSQL restricts the match to the allowed reader sets as an
array. Either way the result must be exactly what the permission condition
alone allows: never a chunk the principal may not read, no readable match
lost, and the same ranking.
"""

from __future__ import annotations

import math
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from understudy.records import Group, Item, Person, Principal, Source
from understudy.store import ChunkDraft, SearchHit, Store, sqlite
from understudy.store.database import Database
from understudy.store.schema import MIGRATIONS, READER_TOKENS
from understudy.store.sqlite import SQLiteStore, principal_token, readers_match

PEOPLE = [f"p{n}" for n in range(6)]
GROUPS = [f"g{n}" for n in range(3)]
WORDS = ["alpha", "beta", "gamma", "delta"]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _directory(store: Store, members: dict[str, set[str]]) -> int:
    for group in GROUPS:
        store.upsert_group(Group(id=group, name=group, members=tuple(sorted(members[group]))))
    for person in PEOPLE:
        store.upsert_person(Person(id=person, name=person))
    source = store.add_source(Source(kind="files", location="/kw"))
    assert source.id is not None
    return source.id


def _put(store: Store, source_id: int, docs: list[tuple[frozenset[str], str]]) -> list[int]:
    items = [
        Item(
            source_id=source_id,
            external_id=f"i{n}",
            kind="document",
            timestamp=T0,
            readers=readers,
            title=f"item {n}",
            body=text,
        )
        for n, (readers, text) in enumerate(docs)
    ]
    ids = store.put_items(items).ids
    store.put_chunks([ChunkDraft(i, 0, "", text) for i, (_, text) in zip(ids, docs, strict=True)])
    return ids


def _readable(members: dict[str, set[str]], person: str, readers: frozenset[str]) -> bool:
    mine = {f"person:{person}", "group:everyone"} | {
        f"group:{g}" for g, people in members.items() if person in people
    }
    return bool(mine & readers)


def _ranked(hits: list[SearchHit]) -> list[tuple[int, float]]:
    return [(hit.chunk_id, round(hit.score, 9)) for hit in hits]


def _both_paths(
    store: Store, monkeypatch: pytest.MonkeyPatch, principal: Principal, query: str
) -> list[SearchHit]:
    """Search with reader tokens in the MATCH and without; assert the same ranking.

    Whether the tokens narrow by default depends on how much of the index
    they cover; both ways are forced here, and the default must agree.
    """
    found = store.search_text(principal, query, 5000)
    if store.dialect == "sqlite":
        with monkeypatch.context() as patched:
            patched.setattr(sqlite, "READER_MATCH_SHARE", math.inf)
            patched.setattr(sqlite, "READER_MATCH_ABOVE", -1)
            narrowed = store.search_text(principal, query, 5000)
        with monkeypatch.context() as patched:
            patched.setattr(sqlite, "READER_TOKENS_IN_MATCH", -1)
            joined = store.search_text(principal, query, 5000)
        for other in (narrowed, joined):
            assert _ranked(found) == _ranked(other)
            assert [h.snippet for h in found] == [h.snippet for h in other]
    return found


reader_choices = st.frozensets(
    st.sampled_from(
        [f"person:{p}" for p in PEOPLE] + [f"group:{g}" for g in GROUPS] + ["group:everyone"]
    ),
    min_size=1,
    max_size=3,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    members=st.fixed_dictionaries(
        {g: st.sets(st.sampled_from(PEOPLE), max_size=len(PEOPLE)) for g in GROUPS}
    ),
    docs=st.lists(
        st.tuples(reader_choices, st.lists(st.sampled_from(WORDS), min_size=1, max_size=4)),
        min_size=1,
        max_size=25,
    ),
    asker=st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=2, unique=True),
    query=st.lists(st.sampled_from([*WORDS, "missing"]), min_size=1, max_size=3),
)
def test_keyword_search_returns_exactly_the_readable_matches(
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    members: dict[str, set[str]],
    docs: list[tuple[frozenset[str], list[str]]],
    asker: list[str],
    query: list[str],
) -> None:
    store = _fresh(backend, tmp_path_factory, request)
    try:
        source = _directory(store, members)
        ids = _put(store, source, [(readers, " ".join(words)) for readers, words in docs])
        principal = Principal.all_of(*asker)
        hits = _both_paths(store, monkeypatch, principal, " ".join(query))
        expected = {
            item_id
            for item_id, (readers, words) in zip(ids, docs, strict=True)
            if all(_readable(members, person, readers) for person in asker)
            and set(words) & set(query)
        }
        assert {h.item_id for h in hits} == expected
    finally:
        store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """Name the backend; the property test opens a fresh store per example."""
    return str(request.param)


def _fresh(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Store:
    if backend == "sqlite":
        return SQLiteStore.open(tmp_path_factory.mktemp("kw") / "store.db")
    import psycopg

    from understudy.store.postgres import PostgresStore

    database = request.getfixturevalue("postgres_database")
    schema = f"kw_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(database, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    return PostgresStore.open(f"{database}?options=-csearch_path%3D{schema},public")


def _crowd(person: str, n: int, size: int) -> frozenset[str]:
    """Return a reader set of ``person`` and ``size - 1`` others, distinct per ``n``."""
    return frozenset({f"person:{person}"} | {f"person:x{n}-{k}" for k in range(size - 1)})


def test_large_reader_sets_and_many_of_them_keep_every_readable_match(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sets beyond READER_TOKENS principals carry their own token; beyond
    READER_TOKENS_IN_MATCH of those the join plan serves, with the same answer."""
    members = {"g0": {"p0", "p1"}, "g1": {"p2"}, "g2": set()}
    source = _directory(store, members)
    count = sqlite.READER_TOKENS_IN_MATCH + 10
    large = READER_TOKENS + 1
    docs = [(_crowd("p0", n, large), f"alpha note {n}") for n in range(count)] + [
        (_crowd("p1", count + n, large), f"alpha memo {n}") for n in range(3)
    ]
    docs += [
        (_crowd("p1", 0, READER_TOKENS), "alpha small"),  # indexed by principal
        (frozenset({"person:p2"}), "alpha secret"),
        (frozenset({"group:g0"}), "alpha shared"),
    ]
    ids = _put(store, source, docs)
    hits = _both_paths(store, monkeypatch, Principal.person("p0"), "alpha")  # join plan
    assert {h.item_id for h in hits} == set(ids[:count]) | {ids[-1]}
    hits = _both_paths(store, monkeypatch, Principal.person("p1"), "alpha shared secret memo")
    assert {h.item_id for h in hits} == set(ids[count : count + 4]) | {ids[-1]}
    both = Principal.all_of("p0", "p1")
    assert [h.item_id for h in _both_paths(store, monkeypatch, both, "alpha")] == [ids[-1]]
    assert _both_paths(store, monkeypatch, Principal.person("p5"), "alpha") == []


def test_a_chunk_ranks_the_same_whoever_may_read_it(store: Store) -> None:
    """Every chunk carries the same number of reader tokens: BM25 ignores who reads."""
    source = _directory(store, {g: set() for g in GROUPS})
    sizes = [1, 3, READER_TOKENS, READER_TOKENS + 5]
    docs = [(_crowd("p0", n, size), "equal words here") for n, size in enumerate(sizes)]
    _put(store, source, [*docs, (frozenset({"person:p0"}), "other words entirely")])
    hits = store.search_text(Principal.person("p0"), "equal")
    assert len(hits) == len(sizes)
    assert len({round(h.score, 9) for h in hits}) == 1


def test_reader_tokens_are_not_searchable_words(store: Store) -> None:
    source = _directory(store, {g: set() for g in GROUPS})
    ids = _put(store, source, [(frozenset({"person:p0"}), "plain words")])
    readers = int(store.db.scalar("SELECT readers_id AS r FROM chunks"))
    assert store.search_text(Principal.person("p0"), f"rs{readers} rz") == []
    assert store.search_text(Principal.person("p0"), principal_token("person:p0")) == []
    assert [h.item_id for h in store.search_text(Principal.maintenance(), "plain")] == ids


def test_the_index_follows_a_chunk_whose_readers_change(tmp_path: Path) -> None:
    store = SQLiteStore.open(tmp_path / "store.db")
    source = _directory(store, {g: set() for g in GROUPS})
    ids = _put(
        store,
        source,
        [(frozenset({"person:p0"}), "moving words"), (frozenset({"person:p1"}), "other")],
    )
    other = int(
        store.db.scalar("SELECT readers_id AS r FROM chunks WHERE item_id = :i", {"i": ids[1]})
    )
    store.db.execute(
        "UPDATE chunks SET readers_id = :r WHERE item_id = :i", {"r": other, "i": ids[0]}
    )
    assert store.search_text(Principal.person("p0"), "moving") == []
    assert [h.item_id for h in store.search_text(Principal.person("p1"), "moving")] == [ids[0]]
    store.db.execute("DELETE FROM chunks WHERE item_id = :i", {"i": ids[0]})
    assert store.search_text(Principal.person("p1"), "moving") == []
    assert (
        store.db.scalar("SELECT count(*) AS n FROM chunks_fts WHERE chunks_fts MATCH 'moving'") == 0
    )
    store.close()


def test_the_migration_indexes_the_reader_sets_of_existing_chunks(tmp_path: Path) -> None:
    """A store made before the reader tokens existed gets them when it is opened."""
    path = tmp_path / "old.db"
    connection = sqlite3.connect(path, isolation_level=None)
    db = Database(connection, "sqlite", str(path))
    db.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for migration in MIGRATIONS:
        if migration.name >= "0008_fts_readers":
            break
        for statement in migration.for_dialect("sqlite"):
            db.execute(statement)
        db.execute(
            "INSERT INTO migrations (name, applied_at) VALUES (:n, '2026-01-01')",
            {"n": migration.name},
        )
    db.execute("""INSERT INTO reader_sets (id, key, principals) VALUES (7, 'k7', '["person:p0"]'),
        (8, 'k8', '["group:g1", "person:p1"]')""")
    db.execute(
        """INSERT INTO chunks (id, item_id, ordinal, title, text, text_hash, readers_id, kind, ts)
        VALUES (1, 1, 0, 'old', 'legacy words', 'h1', 7, 'document', '2026-01-01'),
               (2, 2, 0, 'old', 'legacy words', 'h2', 8, 'document', '2026-01-01')"""
    )
    connection.close()
    store = SQLiteStore.open(path)
    assert {"0008_fts_readers", "0010_fts_reader_principals"} <= set(store.migrations())
    index = "SELECT count(*) AS n FROM sqlite_master WHERE name = 'chunks_id_readers'"
    assert store.db.scalar(index) == 1
    found = store.db.rows(
        "SELECT rowid AS id FROM chunks_fts WHERE chunks_fts MATCH :m ORDER BY rowid",
        {"m": '{title text} : ("legacy") AND ' + readers_match([principal_token("group:g1")])},
    )
    assert [row["id"] for row in found] == [2]
    store.close()


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_reader_tokens_narrow_the_match_only_when_they_cover_little_of_the_index(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A principal who may read most chunks searches without the tokens' OR (it
    walks their posting lists for little gain); one who reads few keeps it, in
    a store large enough (in a small one no principal does)."""
    assert isinstance(store, SQLiteStore)
    source = _directory(store, {"g0": {"p0"}, "g1": set(), "g2": set()})
    docs = [(frozenset({"group:g0"}), f"alpha common {n}") for n in range(20)]
    docs += [(frozenset({"person:p1"}), "alpha rare")]
    _put(store, source, docs)
    assert store._reader_match(Principal.person("p1")) == ""  # 21 chunks: a small store
    monkeypatch.setattr(sqlite, "READER_MATCH_ABOVE", 20)
    assert store._reader_match(Principal.person("p0")) == ""
    narrowing = store._reader_match(Principal.person("p1"))
    assert narrowing.startswith("readers : (")
    assert f'"{principal_token("person:p1")}"' in narrowing
    both = Principal.all_of("p0", "p1")  # may read nothing: each person's tokens narrow
    assert store._reader_match(both).count("readers :") == 2
    assert [h.item_id for h in store.search_text(both, "alpha")] == []
