"""The brain: chunks, search, answers and who knows what, within permissions."""

from understudy.brain.chunking import chunk_item
from understudy.brain.embeddings import embed_pending, embed_query, get_embedder
from understudy.brain.indexing import chunk_pending

__all__ = ["chunk_item", "chunk_pending", "embed_pending", "embed_query", "get_embedder"]
