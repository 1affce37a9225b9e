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

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import search as bench

MODES = ("keyword", "hybrid")


def timings(searcher: Any, asker: list[Any], queries: list[str], mode: str) -> tuple[float, float]:
    """Return p50 and p95 (ms) of one pass over the queries."""
    seconds = sorted(
        bench._timed(searcher.search, asker[n], q, limit=10, mode=mode)
        for n, q in enumerate(queries)
    )
    return 1000 * statistics.median(seconds), 1000 * seconds[int(0.95 * len(seconds))]


def main() -> None:
    """Time both ways, print them and add them to the results."""
    from understudy.brain.search import Searcher, query_terms
    from understudy.records import Principal

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/understudy-bench-search")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    work = Path(options.work)
    plan = json.loads((work / f"plan-{options.size}.json").read_text())
    store = bench.open_store("sqlite", str(work / f"sqlite-{options.size}" / "understudy.db"))
    embedder = bench.BagEmbedder(bench.Vocabulary.make())
    after = Searcher(store, embedder)
    before = Searcher(store, embedder)

    def with_snippets(principal: Any, query: str, limit: int, where: Any = None) -> Any:
        terms = " ".join(query_terms(query))
        return store.search_text(principal, terms, limit, where, snippets=True)

    before.keyword = with_snippets  # type: ignore[method-assign]
    queries, people = plan["queries"], plan["people"]
    asker = [Principal.person(f"p{people[n % len(people)]:03d}") for n in range(len(queries))]
    for n in range(min(30, len(queries))):  # warm up: the vector index, caches
        for mode in MODES:
            before.search(asker[n], queries[n], mode=mode)
            after.search(asker[n], queries[n], mode=mode)
    runs: dict[str, list[tuple[float, float]]] = {}
    for _ in range(options.runs):
        for name, searcher in (("before", before), ("after", after)):
            for mode in MODES:
                runs.setdefault(f"{name} {mode}", []).append(
                    timings(searcher, asker, queries, mode)
                )
    checked = queries[:50]
    shown = [(before.search(asker[n], q), after.search(asker[n], q)) for n, q in enumerate(checked)]
    figures: dict[str, Any] = {
        "command": "python benchmarks/search_snippets.py",
        "backend": "sqlite",
        "chunks": options.size,
        "latency_ms": {name: bench.median_runs(taken, 1) for name, taken in runs.items()},
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
    for name, figure in figures["latency_ms"].items():
        print(f"{name:<16} p50 {figure['p50']:>6.1f} ms  p95 {figure['p95']:>6.1f} ms")
    print(
        f"{figures['queries_with_different_results']} of {len(checked)} queries gave other "
        f"results, {figures['queries_with_different_snippets']} other snippets"
    )
    results = json.loads(bench.RESULTS.read_text()) if bench.RESULTS.is_file() else {}
    results["snippets_for_shown_results_only"] = figures
    bench.RESULTS.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {bench.RESULTS}")


if __name__ == "__main__":
    main()
