"""Turn text into vectors on the CPU: the ``Embedder`` contract, its built-ins, the indexing job.

An embedder is a plugin with one abstract method, ``embed_batch``, and two
class attributes: ``name``, the key its vectors are stored under, and
``dim``. Built-ins register through the same table third parties extend with
``understudy.embedders`` entry points; the ``embedding_model`` setting picks one.

- ``minilm``: all-MiniLM-L6-v2, packaged with its weights, run by
  onnxruntime as int8: mean cosine 0.999 to sentence-transformers on the
  same model, at over three times its speed (``benchmarks/embeddings.py``).
- ``hash``: no model; hashed word and character n-gram features. Texts that
  share words come out closer. Fast and dependency-free, for tests.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
from numpy.typing import NDArray

from understudy.errors import ConfigError, StoreError
from understudy.settings import Settings
from understudy.store import Store

if TYPE_CHECKING:
    from understudy.brain.onnx_minilm import Variant

__all__ = [
    "BUILTIN_EMBEDDERS",
    "Embedder",
    "HashEmbedder",
    "MiniLMEmbedder",
    "MiniLMFloatEmbedder",
    "embed_pending",
    "embed_query",
    "embedder_class",
    "embedder_names",
    "get_embedder",
    "model_cache_dir",
]

Vectors = NDArray[np.float32]

BUILTIN_EMBEDDERS: dict[str, str] = {
    "minilm": "understudy.brain.embeddings:MiniLMEmbedder",
    "hash": "understudy.brain.embeddings:HashEmbedder",
}
MODEL_CACHE_ENV = "UNDERSTUDY_MODEL_CACHE"


class Embedder(ABC):
    """Turn texts into unit vectors of one model's space."""

    # The key stored with every vector; change it whenever the vectors change.
    name: ClassVar[str]
    dim: ClassVar[int] = 384

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Create the embedder for ``settings`` (override to read settings)."""
        return cls()

    @abstractmethod
    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        """Return float32 vectors of shape (len(texts), dim), each of length one."""


class HashEmbedder(Embedder):
    """Hash words and character trigrams into a vector: no model, for tests and fallbacks."""

    name = "hash"
    word_weight: ClassVar[float] = 1.0
    trigram_weight: ClassVar[float] = 0.3

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        """Return one unit vector per text; texts sharing words and spellings are closer."""
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature, weight in _hash_features(text, self.word_weight, self.trigram_weight):
                slot, sign = _hash_slot(feature, self.dim)
                vectors[row, slot] += sign * weight
        return _unit_rows(vectors)


@lru_cache(maxsize=1 << 16)
def _hash_slot(feature: str, dim: int) -> tuple[int, float]:
    # blake2b, not hash(): Python salts str hashes per process, and stored
    # vectors must mean the same in every process.
    code = int.from_bytes(
        hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest(), "little"
    )
    # One hash gives both the slot and a sign, so collisions cancel out on
    # average instead of piling up.
    return code % dim, 1.0 if code >> 63 else -1.0


def _hash_features(text: str, word: float, trigram: float) -> Iterator[tuple[str, float]]:
    words = re.findall(r"\w+", text.lower())
    if not words:
        # Every text needs a direction; texts with no words share one.
        yield "w:", word
    for token in words:
        yield f"w:{token}", word
        padded = f" {token} "
        for start in range(len(padded) - 2):
            yield f"c:{padded[start : start + 3]}", trigram


def _unit_rows(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: Vectors = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit


class MiniLMEmbedder(Embedder):
    """Embed with all-MiniLM-L6-v2 on onnxruntime, quantized to int8.

    The model file is built once from the packaged weights into the model
    cache (``$UNDERSTUDY_HOME/models``, or ``UNDERSTUDY_MODEL_CACHE``) and
    loaded from there; nothing is downloaded.
    """

    name = "minilm-int8"
    variant: ClassVar[Variant] = "int8"
    # Texts per onnxruntime call. The int8 graph quantizes each activation
    # tensor with one scale, so a text's batch-mates would change its vector;
    # one text per call keeps a vector a function of its text alone (the
    # store caches vectors by text hash). It also pads nothing: it measured
    # under 10% slower at 60 tokens than batches of 4, and faster at 256.
    max_rows: ClassVar[int] = 1
    # Tokens per call when batching: small batches stay in cache and pad little.
    token_budget: ClassVar[int] = 1024

    def __init__(self, cache_dir: Path | None = None, threads: int | None = None) -> None:
        from understudy.brain.onnx_minilm import cached_model, load_tokenizer

        self.model_path = cached_model(cache_dir or model_cache_dir(), self.variant)
        self._tokenizer = load_tokenizer()
        self._session = _open_session(self.model_path, threads or _cpu_count())

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Create the embedder with the model cache under the settings' home."""
        return cls(cache_dir=model_cache_dir(settings))

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        """Return one unit vector per text; texts past 256 tokens are cut there."""
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return vectors
        token_ids = [encoding.ids for encoding in self._tokenizer.encode_batch(list(texts))]
        for rows in _length_batches(
            [len(ids) for ids in token_ids], self.token_budget, self.max_rows
        ):
            width = max(len(token_ids[row]) for row in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for line, row in enumerate(rows):
                ids[line, : len(token_ids[row])] = token_ids[row]
                mask[line, : len(token_ids[row])] = 1
            outputs = self._session.run(["embedding"], {"input_ids": ids, "attention_mask": mask})
            vectors[rows] = outputs[0]
        return vectors


class MiniLMFloatEmbedder(MiniLMEmbedder):
    """Embed with all-MiniLM-L6-v2 on onnxruntime in float32: exact, about half as fast."""

    name = "minilm-fp32"
    variant: ClassVar[Variant] = "fp32"
    max_rows: ClassVar[int] = 64


def _length_batches(
    lengths: Sequence[int], token_budget: int, max_rows: int
) -> Iterator[list[int]]:
    """Yield row indices grouped by similar length, each group within the token budget."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    start = 0
    while start < len(order):
        # Sorted ascending, so the group's last row is its longest.
        end = start + 1
        while end < len(order) and end - start < max_rows:
            if lengths[order[end]] * (end - start + 1) > token_budget:
                break
            end += 1
        yield order[start:end]
        start = end


def _cpu_count() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _open_session(path: Path, threads: int) -> Any:
    import onnxruntime as ort  # type: ignore[import-untyped]

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ConfigError(
            f"{path}: cannot load the embedding model ({exc}); delete the file and it "
            "will be rebuilt from the packaged weights"
        ) from None


def model_cache_dir(settings: Settings | None = None) -> Path:
    """Return where built model files live: UNDERSTUDY_MODEL_CACHE, else home/models."""
    override = os.environ.get(MODEL_CACHE_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    return (settings or Settings.load()).home / "models"


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    table = dict(BUILTIN_EMBEDDERS)
    for entry in entry_points(group="understudy.embedders"):
        table[entry.name] = entry.value
    return table


def embedder_names() -> list[str]:
    """Return the values the ``embedding_model`` setting accepts."""
    return sorted(_table())


def embedder_class(name: str) -> type[Embedder]:
    """Return the embedder class registered as ``name``."""
    target = _table().get(name)
    if target is None:
        raise ConfigError(
            f"embedding_model: unknown embedding model {name!r}; choose one of "
            f"{', '.join(embedder_names())} (set UNDERSTUDY_EMBEDDING_MODEL or "
            "embedding_model in config.toml)"
        )
    module_name, _, attribute = target.partition(":")
    loaded = getattr(importlib.import_module(module_name), attribute)
    if not (isinstance(loaded, type) and issubclass(loaded, Embedder)):
        raise ConfigError(f"embedding_model: {target!r} is not an Embedder subclass")
    return loaded


def get_embedder(settings: Settings | None = None) -> Embedder:
    """Return the embedder the ``embedding_model`` setting names."""
    settings = settings or Settings.load()
    return embedder_class(settings.text("embedding_model")).from_settings(settings)


def embed_query(embedder: Embedder, text: str) -> Vectors:
    """Return the unit vector of one query text."""
    vector: Vectors = embedder.embed_batch([text])[0]
    return vector


def embed_pending(
    store: Store,
    embedder: Embedder,
    progress: Callable[[int], None] | None = None,
    batch: int = 256,
) -> int:
    """Embed every chunk text with no vector for ``embedder`` yet; return how many texts.

    Each batch is committed before the next starts, so the job can be killed
    at any point and picks up where it stopped. Chunks with identical text
    share one vector, so each distinct text is embedded once. ``progress``
    is called with the number of texts each batch embedded.
    """
    done = 0
    previous: set[str] = set()
    while True:
        missing = store.chunks_missing_embeddings(embedder.name, limit=batch)
        if not missing:
            return done
        digests = [digest for digest, _ in missing]
        if previous.intersection(digests):
            raise StoreError(
                f"{store.location}: vectors for model {embedder.name!r} were written but "
                "are still missing; check that the store is writable"
            )
        vectors = _checked(
            embedder, embedder.embed_batch([text for _, text in missing]), len(missing)
        )
        store.put_embeddings(embedder.name, list(zip(digests, vectors, strict=True)))
        previous = set(digests)
        done += len(missing)
        if progress is not None:
            progress(len(missing))


def _checked(embedder: Embedder, vectors: Vectors, count: int) -> Vectors:
    if vectors.shape != (count, embedder.dim):
        raise ConfigError(
            f"embedding_model: embedder {embedder.name!r} returned an array of shape "
            f"{vectors.shape} for {count} texts; it must return ({count}, {embedder.dim})"
        )
    checked: Vectors = np.asarray(vectors, dtype=np.float32)
    return checked
