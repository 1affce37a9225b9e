"""Persistence: one ``Store`` interface over SQLite (embedded) and PostgreSQL (server)."""

from understudy.store.base import SearchHit, Store
from understudy.store.items import ChunkDraft, ItemFilter, ItemHead, PutResult, text_hash
from understudy.store.open import open_store
from understudy.store.sources import SourceError

__all__ = [
    "ChunkDraft",
    "ItemFilter",
    "ItemHead",
    "PutResult",
    "SearchHit",
    "SourceError",
    "Store",
    "open_store",
    "text_hash",
]
