"""Compare reads with the permission filter computed per query and resolved once per request.

Every read restricts rows to the reader sets its principal may read. Before,
each query computed those sets again in its own SQL (about 15 times per ask);
now an ask, a search or a brief resolves them once (``Store.reading_as``) and
each query takes the list as one parameter. On SQLite the keyword MATCH also
stops requiring a reader token when a person's tokens cover much of the index
(``READER_MATCH_SHARE``). This times both ways in one process, alternating,
and checks that they return the same answers:

- ``demo``: an understudy answering colleagues on the demo company, in
  process (no HTTP), as ``benchmarks/relay.py`` asks;
- ``search``: ``Searcher.search`` on a store kept by
  ``benchmarks/search.py --keep`` (keyword and hybrid, 1M chunks).

Figures go to benchmarks/results/reader_scope.json::

    python benchmarks/reader_scope.py --demo [--search-work DIR --backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import search as bench

import relay

RESULTS = Path(__file__).resolve().parent / "results" / "reader_scope.json"


@contextlib.contextmanager
def per_query() -> Iterator[None]:
    """Read the way it was before: no request-wide resolution, reader tokens always."""
    from understudy.store import permissions, sqlite

    @contextlib.contextmanager
    def unresolved(self: Any, principal: Any) -> Iterator[None]:
        yield None

    saved = permissions.ScopedReads.reading_as, sqlite.READER_MATCH_SHARE
    permissions.ScopedReads.reading_as = unresolved  # type: ignore[assignment,method-assign]
    sqlite.READER_MATCH_SHARE = math.inf
    try:
        yield
    finally:
        permissions.ScopedReads.reading_as, sqlite.READER_MATCH_SHARE = saved  # type: ignore[method-assign]


def alternate(work: Callable[[], list[float]], runs: int) -> dict[str, Any]:
    """Run ``work`` ``runs`` times each way, alternating; return p50/p95 ms per way."""
    taken: dict[str, list[list[float]]] = {"per_query": [], "once_per_request": []}
    for run in range(runs):
        order = (
            ("per_query", "once_per_request") if run % 2 == 0 else ("once_per_request", "per_query")
        )
        for way in order:
            with per_query() if way == "per_query" else contextlib.nullcontext():
                taken[way].append(sorted(work()))
    figures: dict[str, Any] = {}
    for way, passes in taken.items():
        p50 = [1000 * statistics.median(p) for p in passes]
        p95 = [1000 * p[int(0.95 * len(p))] for p in passes]
        figures[way] = {
            "p50": round(statistics.median(p50), 2),
            "p95": round(statistics.median(p95), 2),
            "runs": [[round(a, 2), round(b, 2)] for a, b in zip(p50, p95, strict=True)],
        }
    figures["ratio_p50"] = round(
        figures["once_per_request"]["p50"] / figures["per_query"]["p50"], 3
    )
    figures["ratio_p95"] = round(
        figures["once_per_request"]["p95"] / figures["per_query"]["p95"], 3
    )
    return figures


def demo(asks: int, runs: int) -> dict[str, Any]:
    """Time an understudy's asks on the demo company both ways."""
    from understudy.agent.tokens import Caller
    from understudy.relay import Deployment
    from understudy.relay.operations import answer_as

    with tempfile.TemporaryDirectory(prefix="understudy-scope-") as folder:
        home = Path(folder)
        relay.build_demo(home)
        deployment = Deployment(relay.settings_for(home))
        people = sorted(relay.people_and_tokens(home))
        pairs = relay.pairs(people, asks, 0)
        questions = relay.DEMO_QUESTIONS

        def ask(n: int, asker: str, owner: str) -> Any:
            return answer_as(deployment, Caller(asker), owner, questions[n % len(questions)], "b")

        def work() -> list[float]:
            seconds = []
            for n, (asker, owner) in enumerate(pairs):
                clock = time.perf_counter()
                ask(n, asker, owner)
                seconds.append(time.perf_counter() - clock)
            return seconds

        work()  # warm up: the vector index, the ranker, caches
        figures = alternate(work, runs)
        with per_query():
            before = [ask(n, a, o) for n, (a, o) in enumerate(pairs[:40])]
        after = [ask(n, a, o) for n, (a, o) in enumerate(pairs[:40])]
        figures["asks_checked"] = len(before)
        figures["asks_with_different_answers"] = sum(
            _comparable(b) != _comparable(a) for b, a in zip(before, after, strict=True)
        )
        figures["organization"] = f"demo ({relay.count_items(home)} items)"
        deployment.close()
    return figures


def _comparable(answer: dict[str, Any]) -> str:
    """Return an answer as text, without the ids of the questions it queued (new each time)."""
    actions = [{k: v for k, v in a.items() if k != "id"} for a in answer.get("actions", [])]
    return json.dumps({**answer, "actions": actions}, sort_keys=True, default=str)


def search(work_dir: Path, backend: str, size: int, runs: int) -> dict[str, Any]:
    """Time keyword and hybrid search both ways on a kept benchmark store."""
    from understudy.brain.search import Searcher
    from understudy.records import Principal

    plan = json.loads((work_dir / f"plan-{size}.json").read_text())
    server = None
    if backend == "sqlite":
        location = str(work_dir / f"sqlite-{size}" / "understudy.db")
    else:
        server = bench.start_postgres(work_dir / "pgdata")
        location = server.get_uri().replace("/postgres?", f"/bench_{size}?")
    store = bench.open_store(backend, location)
    searcher = Searcher(store, bench.BagEmbedder(bench.Vocabulary.make()))
    queries, people = plan["queries"], plan["people"]
    asker = [Principal.person(f"p{people[n % len(people)]:03d}") for n in range(len(queries))]
    figures: dict[str, Any] = {"backend": backend, "chunks": size}
    for mode in ("keyword", "hybrid"):
        for n in range(min(30, len(queries))):  # warm up
            searcher.search(asker[n], queries[n], mode=mode)

        def work(mode: str = mode) -> list[float]:
            return [
                bench._timed(searcher.search, asker[n], q, limit=10, mode=mode)
                for n, q in enumerate(queries)
            ]

        figures[mode] = alternate(work, runs)
        checked = queries[:50]
        with per_query():
            before = [searcher.search(asker[n], q, mode=mode) for n, q in enumerate(checked)]
        after = [searcher.search(asker[n], q, mode=mode) for n, q in enumerate(checked)]
        figures[mode]["queries_with_different_results"] = sum(
            [r.item.id for r in b] != [r.item.id for r in a]
            for b, a in zip(before, after, strict=True)
        )
    store.close()
    if server is not None:
        from pgserver._commands import pg_ctl

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
    return figures


def main() -> None:
    """Measure, print and write the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", action="store_true", help="time asks on the demo company")
    parser.add_argument("--asks", type=int, default=200, help="asks per pass on the demo")
    parser.add_argument("--search-work", type=Path, help="folder of benchmarks/search.py --keep")
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=6, help="passes each way, alternating")
    options = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results["command"] = "python benchmarks/reader_scope.py " + " ".join(sys.argv[1:])
    results["machine"] = relay.machine()
    if options.demo:
        results["demo_ask_in_process"] = figures = demo(options.asks, options.runs)
        print(
            f"demo ask    per query p50 {figures['per_query']['p50']:.1f} "
            f"p95 {figures['per_query']['p95']:.1f} ms | once per request "
            f"p50 {figures['once_per_request']['p50']:.1f} p95 "
            f"{figures['once_per_request']['p95']:.1f} ms | ratio p50 {figures['ratio_p50']} "
            f"| {figures['asks_with_different_answers']}/{figures['asks_checked']} answers differ"
        )
    if options.search_work is not None:
        for backend in options.backends.split(","):
            found = search(options.search_work, backend, options.size, options.runs)
            results[f"search_{backend}_{options.size}"] = found
            for mode in ("keyword", "hybrid"):
                f = found[mode]
                print(
                    f"{backend} {mode:<8} per query p50 {f['per_query']['p50']:.1f} "
                    f"p95 {f['per_query']['p95']:.1f} ms | once per request "
                    f"p50 {f['once_per_request']['p50']:.1f} p95 "
                    f"{f['once_per_request']['p95']:.1f} ms | "
                    f"{f['queries_with_different_results']} of 50 differ"
                )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
