"""Measure search at 100k and 1M chunks, with the permission filter on.

Run ``python benchmarks/search.py`` (``--sizes 100000,1000000``,
``--backends sqlite,postgres``, ``--queries 200``, ``--runs 3``). Prints a table
and writes benchmarks/results/search.json with the machine's details.

The corpus is synthetic and seeded, the same on every backend:

- 200 people in 20 groups (a fifth of them in a second group). An item is
  readable by 1-3 groups (60%) or by one of 5,000 recurring circles of 2-6
  people (40%), so one person may read 5-15% of the chunks.
- Items are email (50%), documents (25%), chat (20%) and tasks (5%), 1-3
  chunks each, two chunks per item on average. A chunk is 30-80 words: 70%
  from its topic's 40 words (Zipf-distributed), 30% from 300 common words.
- Vectors are hash-embedded text: each word has a fixed 384-dimensional
  vector (a point of its topic in a 64-dimensional latent space, projected,
  plus a word-specific part); a text's vector is the normalized weighted sum
  of its words' vectors. ``BagEmbedder`` embeds a query the same way, so
  query embedding costs microseconds and is reported on its own. The
  nearest-neighbour statistics were tuned to those of MiniLM on SciFact
  (written to the JSON under ``vectors``).
- Queries are 2-3 words of a topic, half of them with a common word too.

Loading goes around the store API, into the store's own schema: executemany
on SQLite, COPY on PostgreSQL with the secondary indexes built after the
copy (the store inserts item by item, far too slow for a million chunks).
The in-process vector index is built by the store itself (its first vector
search), and saved; the measuring process loads it from disk.

Each size runs in a loader process (generate, load every backend, build
indexes, compute exact filtered top-10 for the recall check), then one
measuring process per backend: open the store as a server would, warm up,
then time ``Searcher.search`` per mode, round-robin over 40 people. Figures
are medians over the runs of each run's p50 and p95. PostgreSQL is PyPI's
pgserver (PostgreSQL 16, pgvector 0.6) with the settings in ``PG_SETTINGS``.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

RESULTS = Path(__file__).resolve().parent / "results" / "search.json"
EMBEDDINGS = Path(__file__).resolve().parent / "results" / "embeddings.json"
MODEL = "bench-bag"
DIM, LATENT = 384, 64
TOPICS, TOPIC_WORDS, COMMON_WORDS = 500, 150, 300
PEOPLE, GROUPS, CIRCLES = 200, 20, 5_000
PRINCIPALS = 40
MODES = ("keyword", "vector", "hybrid")
BACKENDS = ("sqlite", "postgres", "postgres-hnsw")
TARGET_P95_MS = 50.0
PG_SETTINGS = {
    "shared_buffers": "2GB",
    "effective_cache_size": "8GB",
    "work_mem": "64MB",
    "maintenance_work_mem": "4GB",
    "max_parallel_maintenance_workers": "1",
    "random_page_cost": "1.1",
    "jit": "off",
}
# The shape of the vector space, tuned so that neighbour similarities come
# near MiniLM's on 3,000 SciFact abstracts (top-1 0.63, top-10 0.46, top-100
# 0.32, median 0.10; here, on 3,000 chunks: 0.77 - chunks of one item are
# alike - 0.51, 0.33, 0.12):
# topics sit around 50 themes; a topic's words spread around the topic; each
# word has a direction of its own; common words share one direction.
THEMES, TOPIC_SPREAD, WORD_SPREAD, WORD_OWN, COMMON_SHARED = 50, 1.2, 3.5, 3.5, 3.0
MAIN_TOPIC, SECOND_TOPIC, COMMON_WEIGHT, TOPIC_ZIPF = 0.55, 0.15, 0.5, 0.6


# ----------------------------------------------------------------- corpus


@dataclass
class Vocabulary:
    """Pseudo-words in topics, and the vector of every word."""

    words: list[str]
    vectors: NDArray[np.float32]
    weights: NDArray[np.float32]
    index: dict[str, int]

    @classmethod
    def make(cls, seed: int = 7) -> Vocabulary:
        """Return the vocabulary: TOPICS x TOPIC_WORDS topic words, then the common words."""
        rng = np.random.default_rng(seed)
        syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
        words: dict[str, None] = {}
        while len(words) < TOPICS * TOPIC_WORDS + COMMON_WORDS:
            words["".join(rng.choice(syllables, size=int(rng.integers(2, 4))))] = None
        ordered = list(words)
        themes = rng.normal(size=(THEMES, LATENT))
        centres = themes[rng.integers(0, THEMES, TOPICS)]
        centres = centres + TOPIC_SPREAD * rng.normal(size=centres.shape)
        latent = np.repeat(centres, TOPIC_WORDS, axis=0)
        latent = latent + WORD_SPREAD * rng.normal(size=latent.shape)
        shared = rng.normal(size=(1, LATENT))
        common = COMMON_SHARED * shared + 0.5 * rng.normal(size=(COMMON_WORDS, LATENT))
        latent = np.vstack([latent, common])
        projection = rng.normal(size=(LATENT, DIM)) / np.sqrt(LATENT)
        own = WORD_OWN * rng.normal(size=(len(ordered), DIM))
        vectors = (latent @ projection + own).astype(np.float32)
        weights = np.ones(len(ordered), dtype=np.float32)
        weights[TOPICS * TOPIC_WORDS :] = COMMON_WEIGHT
        return cls(ordered, vectors, weights, {w: n for n, w in enumerate(ordered)})

    def embed_counts(self, counts: Any) -> NDArray[np.float32]:
        """Return unit vectors for a sparse (texts x words) count matrix."""
        summed = np.asarray(counts.multiply(self.weights[None, :]) @ self.vectors)
        norms = np.linalg.norm(summed, axis=1, keepdims=True)
        unit: NDArray[np.float32] = (summed / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit


class BagEmbedder:
    """Embed text as the weighted sum of its words' vectors (the corpus's own embedding)."""

    name = MODEL
    dim = DIM

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary

    def embed_batch(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Return one unit vector per text."""
        vocabulary = self.vocabulary
        vectors = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            ids = [vocabulary.index[w] for w in text.lower().split() if w in vocabulary.index]
            if ids:
                vectors[row] = vocabulary.weights[ids] @ vocabulary.vectors[ids]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        unit: NDArray[np.float32] = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit


@dataclass
class Corpus:
    """Items, their chunks, and the directory they are readable in."""

    size: int
    groups_of: list[list[int]]  # person -> groups
    reader_sets: list[frozenset[str]]
    item_kind: NDArray[np.int8]
    item_set: NDArray[np.int32]
    item_author: NDArray[np.int32]
    item_days: NDArray[np.float64]
    item_titles: list[str]
    item_first: NDArray[np.int64]  # first chunk of each item
    chunk_item: NDArray[np.int64]
    chunk_ordinal: NDArray[np.int32]
    texts: list[str]
    vectors: NDArray[np.float32]


KINDS = ("email", "document", "message", "task")


def make_directory(rng: np.random.Generator) -> tuple[list[list[int]], list[frozenset[str]]]:
    """Return each person's groups, and the reader sets items draw from."""
    groups_of = [[p % GROUPS] for p in range(PEOPLE)]
    for person in rng.choice(PEOPLE, PEOPLE // 5, replace=False):
        groups_of[int(person)].append(int((person * 7 + 3) % GROUPS))
    sets: dict[frozenset[str], None] = {
        frozenset(f"group:g{g:02d}" for g in chosen): None
        for size in (1, 2, 3)
        for chosen in itertools.combinations(range(GROUPS), size)
    }  # every combination of 1-3 groups: 1,350 sets
    group_sets = len(sets)
    while len(sets) < group_sets + CIRCLES:
        chosen = rng.choice(PEOPLE, int(rng.integers(2, 7)), replace=False)
        sets[frozenset(f"person:p{int(p):03d}" for p in chosen)] = None
    return groups_of, list(sets)


def make_corpus(size: int, vocabulary: Vocabulary, seed: int = 11) -> Corpus:
    """Return ``size`` chunks in about ``size / 2`` items, with texts and vectors."""
    from scipy import sparse

    rng = np.random.default_rng(seed)
    groups_of, reader_sets = make_directory(rng)
    group_sets = sum(1 for s in reader_sets if next(iter(s)).startswith("group:"))
    per_item = rng.integers(1, 4, size)
    per_item = per_item[: int(np.searchsorted(np.cumsum(per_item), size)) + 1]
    per_item[-1] -= int(per_item.sum()) - size
    items = len(per_item)
    first = np.concatenate([[0], np.cumsum(per_item)[:-1]]).astype(np.int64)
    chunk_item = np.repeat(np.arange(items), per_item)
    ordinal = (np.arange(size) - first[chunk_item]).astype(np.int32)
    by_groups = rng.random(items) < 0.6
    item_set = np.where(
        by_groups,
        rng.integers(0, group_sets, items),
        rng.integers(group_sets, len(reader_sets), items),
    ).astype(np.int32)
    topic = rng.integers(0, TOPICS, items)
    second = rng.integers(0, TOPICS, items)
    lengths = rng.integers(30, 81, size)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    tokens = _tokens(
        rng, np.repeat(topic[chunk_item], lengths), np.repeat(second[chunk_item], lengths)
    )
    words = np.array(vocabulary.words, dtype=object)
    texts = [" ".join(words[tokens[s : s + n]]) for s, n in zip(starts, lengths, strict=True)]
    counts = sparse.csr_matrix(
        (np.ones(len(tokens)), (np.repeat(np.arange(size), lengths), tokens)),
        shape=(size, len(words)),
    )
    vectors = np.vstack(
        [vocabulary.embed_counts(counts[s : s + 50_000]) for s in range(0, size, 50_000)]
    )
    title_words = _tokens(rng, np.repeat(topic, 4))
    titles = [" ".join(words[title_words[n * 4 : n * 4 + 4]]) for n in range(items)]
    return Corpus(
        size=size,
        groups_of=groups_of,
        reader_sets=reader_sets,
        item_kind=rng.choice(4, items, p=[0.5, 0.25, 0.2, 0.05]).astype(np.int8),
        item_set=item_set,
        item_author=rng.integers(0, PEOPLE, items).astype(np.int32),
        item_days=rng.random(items) * 730,
        item_titles=titles,
        item_first=first,
        chunk_item=chunk_item,
        chunk_ordinal=ordinal,
        texts=texts,
        vectors=vectors,
    )


def _zipf(count: int, exponent: float) -> NDArray[np.float64]:
    weights = 1.0 / np.arange(1, count + 1) ** exponent
    cumulative: NDArray[np.float64] = np.cumsum(weights / weights.sum())
    return cumulative


def _tokens(
    rng: np.random.Generator, topics: NDArray[np.int64], second: NDArray[np.int64] | None = None
) -> NDArray[np.int64]:
    """Return one word id per position: of its topic, its second topic, or a common word."""
    draw = rng.random(len(topics))
    topical = draw < MAIN_TOPIC + (SECOND_TOPIC if second is None else 0.0)
    if second is not None:
        in_second = (draw >= MAIN_TOPIC) & (draw < MAIN_TOPIC + SECOND_TOPIC)
        topics = np.where(in_second, second, topics)
        topical |= in_second
    topic_rank = np.searchsorted(_zipf(TOPIC_WORDS, TOPIC_ZIPF), rng.random(len(topics)))
    common_rank = np.searchsorted(_zipf(COMMON_WORDS, 1.0), rng.random(len(topics)))
    topic_word = topics * TOPIC_WORDS + np.minimum(topic_rank, TOPIC_WORDS - 1)
    common_word = TOPICS * TOPIC_WORDS + np.minimum(common_rank, COMMON_WORDS - 1)
    chosen: NDArray[np.int64] = np.where(topical, topic_word, common_word)
    return chosen


def make_queries(vocabulary: Vocabulary, count: int, seed: int = 13) -> list[str]:
    """Return ``count`` queries: 2-3 words of one topic, half with a common word too."""
    rng = np.random.default_rng(seed)
    queries = []
    for _ in range(count):
        topic = int(rng.integers(0, TOPICS))
        picked = rng.choice(TOPIC_WORDS // 2, int(rng.integers(2, 4)), replace=False)
        words = [vocabulary.words[topic * TOPIC_WORDS + int(n)] for n in picked]
        if rng.random() < 0.5:
            words.append(vocabulary.words[TOPICS * TOPIC_WORDS + int(rng.integers(20, 120))])
        queries.append(" ".join(words))
    return queries


def principals_of(corpus: Corpus, person: int) -> set[str]:
    """Return the reader principals of one person (as the store computes them)."""
    return {f"person:p{person:03d}", "group:everyone"} | {
        f"group:g{g:02d}" for g in corpus.groups_of[person]
    }


def chosen_people(count: int = PRINCIPALS, seed: int = 17) -> list[int]:
    """Return the people whose searches are timed."""
    return [int(p) for p in np.random.default_rng(seed).choice(PEOPLE, count, replace=False)]


def exact_top(
    corpus: Corpus, embedder: BagEmbedder, queries: Sequence[str], people: Sequence[int], k: int
) -> list[list[int]]:
    """Return, per (query, person) pair, the k nearest readable chunks' ordinals (0-based)."""
    readable_sets = {
        person: np.array([bool(s & principals_of(corpus, person)) for s in corpus.reader_sets])
        for person in set(people)
    }
    chunk_set = corpus.item_set[corpus.chunk_item]
    found = []
    vectors = embedder.embed_batch(list(queries))
    for vector, person in zip(vectors, people, strict=True):
        rows = np.flatnonzero(readable_sets[person][chunk_set])
        scores = corpus.vectors[rows] @ vector
        best = np.argsort(-scores, kind="stable")[:k]
        found.append([int(r) for r in rows[best]])
    return found


# ----------------------------------------------------------------- loading


def _directory(store: Any, corpus: Corpus) -> list[int]:
    """Create people, groups and reader sets through the store; return the set ids."""
    from understudy.records import Group, Person

    for group in range(GROUPS):
        members = [p for p in range(PEOPLE) if group in corpus.groups_of[p]]
        store.upsert_group(
            Group(
                id=f"g{group:02d}",
                name=f"Group {group}",
                members=tuple(f"p{m:03d}" for m in members),
            )
        )
    for person in range(PEOPLE):
        store.upsert_person(Person(id=f"p{person:03d}", name=f"Person {person}"))
    with store.db.transaction():
        return [store._reader_set_id(readers) for readers in corpus.reader_sets]


def _sources(store: Any) -> list[int]:
    from understudy.records import Source

    return [
        int(store.add_source(Source(kind="files", location=f"/bench/{kind}")).id or 0)
        for kind in KINDS
    ]


def _item_rows(corpus: Corpus, set_ids: list[int], sources: list[int]) -> Iterator[tuple[Any, ...]]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    ends = np.concatenate([corpus.item_first[1:], [corpus.size]])
    for n in range(len(corpus.item_first)):
        kind = int(corpus.item_kind[n])
        body = "\n\n".join(corpus.texts[int(corpus.item_first[n]) : int(ends[n])])
        yield (
            n + 1,
            sources[kind],
            f"x{n}",
            hashlib.blake2b(body.encode(), digest_size=16).hexdigest(),
            KINDS[kind],
            f"t{n // 3}" if kind == 0 else None,
            f"p{int(corpus.item_author[n]):03d}",
            "[]",
            (start + timedelta(days=float(corpus.item_days[n]))).isoformat(),
            corpus.item_titles[n],
            body,
            json.dumps({"message_id": f"<m{n}@bench>"}) if kind == 0 else "{}",
            set_ids[int(corpus.item_set[n])],
        )


def _chunk_rows(corpus: Corpus, set_ids: list[int]) -> Iterator[tuple[Any, ...]]:
    from understudy.store import text_hash

    start = datetime(2024, 1, 1, tzinfo=UTC)
    for c in range(corpus.size):
        n = int(corpus.chunk_item[c])
        yield (
            c + 1,
            n + 1,
            int(corpus.chunk_ordinal[c]),
            corpus.item_titles[n],
            corpus.texts[c],
            text_hash(corpus.texts[c]),
            set_ids[int(corpus.item_set[n])],
            KINDS[int(corpus.item_kind[n])],
            f"p{int(corpus.item_author[n]):03d}",
            (start + timedelta(days=float(corpus.item_days[n]))).isoformat(),
        )


_ITEM_COLUMNS = (
    "id, source_id, external_id, content_hash, kind, thread_id, author, recipients, ts, "
    "title, body, metadata, readers_id"
)
_CHUNK_COLUMNS = "id, item_id, ordinal, title, text, text_hash, readers_id, kind, author, ts"


def _batches(
    rows: Iterator[tuple[Any, ...]], size: int = 20_000
) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def load_sqlite(corpus: Corpus, path: Path) -> dict[str, float]:
    """Load the corpus into a SQLite store at ``path``; return the seconds of each step."""
    from understudy.store.sqlite import SQLiteStore
    from understudy.store.vectors import IndexOptions

    seconds: dict[str, float] = {}
    store = SQLiteStore.open(path)
    store.vector_options = IndexOptions("auto")
    connection = store.db.connection
    clock = time.perf_counter()
    set_ids, sources = _directory(store, corpus), _sources(store)
    seconds["directory_s"] = time.perf_counter() - clock
    marks = ", ".join("?" * 13)
    clock = time.perf_counter()
    for batch in _batches(_item_rows(corpus, set_ids, sources)):
        connection.execute("BEGIN")
        connection.executemany(
            f"INSERT INTO items ({_ITEM_COLUMNS}, is_current, attachments, ingested_at) "
            f"VALUES ({marks}, 1, '[]', '2026-01-01 00:00:00.000000+00:00')",
            batch,
        )
        connection.execute("COMMIT")
    seconds["items_s"] = time.perf_counter() - clock
    clock = time.perf_counter()
    for batch in _batches(_chunk_rows(corpus, set_ids)):
        connection.execute("BEGIN")  # the FTS5 triggers index each chunk as it lands
        connection.executemany(
            f"INSERT INTO chunks ({_CHUNK_COLUMNS}) VALUES ({', '.join('?' * 10)})", batch
        )
        connection.execute("COMMIT")
    seconds["chunks_fts_s"] = time.perf_counter() - clock
    clock = time.perf_counter()
    for batch in _batches(_embedding_rows(corpus)):
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT OR IGNORE INTO embeddings (model, text_hash, vector) VALUES (?, ?, ?)", batch
        )
        connection.execute("COMMIT")
    seconds["embeddings_s"] = time.perf_counter() - clock
    connection.execute("ANALYZE")
    clock = time.perf_counter()
    index = store._vector_index(MODEL)  # reads the tables, builds HNSW, saves it
    seconds["vector_index_s"] = time.perf_counter() - clock
    seconds["vector_index_kind"] = index.kind if index is not None else "none"  # type: ignore[assignment]
    store.close()
    return seconds


def _embedding_rows(corpus: Corpus) -> Iterator[tuple[Any, ...]]:
    from understudy.store import text_hash

    for c in range(corpus.size):
        yield (MODEL, text_hash(corpus.texts[c]), corpus.vectors[c].tobytes())


def _copy(cursor: Any, table: str, columns: str, rows: Iterator[tuple[Any, ...]]) -> None:
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _secondary_indexes(cursor: Any, tables: Sequence[str]) -> list[tuple[str, str]]:
    names = ", ".join(f"'{t}'" for t in tables)
    cursor.execute(
        f"""SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()
        AND tablename IN ({names}) AND indexname NOT LIKE '%%_pkey'
        AND indexdef NOT LIKE '%%UNIQUE%%'"""
    )
    return [(row[0], row[1]) for row in cursor.fetchall()]


def load_postgres(corpus: Corpus, url: str) -> dict[str, float]:
    """Load the corpus into PostgreSQL at ``url`` with COPY; return the seconds of each step."""
    import psycopg

    from understudy.store.postgres import PostgresStore

    seconds: dict[str, float] = {}
    store = PostgresStore.open(url)
    clock = time.perf_counter()
    set_ids, sources = _directory(store, corpus), _sources(store)
    seconds["directory_s"] = time.perf_counter() - clock
    with psycopg.connect(url, autocommit=True) as connection, connection.cursor() as cursor:
        indexes = _secondary_indexes(cursor, ["items", "chunks", "chunk_vectors"])
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
        clock = time.perf_counter()
        _copy(
            cursor,
            "items",
            f"{_ITEM_COLUMNS}, is_current, attachments, ingested_at",
            (
                (*row, True, "[]", "2026-01-01T00:00:00+00:00")
                for row in _item_rows(corpus, set_ids, sources)
            ),
        )
        seconds["items_s"] = time.perf_counter() - clock
        clock = time.perf_counter()
        _copy(cursor, "chunks", _CHUNK_COLUMNS, _chunk_rows(corpus, set_ids))
        seconds["chunks_s"] = time.perf_counter() - clock
        clock = time.perf_counter()
        _copy(cursor, "embeddings", "model, text_hash, vector", _embedding_rows(corpus))
        seconds["embeddings_s"] = time.perf_counter() - clock
        clock = time.perf_counter()
        with cursor.copy(
            "COPY chunk_vectors (chunk_id, model, readers_id, embedding) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["int8", "text", "int8", "bytea"])
            header = np.array([DIM, 0], dtype=">i2").tobytes()
            chunk_sets = corpus.item_set[corpus.chunk_item]
            for c in range(corpus.size):  # pgvector's binary form: dim, unused, big-endian floats
                vector = header + corpus.vectors[c].astype(">f4").tobytes()
                copy.write_row((c + 1, MODEL, set_ids[int(chunk_sets[c])], vector))
        seconds["chunk_vectors_s"] = time.perf_counter() - clock
        for table in ("items", "chunks"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        built = _rebuild_indexes(cursor, indexes)
        seconds.update(built)
        clock = time.perf_counter()
        cursor.execute("VACUUM ANALYZE")
        seconds["vacuum_analyze_s"] = time.perf_counter() - clock
    clock = time.perf_counter()
    store.count_lexemes()  # as an index run does after adding this many chunks
    seconds["count_lexemes_s"] = time.perf_counter() - clock
    store.close()
    return seconds


def build_in_process_index(url: str) -> dict[str, float]:
    """Build and save the in-process HNSW index of the PostgreSQL store (``postgres-hnsw``)."""
    store = open_store("postgres-hnsw", url)
    clock = time.perf_counter()
    index = store._vector_index(MODEL)
    seconds: dict[str, Any] = {"vector_index_s": time.perf_counter() - clock}
    seconds["vector_index_kind"] = index.kind if index is not None else "none"
    store.close()
    return seconds


def _rebuild_indexes(cursor: Any, indexes: Sequence[tuple[str, str]]) -> dict[str, float]:
    seconds = {"fts_gin_s": 0.0, "btree_s": 0.0, "hnsw_s": 0.0}
    for name, definition in indexes:
        clock = time.perf_counter()
        cursor.execute(definition)
        key = (
            "hnsw_s" if "hnsw" in definition else "fts_gin_s" if "gin" in definition else "btree_s"
        )
        seconds[key] += time.perf_counter() - clock
        del name
    return seconds


# ----------------------------------------------------------------- measuring


def rss_mb() -> float:
    """Return this process's resident set size now, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    """Return this process's peak resident set size in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def open_store(backend: str, location: str) -> Any:
    """Open the benchmark's store the way a server process would.

    ``postgres-hnsw`` is the PostgreSQL store with ``vector_index = hnsw``: the
    in-process index instead of pgvector's.
    """
    from understudy.store.vectors import IndexOptions

    if backend == "sqlite":
        from understudy.store.sqlite import SQLiteStore

        store: Any = SQLiteStore.open(Path(location))
        store.vector_options = IndexOptions("auto")
        return store
    from understudy.store.postgres import PostgresStore

    store = PostgresStore.open(location)
    store.vector_options = IndexOptions("hnsw" if backend == "postgres-hnsw" else "auto")
    return store


def percentiles(seconds: Sequence[float]) -> tuple[float, float]:
    """Return the p50 and p95 of ``seconds``, in milliseconds."""
    ordered = np.sort(np.asarray(seconds)) * 1000
    return float(np.percentile(ordered, 50)), float(np.percentile(ordered, 95))


def _timed(function: Any, *args: Any, **kwargs: Any) -> float:
    clock = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - clock


def median_runs(runs: list[tuple[float, float]], digits: int = 2) -> dict[str, Any]:
    """Return the medians over runs of each run's (p50, p95), with the runs themselves."""
    return {
        "p50": round(statistics.median(p for p, _ in runs), digits),
        "p95": round(statistics.median(q for _, q in runs), digits),
        "runs": [[round(p, digits), round(q, digits)] for p, q in runs],
    }


def kept_store(work: Path, size: int) -> tuple[Any, BagEmbedder, list[str], list[Any]]:
    """Open the SQLite store ``--keep`` left in ``work``: (store, embedder, queries, askers)."""
    from understudy.records import Principal

    plan = json.loads((work / f"plan-{size}.json").read_text())
    store = open_store("sqlite", str(work / f"sqlite-{size}" / "understudy.db"))
    queries, people = plan["queries"], plan["people"]
    askers = [Principal.person(f"p{people[n % len(people)]:03d}") for n in range(len(queries))]
    return store, BagEmbedder(Vocabulary.make()), queries, askers


def kept_from_arguments(
    doc: str | None,
) -> tuple[argparse.Namespace, tuple[Any, BagEmbedder, list[str], list[Any]]]:
    """Parse ``--work``, ``--size`` and ``--runs``, and open the kept store they name."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--work", default="/tmp/understudy-bench-search")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    return options, kept_store(Path(options.work), options.size)


def pass_timings(search: Any, askers: Sequence[Any], queries: Sequence[str], mode: str) -> Any:
    """Return p50 and p95 (ms) of one pass of ``search(asker, query, limit=10, mode=mode)``."""
    return percentiles(
        [_timed(search, askers[n], q, limit=10, mode=mode) for n, q in enumerate(queries)]
    )


def alternate(
    ways: Mapping[str, tuple[Any, Any]],
    askers: Sequence[Any],
    queries: Sequence[str],
    modes: Sequence[str],
    runs: int,
) -> dict[str, dict[str, Any]]:
    """Time ways of searching one store, alternating, and return medians by "way mode".

    ``ways`` maps a name to (prepare, search): ``prepare()`` runs before each of
    that way's passes (to switch a setting), then ``search`` is timed. Each way
    searches 30 queries first, to warm the vector index and the caches.
    """
    for prepare, search in ways.values():
        prepare()
        for n in range(min(30, len(queries))):
            for mode in modes:
                search(askers[n], queries[n], mode=mode)
    taken: dict[str, list[tuple[float, float]]] = {}
    for _ in range(runs):
        for name, (prepare, search) in ways.items():
            prepare()
            for mode in modes:
                taken.setdefault(f"{name} {mode}", []).append(
                    pass_timings(search, askers, queries, mode)
                )
    return {name: median_runs(figures, 1) for name, figures in taken.items()}


def record(key: str, figures: dict[str, Any]) -> None:
    """Print ``figures["latency_ms"]`` and keep ``figures`` in the results under ``key``."""
    for name, figure in figures["latency_ms"].items():
        print(f"{name:<28} p50 {figure['p50']:>6.1f} ms  p95 {figure['p95']:>6.1f} ms")
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results[key] = figures
    RESULTS.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {RESULTS}")


def measure(backend: str, location: str, plan: dict[str, Any], runs: int) -> dict[str, Any]:
    """Time every search mode (and its parts) as the chosen people; check vector recall."""
    from understudy.brain.search import Searcher
    from understudy.records import Principal

    queries, people = plan["queries"], plan["people"]
    embedder = BagEmbedder(Vocabulary.make())
    rss_start = rss_mb()
    clock = time.perf_counter()
    store = open_store(backend, location)
    searcher = Searcher(store, embedder)
    asker = [Principal.person(f"p{people[n % len(people)]:03d}") for n in range(len(queries))]
    searcher.search(asker[0], queries[0], limit=10, mode="vector")  # loads the vector index
    first_search_s = time.perf_counter() - clock
    for n in range(min(30, len(queries))):
        for mode in MODES:
            searcher.search(asker[n], queries[n], limit=10, mode=mode)
    figures: dict[str, list[tuple[float, float]]] = {}
    for _ in range(runs):
        for mode in MODES:
            seconds = [
                _timed(searcher.search, asker[n], q, limit=10, mode=mode)
                for n, q in enumerate(queries)
            ]
            figures.setdefault(mode, []).append(percentiles(seconds))
        vectors = embedder.embed_batch(queries)
        parts = {
            "store.search_text (100)": [
                _timed(searcher.keyword, asker[n], q, 100) for n, q in enumerate(queries)
            ],
            "store.search_vectors (100)": [
                _timed(store.search_vectors, asker[n], MODEL, vectors[n], 100)
                for n in range(len(queries))
            ],
        }
        for name, seconds in parts.items():
            figures.setdefault(name, []).append(percentiles(seconds))
    recall = _recall(store, embedder, plan)
    index = store._vector_index(MODEL) if backend != "postgres" else None
    sweep = _ef_sweep(store, embedder, plan) if index is not None and index.kind == "hnsw" else []
    store.close()
    return {
        "vector_index": index.kind if index is not None else "pgvector",
        "ef_min_sweep": sweep,
        "first_search_s": round(first_search_s, 2),
        "latency_ms": {name: median_runs(runs_) for name, runs_ in figures.items()},
        "vector_recall_at_10": recall,
        "rss_mb": round(rss_mb(), 1),
        "rss_before_open_mb": round(rss_start, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def _recall(store: Any, embedder: BagEmbedder, plan: dict[str, Any]) -> float:
    """Return the store's filtered vector recall@10 against exact filtered search."""
    from understudy.records import Principal

    found = []
    people = plan["people"]
    for n, truth in enumerate(plan["truth"]):
        vector = embedder.embed_batch([plan["queries"][n]])[0]
        principal = Principal.person(f"p{people[n % len(people)]:03d}")
        hits = {h.chunk_id for h in store.search_vectors(principal, MODEL, vector, 10)}
        expected = {ordinal + 1 for ordinal in truth}
        found.append(len(hits & expected) / max(1, len(expected)))
    return round(float(np.mean(found)), 4)


def _ef_sweep(store: Any, embedder: BagEmbedder, plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Return recall@10 and vector latency of the in-process HNSW index at several beam
    widths (EF_MIN, EF_PER_HIT), and of scoring every allowed row from its 8-bit codes."""
    from understudy.records import Principal
    from understudy.store import hnsw

    people, queries = plan["people"], plan["queries"]
    vectors = embedder.embed_batch(queries)
    asker = [Principal.person(f"p{people[n % len(people)]:03d}") for n in range(len(queries))]
    chosen = (hnsw.EF_MIN, hnsw.EF_PER_HIT, hnsw.EXACT_ROWS_PER_EF)
    settings: list[tuple[Any, float, float]] = [
        (100, 4.0, chosen[2]),
        (200, 4.0, chosen[2]),
        (800, 4.0, chosen[2]),
        (200, 16.0, chosen[2]),
        (200, 32.0, chosen[2]),
        ("exact on 8-bit codes", chosen[1], 1e12),
    ]
    rows = []
    for ef_min, per_hit, exact_rows in settings:
        hnsw.EF_MIN = ef_min if isinstance(ef_min, int) else chosen[0]
        hnsw.EF_PER_HIT, hnsw.EXACT_ROWS_PER_EF = per_hit, exact_rows
        row: dict[str, Any] = {
            "ef_min": ef_min,
            "ef_per_hit": per_hit,
            "recall_at_10": _recall(store, embedder, plan),
        }
        for k in (10, 100):
            seconds = [
                _timed(store.search_vectors, asker[n], MODEL, vectors[n], k)
                for n in range(len(queries))
            ]
            p50, p95 = percentiles(seconds)
            row[f"k{k}_ms"] = {"p50": round(p50, 2), "p95": round(p95, 2)}
        rows.append(row)
    hnsw.EF_MIN, hnsw.EF_PER_HIT, hnsw.EXACT_ROWS_PER_EF = chosen
    return rows


def store_sizes(backend: str, location: str) -> dict[str, float]:
    """Return the on-disk size of the store and its indexes, in MiB."""
    if backend == "postgres-hnsw":
        home = Path(os.environ.get("UNDERSTUDY_HOME", "."))
        files = [p for p in (home / "index").rglob("*") if p.is_file()]
        return {"vector_index_mb": round(sum(p.stat().st_size for p in files) / 2**20, 1)}
    if backend == "sqlite":
        path = Path(location)
        files = [path, *path.parent.glob("*.db-wal"), *(path.parent / "index").rglob("*")]
        index = sum(p.stat().st_size for p in (path.parent / "index").rglob("*") if p.is_file())
        total = sum(p.stat().st_size for p in files if p.is_file())
        return {
            "database_mb": round((total - index) / 2**20, 1),
            "vector_index_mb": round(index / 2**20, 1),
        }
    import psycopg

    with psycopg.connect(location, autocommit=True) as connection:
        rows = connection.execute(
            """SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c
            WHERE c.relkind IN ('r', 'i') AND c.relnamespace = 'public'::regnamespace"""
        ).fetchall()
    sizes = {name: size / 2**20 for name, size in rows}
    return {
        "database_mb": round(sum(v for k, v in sizes.items() if not k.endswith("hnsw")), 1),
        "chunk_vectors_mb": round(sizes.get("chunk_vectors", 0.0), 1),
        "hnsw_index_mb": round(sizes.get("chunk_vectors_hnsw", 0.0), 1),
    }


def threshold_sweep(
    sizes: Sequence[int] = (10_000, 25_000, 50_000, 100_000),
) -> list[dict[str, Any]]:
    """Time exact and HNSW vector search (k=100) by index size: where ``auto`` should switch."""
    from understudy.store.hnsw import HnswIndex
    from understudy.store.vectors import ExactIndex

    vocabulary = Vocabulary.make()
    queries = BagEmbedder(vocabulary).embed_batch(make_queries(vocabulary, 100))
    rows = []
    for size in sizes:
        corpus = make_corpus(size, vocabulary)
        ids = np.arange(1, size + 1, dtype=np.int64)
        groups = corpus.item_set[corpus.chunk_item].astype(np.int64)
        exact, graph = ExactIndex(DIM), HnswIndex(DIM)
        exact.add(ids, groups, corpus.vectors)
        clock = time.perf_counter()
        graph.add(ids, groups, corpus.vectors)
        row: dict[str, Any] = {
            "vectors": size,
            "hnsw_build_s": round(time.perf_counter() - clock, 1),
        }
        allowed = set(range(0, len(corpus.reader_sets), 10))  # a tenth of the reader sets
        for name, index in (("exact", exact), ("hnsw", graph)):
            for label, chosen in (("all", None), ("tenth", allowed)):
                seconds = [_timed(index.search, q, 100, chosen) for q in queries]
                p50, p95 = percentiles(seconds)
                row[f"{name}_{label}_ms"] = {"p50": round(p50, 2), "p95": round(p95, 2)}
        rows.append(row)
    return rows


# ----------------------------------------------------------------- orchestration


def load(size: int, backends: Sequence[str], places: dict[str, str], count: int) -> dict[str, Any]:
    """Generate the corpus, load every backend, and write the query plan with exact answers."""
    clock = time.perf_counter()
    vocabulary = Vocabulary.make()
    corpus = make_corpus(size, vocabulary)
    result: dict[str, Any] = {"generate_s": round(time.perf_counter() - clock, 1)}
    embedder = BagEmbedder(vocabulary)
    queries = make_queries(vocabulary, count)
    people = chosen_people()
    asked = [people[n % len(people)] for n in range(len(queries))]
    truth = exact_top(corpus, embedder, queries[:100], asked[:100], 10)
    shares = _shares(corpus, people)
    plan = {"queries": queries, "people": people, "truth": truth}
    Path(places["plan"]).write_text(json.dumps(plan))
    del plan
    result["readable_share"] = shares
    result["items"] = len(corpus.item_first)
    hashed = _hash_embedding_rate(corpus.texts[:2000])
    result["hash_embedder_chunks_per_s"] = hashed
    for backend in backends:
        print(f"  loading {backend} ({size:,} chunks)", file=sys.stderr, flush=True)
        clock = time.perf_counter()
        if backend == "sqlite":
            steps = load_sqlite(corpus, Path(places["sqlite"]))
        elif backend == "postgres":
            steps = load_postgres(corpus, places["postgres"])
        else:
            steps = build_in_process_index(places["postgres"])
        steps["total_s"] = time.perf_counter() - clock
        result[backend] = {k: round(v, 1) if isinstance(v, float) else v for k, v in steps.items()}
    result["loader_peak_rss_mb"] = round(peak_rss_mb(), 1)
    return result


def _shares(corpus: Corpus, people: Sequence[int]) -> dict[str, float]:
    chunk_set = corpus.item_set[corpus.chunk_item]
    shares = []
    for person in people:
        readable = np.array([bool(s & principals_of(corpus, person)) for s in corpus.reader_sets])
        shares.append(float(readable[chunk_set].mean()))
    return {
        "min": round(min(shares), 4),
        "median": round(statistics.median(shares), 4),
        "max": round(max(shares), 4),
    }


def _hash_embedding_rate(texts: Sequence[str]) -> float:
    from understudy.brain.embeddings import HashEmbedder

    seconds = _timed(HashEmbedder().embed_batch, list(texts))
    return round(len(texts) / seconds, 1)


def start_postgres(directory: Path) -> Any:
    """Start pgserver in ``directory`` with the benchmark's settings."""
    import pgserver
    from pgserver._commands import pg_ctl

    server = pgserver.get_server(str(directory), cleanup_mode="stop")
    settings = "; ".join(f"ALTER SYSTEM SET {k} = '{v}'" for k, v in PG_SETTINGS.items())
    server.psql(settings + ";")
    pg_ctl(
        ["-w", "-m", "fast", "restart"], pgdata=server.pgdata, user=server.system_user, timeout=120
    )
    return server


def database_url(server: Any, name: str) -> str:
    """Create a fresh database with pgvector; return its URL."""
    server.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE);')
    server.psql(f'CREATE DATABASE "{name}";')
    base = server.get_uri()
    url = base.replace("/postgres?", f"/{name}?")
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
    return url


def child(arguments: Sequence[str]) -> dict[str, Any]:
    """Run this script in a child process; return the JSON it prints last."""
    done = subprocess.run(
        [sys.executable, __file__, *arguments], stdout=subprocess.PIPE, text=True, check=False
    )
    if done.returncode != 0:
        # Keep going: one failed step (say, a module mid-edit) must not lose the others.
        print(f"{' '.join(arguments[:2])} failed with code {done.returncode}", file=sys.stderr)
        return {"error": f"exit code {done.returncode}; see the log above"}
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def machine() -> dict[str, Any]:
    """Return what the figures were measured on."""
    import sqlite3

    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    versions = {}
    for package in ("numpy", "faiss-cpu", "psycopg", "pgserver", "scipy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "absent"
    versions["sqlite"] = sqlite3.sqlite_version
    return {
        "cpu_count": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def run_all(args: argparse.Namespace, results: dict[str, Any]) -> None:
    """Load and measure every size on every backend, into ``results``.

    The figures so far are written to search.partial.json after each size, so
    a long run that is stopped still leaves them.
    """
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if "postgres-hnsw" in args.backends and "postgres" not in args.backends:
        args.backends.insert(0, "postgres")  # the in-process index reads the loaded tables
    os.environ["UNDERSTUDY_HOME"] = str(work / "home")  # where postgres-hnsw saves its index
    server = start_postgres(work / "pgdata") if "postgres" in args.backends else None
    results["sizes"] = {}
    try:
        for size in args.sizes:
            results["sizes"][str(size)] = run_size(args, work, server, size)
            partial = RESULTS.with_name("search.partial.json")
            partial.write_text(json.dumps(results, indent=1) + "\n")
        if server is not None:
            results["postgres"] = {"settings": PG_SETTINGS, "pgvector": _pgvector_version(server)}
    finally:
        if server is not None:
            from pgserver._commands import pg_ctl

            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)


def run_size(args: argparse.Namespace, work: Path, server: Any, size: int) -> dict[str, Any]:
    """Load and measure one size on every backend; return its results."""
    places = {"plan": str(work / f"plan-{size}.json")}
    if "sqlite" in args.backends:
        folder = work / f"sqlite-{size}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        places["sqlite"] = str(folder / "understudy.db")
    if server is not None:
        places["postgres"] = database_url(server, f"bench_{size}")
        places["postgres-hnsw"] = places["postgres"]
        shutil.rmtree(work / "home" / "index", ignore_errors=True)
    print(f"{size:,} chunks: generating and loading", file=sys.stderr, flush=True)
    loaded = child(
        [
            "--load",
            str(size),
            "--places",
            json.dumps(places),
            "--backends",
            ",".join(args.backends),
            "--queries",
            str(args.queries),
        ]
    )
    entry: dict[str, Any] = {"load": loaded}
    if "error" in loaded:
        return entry
    for backend in args.backends:
        print(f"{size:,} chunks: measuring {backend}", file=sys.stderr, flush=True)
        measured = child(
            [
                "--measure",
                backend,
                "--location",
                places[backend],
                "--plan",
                places["plan"],
                "--runs",
                str(args.runs),
            ]
        )
        if "error" not in measured:
            measured["disk"] = store_sizes(backend, places[backend])
        entry[backend] = measured
    if not args.keep:
        shutil.rmtree(work / f"sqlite-{size}", ignore_errors=True)
        if server is not None:
            server.psql(f'DROP DATABASE IF EXISTS "bench_{size}" WITH (FORCE);')
    return entry


def _pgvector_version(server: Any) -> str:
    answer = server.psql(
        "SELECT default_version FROM pg_available_extensions WHERE name = 'vector';"
    )
    lines = [line.strip() for line in str(answer).splitlines() if line.strip()]
    return lines[2] if len(lines) > 2 else "unknown"


def table(results: dict[str, Any]) -> str:
    """Return the results as text tables."""
    lines = [f"{'backend':<14}{'chunks':>10}  {'mode':<28}{'p50 ms':>8}{'p95 ms':>8}"]
    entries = [
        (int(size), backend, entry)
        for size, entry in results["sizes"].items()
        for backend in BACKENDS
        if "error" not in entry.get(backend, {"error": "absent"}) and "error" not in entry["load"]
    ]
    for size, backend, entry in entries:
        for mode, figure in entry[backend]["latency_ms"].items():
            flag = "  over target" if mode in MODES and figure["p95"] > TARGET_P95_MS else ""
            lines.append(
                f"{backend:<14}{size:>10,}  {mode:<28}{figure['p50']:>8.1f}{figure['p95']:>8.1f}"
                + flag
            )
    lines += [
        "",
        f"{'backend':<14}{'chunks':>10}  {'RSS MB':>8}{'recall@10':>10}"
        f"{'load s':>8}{'vector index s':>16}{'first search s':>16}",
    ]
    for size, backend, entry in entries:
        loaded, measured = entry["load"][backend], entry[backend]
        index_s = loaded.get("vector_index_s", loaded.get("hnsw_s", 0.0))
        lines.append(
            f"{backend:<14}{size:>10,}  {measured['rss_mb']:>8.0f}"
            f"{measured['vector_recall_at_10']:>10.3f}{loaded['total_s']:>8.0f}"
            f"{index_s:>16.0f}{measured['first_search_s']:>16.1f}"
        )
    sweeps = [(size, backend, entry[backend]["ef_min_sweep"]) for size, backend, entry in entries]
    for size, backend, sweep in sweeps:
        for row in sweep:
            if "k10_ms" not in row:
                lines.append(f"{backend} {size:,} {row['ef_min']}: recall@10 {row['recall_at_10']}")
                continue
            lines.append(
                f"{backend} {size:,} EF_MIN={row['ef_min']} EF_PER_HIT={row.get('ef_per_hit')}: "
                f"recall@10 {row['recall_at_10']:.3f}, "
                f"k=10 p50/p95 {row['k10_ms']['p50']}/{row['k10_ms']['p95']} ms, "
                f"k=100 {row['k100_ms']['p50']}/{row['k100_ms']['p95']} ms"
            )
    for row in results.get("auto_threshold", {}).get("rows", []):
        lines.append(
            f"{row['vectors']:,} vectors, k=100: exact {row['exact_all_ms']['p50']}/"
            f"{row['exact_all_ms']['p95']} ms (a tenth readable {row['exact_tenth_ms']['p50']}/"
            f"{row['exact_tenth_ms']['p95']}), HNSW {row['hnsw_all_ms']['p50']}/"
            f"{row['hnsw_all_ms']['p95']} ms ({row['hnsw_tenth_ms']['p50']}/"
            f"{row['hnsw_tenth_ms']['p95']}), HNSW build {row['hnsw_build_s']} s"
        )
    return "\n".join(lines)


def main() -> None:
    """Parse the arguments and run the benchmark, or one of its child steps."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", default="/tmp/understudy-bench-search")
    parser.add_argument("--keep", action="store_true", help="keep the loaded stores")
    parser.add_argument("--output", default=str(RESULTS), help="where to write the JSON")
    parser.add_argument("--load", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--places", help=argparse.SUPPRESS)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--location", help=argparse.SUPPRESS)
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    parser.add_argument("--threshold", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--skip-threshold", action="store_true", help="skip the exact/HNSW sweep")
    args = parser.parse_args()
    args.backends = [b for b in args.backends.split(",") if b]
    if args.load:
        print(json.dumps(load(args.load, args.backends, json.loads(args.places), args.queries)))
        return
    if args.threshold:
        print(json.dumps({"rows": threshold_sweep()}))
        return
    if args.measure:
        plan = json.loads(Path(args.plan).read_text())
        print(json.dumps(measure(args.measure, args.location, plan, args.runs)))
        return
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    started = time.perf_counter()
    before = os.getloadavg()
    results: dict[str, Any] = {"machine": machine(), "load_average_before": before}
    if not args.skip_threshold:
        print("exact or HNSW: timing both by index size", file=sys.stderr, flush=True)
        results["auto_threshold"] = child(["--threshold"])
    run_all(args, results)
    results["load_average_after"] = os.getloadavg()
    results["total_minutes"] = round((time.perf_counter() - started) / 60, 1)
    results["embedding"] = _embedding_figures(results)
    results["target_p95_ms"] = TARGET_P95_MS
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=1) + "\n")
    RESULTS.with_name("search.partial.json").unlink(missing_ok=True)
    print(table(results))
    print(f"\nwrote {output} in {results['total_minutes']} minutes")


def _embedding_figures(results: dict[str, Any]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    if EMBEDDINGS.exists():
        measured = json.loads(EMBEDDINGS.read_text())["backends"]
        figures["minilm_int8_chunks_per_s"] = {
            tokens: measured["minilm-int8"]["rates"][tokens]["chunks_per_s"]
            for tokens in ("60", "256")
        }
        figures["source"] = "benchmarks/results/embeddings.json"
    rates = [e["load"]["hash_embedder_chunks_per_s"] for e in results["sizes"].values()]
    figures["hash_embedder_chunks_per_s"] = max(rates) if rates else None
    return figures


if __name__ == "__main__":
    main()
