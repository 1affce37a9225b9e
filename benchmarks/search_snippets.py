"""Compare keyword and hybrid search with snippets in the ranked query and fetched after it.

SQLite computes every selected column of every FTS5 match before it sorts, so a
``snippet()`` in the ranked query runs once per match; the search now asks for
snippets of the results it shows only (``Store.text_snippets``). This times both
ways on a store kept by ``benchmarks/search.py --keep``, alternating in one run,
checks they give the same results and snippets, and adds the figures to
benchmarks/results/search.json under ``snippets_for_shown_results_only``::

    python benchmarks/search.py --sizes 1000000 --backends sqlite --keep
    python benchmarks/search_snippets.py [--work /tmp/understudy-bench-search] [--size 1000000]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import search as bench

MODES = ("keyword", "hybrid")


def main() -> None:
    """Time both ways, print them and add them to the results."""
    from understudy.brain.search import Searcher, query_terms

    options, (store, embedder, queries, asker) = bench.kept_from_arguments(__doc__)
    after = Searcher(store, embedder)
    before = Searcher(store, embedder)

    def with_snippets(principal: Any, query: str, limit: int, where: Any = None) -> Any:
        terms = " ".join(query_terms(query))
        return store.search_text(principal, terms, limit, where, snippets=True)

    before.keyword = with_snippets  # type: ignore[method-assign]
    ways = {"before": (lambda: None, before.search), "after": (lambda: None, after.search)}
    latency = bench.alternate(ways, asker, queries, MODES, options.runs)
    checked = queries[:50]
    shown = [(before.search(asker[n], q), after.search(asker[n], q)) for n, q in enumerate(checked)]
    figures: dict[str, Any] = {
        "command": "python benchmarks/search_snippets.py",
        "backend": "sqlite",
        "chunks": options.size,
        "latency_ms": latency,
        "queries_checked": len(checked),
        "queries_with_different_results": sum(
            [r.item.id for r in old] != [r.item.id for r in new] for old, new in shown
        ),
        "queries_with_different_snippets": sum(
            [r.snippet for r in old] != [r.snippet for r in new] for old, new in shown
        ),
        "postgres": "unchanged: its planner computes ts_headline after the sort and limit",
    }
    store.close()
    print(
        f"{figures['queries_with_different_results']} of {len(checked)} queries gave other "
        f"results, {figures['queries_with_different_snippets']} other snippets"
    )
    bench.record("snippets_for_shown_results_only", figures)


if __name__ == "__main__":
    main()
