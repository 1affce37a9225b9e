"""PostgreSQL keyword ranking: each word weighed by its IDF, common words only scoring.

How many chunks hold a word comes from ``chunk_lexemes`` (counted by
``count_lexemes``), else from ANALYZE's statistics. A word in
``COMMON_SHARE`` of the chunks or more does not make a chunk a match when the
query has rarer words that find enough readable chunks; it still adds to the
score of the chunks found.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from understudy.records import Item, Person, Principal, Source
from understudy.store import ChunkDraft
from understudy.store.postgres import COMMON_SHARE, PostgresStore, _LexemeStats

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_listed_word_has_its_share_and_a_lower_weight() -> None:
    stats = _LexemeStats({"meet": 0.5, "budget": 0.02}, floor=0.02, total=1000.0, at=0.0)
    common, listed, unlisted = (stats.term(q) for q in ("'meet'", "'budget'", "'zebra'"))
    assert common.share == 0.5
    assert common.weight == pytest.approx(math.log(2.0))
    assert listed.share == 0.02
    assert unlisted.share == 0.01  # below the list's floor: half of it
    assert common.weight < listed.weight < unlisted.weight


def test_a_word_of_several_lexemes_is_as_rare_as_its_rarest() -> None:
    stats = _LexemeStats({"e": 0.4, "mail": 0.3}, floor=0.01, total=1000.0, at=0.0)
    assert stats.term("'e-mail' & 'e' & 'mail'").share == 0.005
    assert stats.term("'e' & 'mail'").share == 0.3
    assert stats.term("'o''brien'").share == 0.005  # a quoted apostrophe is one lexeme


def test_counted_lexemes_have_their_exact_shares() -> None:
    stats = _LexemeStats({"meet": 0.5}, floor=0.5, total=1000.0, at=0.0, counted=2000.0)
    assert stats.unknown(["'meet' & 'zebra'", "'budget'"]) == ["budget", "meet", "zebra"]
    stats.counts.update({"meet": 0.4, "budget": 0.002, "zebra": 0.0})
    assert stats.unknown(["'meet'", "'budget'"]) == []  # looked up once
    assert stats.term("'meet'").share == 0.4  # the count, not ANALYZE's sample
    assert stats.term("'budget'").share == 0.002
    assert stats.term("'zebra'").share == 0.0  # in no chunk when counted: the rarest
    assert stats.term("'zebra'").weight > stats.term("'budget'").weight


def test_a_word_new_since_the_count_falls_back_to_analyze() -> None:
    stats = _LexemeStats({"merger": 0.3}, floor=0.3, total=1000.0, at=0.0, counted=10.0)
    stats.counts.update({"merger": 0.0})
    assert stats.term("'merger'").share == 0.3


def test_never_counted_nothing_is_looked_up() -> None:
    stats = _LexemeStats({"meet": 0.5}, floor=0.5, total=1000.0, at=0.0)
    assert stats.unknown(["'meet'", "'zebra'"]) == []


def test_without_statistics_every_word_weighs_the_same() -> None:
    stats = _LexemeStats({}, floor=0.0, total=1.0, at=0.0)
    assert stats.term("'meet'").weight == stats.term("'zebra'").weight == 1.0
    assert stats.term("'meet'").share == 0.0  # nothing is common: every word matches


def _put(
    store: PostgresStore, location: str, texts: list[tuple[str, str]], chunk: bool
) -> list[int]:
    """Store one document per (reader, text) under a new source; chunk them if asked."""
    source = store.add_source(Source(kind="files", location=location))
    assert source.id is not None
    items = [
        Item(
            source_id=source.id,
            external_id=f"i{n}",
            kind="document",
            timestamp=T0,
            readers=frozenset({reader}),
            title="",
            body=text,
        )
        for n, (reader, text) in enumerate(texts)
    ]
    ids = store.put_items(items).ids
    if chunk:
        store.put_chunks([ChunkDraft(i, 0, "", t) for i, (_, t) in zip(ids, texts, strict=True)])
    return ids


@pytest.fixture
def corpus(postgres_url: str) -> Iterator[tuple[PostgresStore, dict[str, list[int]]]]:
    """605 chunks say "common"; a few also say "rare" (p0's) or "secret" (p1's only)."""
    store = PostgresStore.open(postgres_url)
    for person in ("p0", "p1"):
        store.upsert_person(Person(id=person, name=person))
    texts = (
        [("person:p0", "common rare words")] * 3
        + [("person:p1", "common secret words")] * 2
        + [("group:everyone", f"common filler number{n}") for n in range(600)]
    )
    ids = _put(store, "/idf", texts, chunk=True)
    store.refresh_text_statistics(len(texts))  # analyzes and counts
    by_kind = {"rare": ids[:3], "secret": ids[3:5], "filler": ids[5:]}
    yield store, by_kind
    store.close()


def test_statistics_tell_common_words_from_rare_ones(
    corpus: tuple[PostgresStore, dict[str, list[int]]],
) -> None:
    store, _ = corpus
    shares = {t.query: t.share for t in store._query_terms("Common RARE common")}
    assert set(shares) == {"'common'", "'rare'"}
    assert shares["'common'"] >= COMMON_SHARE > shares["'rare'"]


def test_counts_tell_rare_words_apart(
    corpus: tuple[PostgresStore, dict[str, list[int]]],
) -> None:
    store, _ = corpus
    terms = {t.query: t for t in store._query_terms("rare secret common unheard")}
    assert terms["'rare'"].share == pytest.approx(3 / 605)
    assert terms["'secret'"].share == pytest.approx(2 / 605)
    assert terms["'common'"].share == pytest.approx(1.0)
    assert terms["'unheard'"].share == 0.0
    # ANALYZE's statistics list neither "rare" nor "secret": only the counts tell them apart.
    assert terms["'secret'"].weight > terms["'rare'"].weight > terms["'common'"].weight
    assert store.count_lexemes() == 605  # counting again replaces the counts
    assert store.db.scalar("SELECT chunks FROM chunk_lexemes WHERE lexeme = 'rare'") == 3


def test_a_repeated_word_saturates(corpus: tuple[PostgresStore, dict[str, list[int]]]) -> None:
    store, _ = corpus
    ids = _put(
        store, "/repeat", [("person:p0", "zygote once"), ("person:p0", "zygote " * 20)], True
    )
    hits = {h.item_id: h.score for h in store.search_text(Principal.person("p0"), "zygote")}
    assert hits[ids[1]] > hits[ids[0]]  # more of the word scores more,
    assert hits[ids[1]] < 2 * hits[ids[0]]  # but twenty times is not twice once


def test_rare_words_match_and_common_ones_only_score(
    corpus: tuple[PostgresStore, dict[str, list[int]]],
) -> None:
    store, ids = corpus
    hits = store.search_text(Principal.person("p0"), "common rare", limit=3)
    assert sorted(h.item_id for h in hits) == sorted(ids["rare"])
    alone = store.search_text(Principal.person("p0"), "rare", limit=3)
    # The common word adds to the score of what the rare word found.
    assert min(h.score for h in hits) > max(h.score for h in alone)


def test_too_few_rare_matches_are_followed_by_common_ones(
    corpus: tuple[PostgresStore, dict[str, list[int]]],
) -> None:
    store, ids = corpus
    hits = store.search_text(Principal.person("p0"), "common rare", limit=10)
    found = [h.item_id for h in hits]
    assert len(found) == len(set(found)) == 10  # the rare chunks are not found twice
    assert set(found[:3]) == set(ids["rare"])  # the rare word outweighs the common one
    assert set(found[3:]) <= set(ids["filler"])


def test_an_unreadable_rare_match_never_shows(
    corpus: tuple[PostgresStore, dict[str, list[int]]],
) -> None:
    store, ids = corpus
    p0 = store.search_text(Principal.person("p0"), "common secret", limit=2)
    assert len(p0) == 2
    assert not {h.item_id for h in p0} & set(ids["secret"])
    p1 = store.search_text(Principal.person("p1"), "common secret", limit=2)
    assert sorted(h.item_id for h in p1) == sorted(ids["secret"])
    assert store.search_text(Principal.person("p0"), "secret", limit=5) == []


def test_only_common_words_still_match(
    corpus: tuple[PostgresStore, dict[str, list[int]]],
) -> None:
    store, ids = corpus
    hits = store.search_text(Principal.person("p1"), "common", limit=1000)
    readable = set(ids["secret"]) | set(ids["filler"])
    assert {h.item_id for h in hits} == readable


def test_an_index_run_that_adds_many_chunks_analyzes_and_counts_them(postgres_url: str) -> None:
    from understudy.brain.indexing import chunk_pending

    store = PostgresStore.open(postgres_url)
    try:
        store.upsert_person(Person(id="p0", name="p0"))
        texts = [("person:p0", f"budget review number{n}") for n in range(50)]
        _put(store, "/analyze", texts, chunk=False)
        assert store._lexeme_stats().shares == {}  # never analyzed: no statistics yet
        assert store._lexeme_stats().counted == 0.0
        assert chunk_pending(store) == 50
        assert store._lexeme_stats().shares["budget"] == pytest.approx(1.0)
        assert store._lexeme_stats().counted == 50.0
        assert store.db.scalar("SELECT chunks FROM chunk_lexemes WHERE lexeme = 'budget'") == 50
    finally:
        store.close()


def test_a_store_never_counted_is_counted_on_its_next_index_run(
    corpus: tuple[PostgresStore, dict[str, list[int]]],
) -> None:
    store, _ = corpus
    store.db.execute("DELETE FROM chunk_lexemes")  # as a store made before the counts
    store.__dict__.pop("_lexemes_kept", None)
    assert store._lexeme_stats().counted == 0.0
    store.refresh_text_statistics(0)  # an index run that added nothing
    assert store._lexeme_stats().counted == 605.0
    store.refresh_text_statistics(5)  # under a tenth: the counts stand
    assert store.db.scalar("SELECT chunks FROM chunk_lexemes WHERE lexeme = ''") == 605
