"""Compare hybrid search with its vector half on a thread beside the keyword half, and without.

On a large in-process index, hybrid search embeds the query and searches the
HNSW index on a thread while the keyword half runs on the store's connection
(``Store.vector_search_job``; SQLite lets go of the interpreter while it
steps). This times both ways on a store kept by ``benchmarks/search.py
--keep``, alternating in one run, checks they give the same results, and adds
the figures to benchmarks/results/search.json under ``hybrid_halves_on_threads``::

    python benchmarks/search.py --sizes 1000000 --backends sqlite --keep --work DIR
    python benchmarks/search_threads.py --work DIR [--size 1000000] [--runs 3]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import search as bench


def main() -> None:
    """Time both ways, print them and add them to the results."""
    import understudy.store.base as store_base
    from understudy.brain.search import Searcher

    options, (store, embedder, queries, asker) = bench.kept_from_arguments(__doc__)
    searcher = Searcher(store, embedder)
    threshold = store_base.THREADED_SEARCH_ABOVE

    def one_after_the_other() -> None:
        store_base.THREADED_SEARCH_ABOVE = 10**12

    def on_threads() -> None:
        store_base.THREADED_SEARCH_ABOVE = threshold

    ways = {
        "one after the other": (one_after_the_other, searcher.search),
        "on threads": (on_threads, searcher.search),
    }
    latency = bench.alternate(ways, asker, queries, ("hybrid",), options.runs)
    checked = queries[:50]
    one_after_the_other()
    alone = [[r.item.id for r in searcher.search(asker[n], q)] for n, q in enumerate(checked)]
    on_threads()
    threaded = [[r.item.id for r in searcher.search(asker[n], q)] for n, q in enumerate(checked)]
    figures: dict[str, Any] = {
        "command": "python benchmarks/search_threads.py",
        "backend": "sqlite",
        "chunks": options.size,
        "embedder": "the benchmark's bag-of-words embedder (numpy, holds the interpreter)",
        "latency_ms": latency,
        "queries_checked": len(checked),
        "queries_with_different_results": sum(a != b for a, b in zip(alone, threaded, strict=True)),
        "machine": bench.machine(),
    }
    store.close()
    different = figures["queries_with_different_results"]
    print(f"{different} of {len(checked)} queries gave other results")
    bench.record("hybrid_halves_on_threads", figures)


if __name__ == "__main__":
    main()
