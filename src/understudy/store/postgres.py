"""The server store: PostgreSQL with tsvector full text and pgvector where present."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from understudy.errors import StoreError
from understudy.records import Principal
from understudy.store.base import SearchHit, Store
from understudy.store.database import Database
from understudy.store.items import ChunkDraft, ItemFilter
from understudy.store.sources import redact_url
from understudy.store.vectors import VectorHit

__all__ = ["PostgresStore", "hnsw_search_width", "redact_url"]

_WORD = re.compile(r"\w+", re.UNICODE)

# pgvector's HNSW scan yields at most ``hnsw.ef_search`` rows (at most 1000)
# and the reader filter runs on those (0.8 can keep scanning, up to
# ``hnsw.max_scan_tuples``), so a principal who may read a small share would
# get fewer and worse hits. Each search estimates the readable share: when a
# scan of EF_PER_HIT * limit / share rows fits, it widens the scan to that;
# otherwise it ranks the readable rows exactly (by score: an order the HNSW
# index cannot serve, so PostgreSQL reads them through the readers index).
_EF_LIMIT = 1000
_EF_FLOOR = 100
# 16 rows scanned per readable hit wanted: at 1M vectors (principals reading about
# 9%), 4 per hit kept filtered recall@10 at 0.71 (pgvector 0.6 via pgserver: the
# scan of 444 rows missed readable neighbours); with 16 such scans do not fit, the
# in-process index serves them, and recall@10 was 0.94 at the same p95 (30 ms).
_EF_PER_HIT = 16.0
_ITERATIVE_SCAN_LIMIT = 20_000
_SAMPLED_ROWS = 20_000  # rows sampled to estimate each reader set's share
_COUNTS_FOR_SECONDS = 60.0
_FILTER_PROBE = 5_000  # fewer readable rows than this are ranked exactly: a few ms


def hnsw_search_width(limit: int, allowed: float, total: float, iterative: bool) -> int | None:
    """Return the ``hnsw.ef_search`` that finds ``limit`` readable rows, or None for exact."""
    if allowed <= _FILTER_PROBE or total <= 0:
        return None
    share = min(1.0, allowed / total)
    needed = max(_EF_FLOOR, limit, math.ceil(_EF_PER_HIT * limit / share))
    if iterative:
        return max(_EF_FLOOR, limit) if needed <= _ITERATIVE_SCAN_LIMIT else None
    return needed if needed <= _EF_LIMIT else None


# Matched words in brackets, 8 to 24 words of the chunk's text around them.
_HEADLINE = "ts_headline('english', c.text, _q.q, 'StartSel=[,StopSel=],MaxWords=24,MinWords=8')"


COMMON_SHARE = 0.01  # a word in 1% of the chunks or more scores but does not match alone
# ts_rank's weights of body (D, C, B) and title (A) positions: the title counts
# twice, as in SQLite's bm25(chunks_fts, 2.0, 1.0). No length normalization
# (chunks are cut to a bounded size; BM25's b = 0.75 scored 0.628 below).
_POSITION_WEIGHTS = "CAST('{0.5, 0.5, 0.5, 1.0}' AS REAL[])"
# Each word's ts_rank r saturates as BM25's term frequency does: r / (r + 0.6).
# SciFact train (809 queries, keyword only), nDCG@10: ts_rank_cd with the
# default weights 0.410; IDF-weighted ts_rank 0.649; saturated 0.674 (0.672 to
# 0.674 for 0.45 to 1.0); with the counted IDF (``chunk_lexemes``) 0.694.
_SATURATION = 0.6
# Common words that match and score where no rare word does, the rarest first. On
# SciFact train (long claims, 8k chunks: most words are common there) all of them
# scored nDCG@10 0.650 at p95 152 ms a search, the rarest 3 0.650 at 32 ms.
_COMMON_KEPT = 3
_STATS_SECONDS = 300.0  # how long the lexeme statistics are kept
_WORDS_KEPT = 50_000
_TSQUERY_LEXEME = re.compile(r"'((?:[^']|'')*)'")


@dataclass(frozen=True, slots=True)
class _Term:
    """One query word as a tsquery, its estimated share of chunks, and its IDF weight."""

    query: str
    share: float
    weight: float


@dataclass(frozen=True, slots=True)
class _TextQuery:
    """A keyword query: its words (shown in snippets), those that match, and those scored.

    ``scoring`` empty means every word scores; a chunk any ``excluding`` word
    matches is left out.
    """

    terms: Sequence[_Term]
    matching: Sequence[_Term]
    scoring: Sequence[_Term] = ()
    excluding: Sequence[_Term] = ()


@dataclass(slots=True)
class _LexemeStats:
    """How many chunks hold each lexeme, as shares of the chunks.

    ``counts`` come from ``chunk_lexemes`` (exact at its last count), looked
    up word by word as queries need them; ``shares`` from ANALYZE's statistics
    of the tsvector (its most common lexemes only) serve where nothing was
    counted yet, and for words new since the count.
    """

    shares: dict[str, float]
    floor: float  # a lexeme ``shares`` does not list is in fewer chunks than this share
    total: float
    at: float
    counted: float = 0.0  # chunks when ``chunk_lexemes`` was counted (0: never)
    counts: dict[str, float] = field(default_factory=dict)  # lexeme -> share (0: not counted)

    def unknown(self, tsqueries: Iterable[str]) -> list[str]:
        """Return the lexemes of ``tsqueries`` whose counts are yet to be looked up."""
        if not self.counted:
            return []
        wanted = {lex for query in tsqueries for lex in _lexemes(query)}
        return sorted(lex for lex in wanted if lex not in self.counts)

    def term(self, tsquery: str) -> _Term:
        """Return a word's tsquery with its share and BM25's IDF (1 without statistics)."""
        if not self.shares and not self.counted:
            return _Term(tsquery, 0.0, 1.0)
        # A word of several lexemes matches where all are: at most the rarest one's share.
        share = min((self._share(lex) for lex in _lexemes(tsquery)), default=0.0)
        total = self.counted or self.total
        half = 0.5 / total
        return _Term(tsquery, share, math.log(1.0 + (1.0 - share + half) / (share + half)))

    def _share(self, lexeme: str) -> float:
        counted = self.counts.get(lexeme, 0.0)
        if counted > 0:
            return counted
        if lexeme in self.shares:
            return self.shares[lexeme]
        # In no chunk when counted, or rarer than ANALYZE's least common listed lexeme.
        return 0.0 if self.counted else self.floor / 2


def _lexemes(tsquery: str) -> list[str]:
    return [m.replace("''", "'") for m in _TSQUERY_LEXEME.findall(tsquery)]


@dataclass(slots=True)
class _ReaderCounts:
    """Estimated vectors per reader set for one model, and when they were counted."""

    top: int
    at: float
    total: float
    per_set: dict[int, float] = field(default_factory=dict)

    def fresh(self, top: int) -> bool:
        grown = top - self.top
        young = time.monotonic() - self.at < _COUNTS_FOR_SECONDS
        return grown == 0 or (young and grown < max(1_000.0, self.total * 0.05))


class PostgresStore(Store):
    """A store on PostgreSQL, for a deployment that serves many people."""

    dialect: ClassVar[str] = "postgres"

    @classmethod
    def open(cls, url: str) -> PostgresStore:
        """Connect to the database at ``url``."""
        import psycopg
        from psycopg.rows import dict_row

        try:
            connection = psycopg.connect(
                url, autocommit=True, row_factory=dict_row, connect_timeout=10
            )
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreError(
                f"{redact_url(url)}: cannot connect to PostgreSQL ({reason}); check "
                "UNDERSTUDY_DATABASE_URL, or unset it to use the embedded SQLite store"
            ) from None
        return cls(Database(connection, "postgres", redact_url(url)))

    @property
    def has_pgvector(self) -> bool:
        """Return whether vectors live in pgvector (HNSW) rather than in memory."""
        return "0004_pgvector" in self.migrations()

    def _pgvector_version(self) -> tuple[int, ...]:
        cached: tuple[int, ...] | None = getattr(self, "_pgvector_release", None)
        if cached is None:
            version = str(
                self.db.scalar("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
                or "0"
            )
            cached = tuple(int(part) for part in version.split(".")[:2] if part.isdigit())
            self._pgvector_release = cached
        return cached

    def _widen_hnsw_scan(self, ef_search: int) -> None:
        # Before pgvector 0.8 the scan stops after ef_search rows, filtered or
        # not; 0.8 keeps scanning until enough rows pass the reader filter.
        if self._pgvector_version() >= (0, 8):
            self.db.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        self.db.execute(f"SET LOCAL hnsw.ef_search = {int(ef_search)}")

    def _data_version(self) -> Any:
        return self.db.scalar("SELECT coalesce(max(id), 0) + count(*) AS v FROM chunks")

    def search_text(
        self,
        principal: Principal,
        query: str,
        limit: int = 20,
        where: ItemFilter | None = None,
        snippets: bool = True,
    ) -> list[SearchHit]:
        """Return readable chunks ranked BM25-style: each word's ``ts_rank`` weighed by its IDF.

        A word in ``COMMON_SHARE`` of the chunks or more (by the statistics
        ANALYZE keeps of the tsvector column) only scores: the chunks are
        matched by the query's other words, as Lucene's common-terms query
        does. A common word's tens of thousands of matches would otherwise
        each be fetched and ranked, for a weight its low IDF makes small.
        When the rare words find fewer than ``limit`` readable chunks (they
        then found all they can), the rest of the list is the chunks only the
        ``_COMMON_KEPT`` rarest common words match, ranked by those words; so
        is the whole list when every word is common. Snippets come after the
        sort and limit, for the rows returned only.
        """
        terms = self._query_terms(query)
        if not terms:
            return []
        sets = self.allowed_reader_sets(principal)
        if sets is not None and not sets:
            return []
        rare = [t for t in terms if t.share < COMMON_SHARE]
        # Of the common words, the rarest few match and score where no rare word does:
        # every one more costs a ts_rank over thousands of matches.
        common = sorted((t for t in terms if t.share >= COMMON_SHARE), key=lambda t: t.share)
        common = common[:_COMMON_KEPT]
        if not rare:
            return self._ranked_text(
                principal, _TextQuery(terms, common), limit, where, sets, snippets
            )
        hits = self._ranked_text(principal, _TextQuery(terms, rare), limit, where, sets, snippets)
        if len(hits) >= limit or not common:
            return hits
        # The rare words found every chunk they can: the rest of the list is the chunks
        # that only common words match, where only those words score.
        rest = _TextQuery(terms, common, scoring=common, excluding=rare)
        more = self._ranked_text(principal, rest, limit - len(hits), where, sets, snippets)
        return sorted([*hits, *more], key=lambda hit: (-hit.score, hit.chunk_id))

    def _ranked_text(
        self,
        principal: Principal,
        query: _TextQuery,
        limit: int,
        where: ItemFilter | None,
        sets: Collection[int] | None,
        snippets: bool,
    ) -> list[SearchHit]:
        """Return the readable chunks ``query`` matches, ranked by its scoring words."""
        readers = self._readers(principal)
        condition, params = (where or ItemFilter()).chunk_sql()
        if sets is not None and not readers.resolved:
            # The allowed reader sets as one array: the planner can then AND the
            # readers index's bitmap with the words' GIN bitmap and fetch only
            # readable matches; the permission condition still decides.
            condition += " AND c.readers_id = ANY(CAST(:_sets AS BIGINT[]))"
            params["_sets"] = "{" + ",".join(str(int(s)) for s in sets) + "}"
        names = {t.query: f"_t{n}" for n, t in enumerate(query.terms)}
        params.update({name: text for text, name in names.items()})
        params.update({f"{names[t.query]}w": t.weight for t in query.terms})

        def any_of(terms: Sequence[_Term]) -> str:
            return " || ".join(f"CAST(:{names[t.query]} AS tsquery)" for t in terms)

        rank = " + ".join(
            f"COALESCE(:{names[t.query]}w / (1 + {_SATURATION} / NULLIF(ts_rank("
            f"{_POSITION_WEIGHTS}, c.tsv, CAST(:{names[t.query]} AS tsquery), 0), 0)), 0)"
            for t in (query.scoring or query.terms)
        )
        if query.excluding:
            condition += " AND NOT (c.tsv @@ _q.x)"
        excluded = any_of(query.excluding) if query.excluding else "CAST('' AS tsquery)"
        extra = (
            f"_q(q, m, x) AS (SELECT {any_of(query.terms)}, {any_of(query.matching)}, {excluded})"
        )
        sql = f"""{readers.with_clause(extra)}
            SELECT c.id AS id, c.item_id AS item_id, {rank} AS rank,
                {_HEADLINE if snippets else "''"} AS snippet
            FROM chunks c, _q
            WHERE c.tsv @@ _q.m AND {readers.condition("c.readers_id")} AND {condition}
            ORDER BY rank DESC, c.id LIMIT :_limit"""
        rows = self.db.rows(sql, {**readers.params, **params, "_limit": limit})
        return [
            SearchHit(
                chunk_id=int(row["id"]),
                item_id=int(row["item_id"]),
                score=float(row["rank"]),
                snippet=row["snippet"] or "",
            )
            for row in rows
        ]

    def _query_terms(self, query: str) -> list[_Term]:
        """Return the query's words as tsqueries, each with its share of chunks and weight."""
        words = list(dict.fromkeys(w.lower() for w in _WORD.findall(query)))
        known: dict[str, str] = self.__dict__.setdefault("_word_queries", {})
        missing = [w for w in words if w not in known]
        if missing:
            if len(known) > _WORDS_KEPT:
                known.clear()
            rows = self.db.rows(
                "SELECT w, CAST(plainto_tsquery('english', w) AS TEXT) AS q "
                "FROM jsonb_array_elements_text(CAST(:_words AS JSONB)) AS w",
                {"_words": missing},
            )
            known.update({str(row["w"]): str(row["q"]) for row in rows})
        stats = self._lexeme_stats()
        unknown = stats.unknown(known.get(word, "") for word in words)
        if unknown:
            if len(stats.counts) > _WORDS_KEPT:
                stats.counts.clear()
            stats.counts.update(dict.fromkeys(unknown, 0.0))
            rows = self.db.rows(
                "SELECT lexeme, chunks FROM chunk_lexemes WHERE lexeme IN "
                "(SELECT jsonb_array_elements_text(CAST(:_lexemes AS JSONB)))",
                {"_lexemes": unknown},
            )
            stats.counts.update({str(r["lexeme"]): r["chunks"] / stats.counted for r in rows})
        terms: dict[str, _Term] = {}
        for word in words:
            tsquery = known.get(word, "")
            if tsquery and tsquery not in terms:
                terms[tsquery] = stats.term(tsquery)
        return list(terms.values())

    def refresh_text_statistics(self, added: int) -> None:
        """Analyze the chunks and count their lexemes when ``added`` is a tenth of
        them or more, or when their lexemes were never counted (a store made
        before ``chunk_lexemes`` is counted on its first index run).

        Keyword ranking weighs words by how many chunks hold them
        (``count_lexemes``), and by ANALYZE's statistics where nothing was
        counted. Autovacuum analyzes a table once a tenth of it changed, but
        only on its next round; an index run that adds that much refreshes
        both at once, so the first searches after it weigh words by how
        common they now are.
        """
        row = self.db.row(
            """SELECT c.reltuples AS total,
                (SELECT chunks FROM chunk_lexemes WHERE lexeme = '') AS counted
            FROM pg_class c WHERE c.oid = CAST('chunks' AS regclass)"""
        )
        total = float(row["total"] or 0.0) if row else 0.0
        never = row is None or row["counted"] is None
        if (never and (added > 0 or total > 0)) or (
            added > 0 and (total <= 0 or added >= 0.1 * total)
        ):
            self.db.execute("ANALYZE chunks")
            self.count_lexemes()

    def count_lexemes(self) -> int:
        """Count in how many chunks each lexeme is, into ``chunk_lexemes``; return the lexemes.

        One pass over every chunk's tsvector (``ts_stat``); concurrent counts
        wait for each other. Searches read the new counts within
        ``_STATS_SECONDS`` (at once in this process).
        """
        with self.db.transaction():
            self.db.execute("LOCK TABLE chunk_lexemes IN EXCLUSIVE MODE")
            self.db.execute("DELETE FROM chunk_lexemes")
            counted = self.db.execute(
                "INSERT INTO chunk_lexemes (lexeme, chunks) "
                "SELECT word, ndoc FROM ts_stat('SELECT tsv FROM chunks')"
            ).rowcount
            self.db.execute(
                "INSERT INTO chunk_lexemes (lexeme, chunks) SELECT '', count(*) FROM chunks"
            )
        self.__dict__.pop("_lexemes_kept", None)
        return counted

    def _lexeme_stats(self) -> _LexemeStats:
        """Return what is known of the lexemes' shares of chunks, read at most every few minutes."""
        kept: _LexemeStats | None = self.__dict__.get("_lexemes_kept")
        if kept is not None and time.monotonic() - kept.at < _STATS_SECONDS:
            return kept
        row = self.db.row(
            """SELECT CAST(CAST(s.most_common_elems AS TEXT) AS TEXT[]) AS lexemes,
                s.most_common_elem_freqs AS shares, c.reltuples AS total,
                (SELECT chunks FROM chunk_lexemes WHERE lexeme = '') AS counted
            FROM pg_class c LEFT JOIN pg_stats s ON s.schemaname = current_schema()
                AND s.tablename = 'chunks' AND s.attname = 'tsv'
            WHERE c.oid = CAST('chunks' AS regclass)"""
        )
        lexemes = list(row["lexemes"] or []) if row else []
        shares = [float(v) for v in (row["shares"] or [])][: len(lexemes)] if row else []
        kept = _LexemeStats(
            dict(zip(lexemes, shares, strict=True)),
            min(shares) if shares else 0.0,
            max(float(row["total"] or 0.0), 1.0) if row else 1.0,
            time.monotonic(),
            float(row["counted"] or 0.0) if row else 0.0,
        )
        self.__dict__["_lexemes_kept"] = kept
        return kept

    def text_snippets(
        self, principal: Principal, query: str, chunk_ids: Sequence[int]
    ) -> dict[int, str]:
        """Return ``ts_headline`` snippets of the readable chunks ``query`` matches."""
        words = list(dict.fromkeys(w.lower() for w in _WORD.findall(query)))
        if not words or not chunk_ids:
            return {}
        readers = self._readers(principal)
        terms = {f"_w{n}": w for n, w in enumerate(words)}
        tsquery = " || ".join(f"plainto_tsquery('english', :{k})" for k in terms)
        extra = f"_q(q) AS (SELECT {tsquery})"
        sql = f"""{readers.with_clause(extra)}
            SELECT c.id AS id, {_HEADLINE} AS snippet FROM chunks c, _q
            WHERE c.id = ANY(CAST(:_ids AS BIGINT[])) AND c.tsv @@ _q.q
                AND {readers.condition("c.readers_id")}"""
        ids = "{" + ",".join(str(int(c)) for c in dict.fromkeys(chunk_ids)) + "}"
        rows = self.db.rows(sql, {**readers.params, **terms, "_ids": ids})
        return {int(row["id"]): str(row["snippet"] or "") for row in rows}

    def _after_embeddings(self, model: str, digests: Sequence[str]) -> None:
        if digests and self.has_pgvector:
            names = {f"h{n}": d for n, d in enumerate(digests)}
            marks = ", ".join(f":{k}" for k in names)
            self._sync_chunk_vectors(
                f"c.text_hash IN ({marks}) AND e.model = :m", {"m": model, **names}
            )

    def put_chunks(self, drafts: Sequence[ChunkDraft]) -> None:
        """Store chunks, and index at once those whose text already has a vector."""
        super().put_chunks(drafts)
        if drafts and self.has_pgvector:
            names = {f"i{n}": d for n, d in enumerate({d.item_id for d in drafts})}
            marks = ", ".join(f":{k}" for k in names)
            self._sync_chunk_vectors(f"c.item_id IN ({marks})", names)

    def _sync_chunk_vectors(self, condition: str, params: dict[str, Any]) -> None:
        rows = self.db.rows(
            f"""SELECT c.id AS id, c.readers_id AS g, e.model AS model, e.vector AS v
            FROM chunks c JOIN embeddings e ON e.text_hash = c.text_hash
            WHERE {condition} AND NOT EXISTS
                (SELECT 1 FROM chunk_vectors x WHERE x.chunk_id = c.id)""",
            params,
        )
        self.db.executemany(
            """INSERT INTO chunk_vectors (chunk_id, model, readers_id, embedding)
            VALUES (:id, :model, :g, CAST(:v AS vector)) ON CONFLICT (chunk_id) DO NOTHING""",
            [
                {"id": r["id"], "model": r["model"], "g": r["g"], "v": _vector_literal(r["v"])}
                for r in rows
            ],
        )

    def searches_in_process(self, model: str) -> bool:
        """Return whether the in-process index serves every search: without pgvector, or
        when the ``vector_index`` setting names an index."""
        return not self.has_pgvector or self._index_options().choice != "auto"

    def search_vectors(
        self,
        principal: Principal,
        model: str,
        vector: NDArray[np.float32],
        limit: int = 20,
        where: ItemFilter | None = None,
    ) -> list[SearchHit]:
        """Return nearest chunks among the readable ones: HNSW scan wide enough, or exact.

        When the scan cannot be widened enough and more readable rows than the
        ``auto`` HNSW threshold remain, the in-process index serves instead.

        Without pgvector, or when the ``vector_index`` setting names an index
        (``exact`` or ``hnsw`` rather than ``auto``), the in-process index
        serves, as on SQLite.
        """
        if self.searches_in_process(model):
            return super().search_vectors(principal, model, vector, limit, where)
        planned = self._pgvector_plan(principal, model, limit, where)
        if planned is None:
            # pgvector's scan cannot reach this share (before 0.8), and ranking
            # this many readable rows in SQL takes hundreds of milliseconds: the
            # in-process HNSW index filters as it walks (built once, then saved).
            return super().search_vectors(principal, model, vector, limit, where)
        groups, allowed, ef_search = planned
        hits = self._nearest(groups, model, vector, limit, where, ef_search)
        if ef_search is not None and len(hits) < min(limit, allowed):
            # The estimate was off and the scan ran dry: never lose hits to the filter.
            hits = self._nearest(groups, model, vector, limit, where, None)
        return hits

    def prepare_vector_search(self, model: str) -> int:
        """As on SQLite, and also beside pgvector once there are more vectors than
        ``_FILTER_PROBE``: principals who may read a small share are served by it."""
        if self.searches_in_process(model):
            return super().prepare_vector_search(model)
        total = self._reader_counts(model).total
        if total <= _FILTER_PROBE:
            return 0
        return self._save_live_index(model)

    def vector_search_job(
        self, principal: Principal, model: str, limit: int = 20, where: ItemFilter | None = None
    ) -> Callable[[NDArray[np.float32]], list[VectorHit]] | None:
        """As on SQLite, and also where the in-process index serves beside pgvector.

        A search pgvector serves runs in the database on this connection: it
        has no job, and hybrid search runs its halves one after the other.
        """
        if self.searches_in_process(model):
            return super().vector_search_job(principal, model, limit, where)
        if self._pgvector_plan(principal, model, limit, where) is not None:
            return None
        return self._threaded_job(principal, model, limit, where)

    def _pgvector_plan(
        self, principal: Principal, model: str, limit: int, where: ItemFilter | None
    ) -> tuple[Collection[int] | None, float, int | None] | None:
        """Return how pgvector searches for ``principal`` (reader sets, readable vectors,
        ``hnsw.ef_search`` or None for exact), or None when the in-process index serves."""
        groups = self.allowed_reader_sets(principal)
        total, allowed = self._readable_vectors(model, groups)
        if where is not None and allowed >= _FILTER_PROBE:
            allowed = min(allowed, self._filtered_vectors(principal, model, where))
        iterative = self._pgvector_version() >= (0, 8)
        ef_search = hnsw_search_width(limit, allowed, total, iterative)
        if ef_search is None and allowed > _FILTER_PROBE:
            # Ranking more readable rows exactly in SQL costs tens of milliseconds
            # (9,000 rows at 100k vectors: p95 62 ms); the in-process index filters as it walks.
            return None
        return groups, allowed, ef_search

    def _nearest(
        self,
        groups: Collection[int] | None,
        model: str,
        vector: NDArray[np.float32],
        limit: int,
        where: ItemFilter | None,
        ef_search: int | None,
    ) -> list[SearchHit]:
        """Rank by HNSW (``ef_search`` given) or exactly, among the reader sets ``groups``.

        The reader sets come from ``allowed_reader_sets`` and go in as one
        array: the planner then reads the readable rows through the readers
        index, where the permission subqueries made it score every row first.
        """
        condition, params = (where or ItemFilter()).chunk_sql()
        if groups is not None:
            condition += " AND v.readers_id = ANY(CAST(:_sets AS BIGINT[]))"
            params["_sets"] = "{" + ",".join(str(int(g)) for g in groups) + "}"
        literal = _vector_literal(np.asarray(vector, dtype=np.float32).tobytes())
        distance = "v.embedding <=> CAST(:_vec AS vector)"
        order = distance if ef_search is not None else "score DESC, v.chunk_id"
        sql = f"""SELECT v.chunk_id AS id, c.item_id AS item_id, 1 - ({distance}) AS score
            FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id
            WHERE v.model = :_model AND {condition} ORDER BY {order} LIMIT :_limit"""
        with self.db.transaction():
            if ef_search is not None:
                self._widen_hnsw_scan(ef_search)
            else:
                self.db.execute("SET LOCAL jit = off")  # compiling costs more than the sort
            rows = self.db.rows(sql, {**params, "_vec": literal, "_model": model, "_limit": limit})
        hits = [SearchHit(int(r["id"]), int(r["item_id"]), float(r["score"])) for r in rows]
        return sorted(hits, key=lambda hit: (-hit.score, hit.chunk_id))

    def _readable_vectors(self, model: str, groups: Collection[int] | None) -> tuple[float, float]:
        """Return the estimated number of ``model``'s vectors, and of those in ``groups``."""
        counts = self._reader_counts(model)
        if groups is None:
            return counts.total, counts.total
        return counts.total, sum(counts.per_set.get(g, 0.0) for g in groups)

    def _reader_counts(self, model: str) -> _ReaderCounts:
        cache: dict[str, _ReaderCounts] = self.__dict__.setdefault("_vector_counts", {})
        top = int(self.db.scalar("SELECT coalesce(max(chunk_id), 0) AS n FROM chunk_vectors"))
        cached = cache.get(model)
        if cached is not None and cached.fresh(top):
            return cached
        estimate = float(
            self.db.scalar(
                "SELECT reltuples FROM pg_class WHERE oid = CAST('chunk_vectors' AS regclass)"
            )
            or -1
        )
        sample = ""
        scale = 1.0
        if estimate > 4 * _SAMPLED_ROWS:
            percent = 100.0 * _SAMPLED_ROWS / estimate
            sample, scale = f"TABLESAMPLE SYSTEM ({percent:.4f}) REPEATABLE (7)", 100.0 / percent
        rows = self.db.rows(
            f"""SELECT readers_id AS g, count(*) AS n FROM chunk_vectors {sample}
            WHERE model = :m GROUP BY readers_id""",
            {"m": model},
        )
        per_set = {int(row["g"]): float(row["n"]) * scale for row in rows}
        counts = _ReaderCounts(top, time.monotonic(), sum(per_set.values()), per_set)
        cache[model] = counts
        return counts

    def _filtered_vectors(self, principal: Principal, model: str, where: ItemFilter) -> float:
        """Return how many readable vectors match ``where``, counting up to a cap."""
        readers = self._readers(principal)
        condition, params = where.chunk_sql()
        sql = f"""{readers.with_clause()}
            SELECT count(*) AS n FROM (SELECT 1 FROM chunk_vectors v
                JOIN chunks c ON c.id = v.chunk_id
                WHERE v.model = :_model AND {readers.condition("v.readers_id")} AND {condition}
                LIMIT :_cap) AS probe"""
        found = self.db.scalar(
            sql, {**readers.params, **params, "_model": model, "_cap": _FILTER_PROBE}
        )
        return float(found or 0) if int(found or 0) < _FILTER_PROBE else math.inf


def _vector_literal(raw: bytes) -> str:
    values = np.frombuffer(bytes(raw), dtype=np.float32)
    return "[" + ",".join(f"{x:.7g}" for x in values) + "]"
