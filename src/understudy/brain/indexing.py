"""Bring the search index up to date with the store: chunk new items."""

from __future__ import annotations

from collections.abc import Callable

from understudy.brain.chunking import chunk_item
from understudy.store import Store

__all__ = ["chunk_pending"]


def chunk_pending(
    store: Store, progress: Callable[[int], None] | None = None, batch: int = 500
) -> int:
    """Chunk every current item that has no chunks yet; return how many items.

    Afterwards the store's keyword statistics are brought up to date.
    """
    done = added = 0
    while True:
        items = store.items_without_chunks(limit=batch)
        if not items:
            store.refresh_text_statistics(added)
            return done
        drafts = [draft for item in items for draft in chunk_item(item)]
        store.put_chunks(drafts)
        added += len(drafts)
        done += len(items)
        if progress is not None:
            progress(len(items))
