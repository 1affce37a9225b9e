"""How many requests should one server process work on at once?

A server process lends each request a store connection from a pool; the
pool's size is how many requests run at once, each on its own thread. On
SQLite without a language model a request only computes, and Python computes
on one thread at a time. This asks the demo company's understudies the relay
benchmark's questions, in process, for each pool size and number of threads,
and reports the CPU time and the wall time per ask (lower is better for
both; CPU time is what the other requests and the other worker wait for).

Figures go to benchmarks/results/connections.json::

    python benchmarks/connections.py [--asks 300] [--runs 3]
    python benchmarks/connections.py --reader-match   # keyword MATCH with reader tokens or not
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import relay

RESULTS = Path(__file__).resolve().parent / "results" / "connections.json"
POOLS = (1, 2, 4)
THREADS = (1, 2, 4, 8)


def measure(asks: int, runs: int) -> dict[str, Any]:
    """Build the demo company and time asks for every pool size and thread count."""
    from understudy.agent.tokens import Caller
    from understudy.relay import Deployment
    from understudy.relay.deployment import connections_for
    from understudy.relay.operations import answer_as

    with tempfile.TemporaryDirectory(prefix="understudy-connections-") as folder:
        home = Path(folder)
        relay.build_demo(home)
        settings = relay.settings_for(home)
        people = sorted(relay.people_and_tokens(home))
        pairs = relay.pairs(people, asks, 0)
        questions = relay.DEMO_QUESTIONS
        taken: dict[str, dict[str, list[float]]] = {}
        for _ in range(runs):  # every setting once per run, so drift spreads evenly
            for pool in POOLS:
                deployment = Deployment(settings, pool_size=pool)

                def ask(n: int, deployment: Any = deployment) -> None:
                    asker, owner = pairs[n]
                    question = questions[n % len(questions)]
                    answer_as(deployment, Caller(asker), owner, question, "b")

                for threads in THREADS:
                    with ThreadPoolExecutor(threads) as workers:
                        list(workers.map(ask, range(min(40, asks))))  # warm up
                        cpu, wall = time.process_time(), time.perf_counter()
                        list(workers.map(ask, range(asks)))
                        cpu = 1000 * (time.process_time() - cpu) / asks
                        wall = 1000 * (time.perf_counter() - wall) / asks
                    figures = taken.setdefault(f"pool {pool}, threads {threads}", {})
                    figures.setdefault("cpu_ms_per_ask", []).append(cpu)
                    figures.setdefault("wall_ms_per_ask", []).append(wall)
                deployment.close()
        chosen = connections_for(settings, model=None)
    return {
        "organization": "demo",
        "asks_per_setting": asks,
        "runs": runs,
        "default_pool_size": chosen,
        "settings": {
            name: {
                **{key: round(statistics.median(values), 2) for key, values in figures.items()},
                "runs": {key: [round(v, 2) for v in values] for key, values in figures.items()},
            }
            for name, figures in taken.items()
        },
    }


def reader_match(asks: int, runs: int) -> dict[str, Any]:
    """On the demo company, one connection: an ask's CPU with the reader tokens in the
    keyword MATCH (as in a store above ``READER_MATCH_ABOVE`` chunks) and without."""
    import understudy.store.sqlite as sqlite
    from understudy.agent.tokens import Caller
    from understudy.relay import Deployment
    from understudy.relay.operations import answer_as

    ways = {"with reader tokens": -1, "without (the default here)": sqlite.READER_MATCH_ABOVE}
    with tempfile.TemporaryDirectory(prefix="understudy-reader-match-") as folder:
        home = Path(folder)
        relay.build_demo(home)
        people = sorted(relay.people_and_tokens(home))
        pairs = relay.pairs(people, asks, 0)
        questions = relay.DEMO_QUESTIONS
        deployment = Deployment(relay.settings_for(home), pool_size=1)

        def ask_all() -> tuple[float, list[str]]:
            cpu, texts = time.process_time(), []
            for n, (asker, owner) in enumerate(pairs):
                answer = answer_as(deployment, Caller(asker), owner, questions[n % 5], "b")
                texts.append(str(answer["text"]))
            return 1000 * (time.process_time() - cpu) / asks, texts

        taken: dict[str, list[float]] = {name: [] for name in ways}
        answers: dict[str, list[str]] = {}
        for run in range(runs + 1):  # the first round warms up
            for name, above in ways.items():
                sqlite.READER_MATCH_ABOVE = above
                cpu, answers[name] = ask_all()
                if run:
                    taken[name].append(cpu)
        deployment.close()
    first, second = answers.values()
    return {
        "what": "CPU ms per ask on the demo company (7,800 chunks), one connection, rounds "
        "alternating; reader tokens in the FTS5 MATCH or each match checked by the WHERE",
        "asks": asks,
        "cpu_ms_per_ask": {name: round(statistics.median(v), 2) for name, v in taken.items()},
        "runs": {name: [round(x, 2) for x in v] for name, v in taken.items()},
        "answers_differing": sum(a != b for a, b in zip(first, second, strict=True)),
    }


def main() -> None:
    """Measure, print a table and write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asks", type=int, default=300, help="asks per setting and run")
    parser.add_argument("--runs", type=int, default=3, help="runs; figures are medians")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--reader-match",
        action="store_true",
        help="only compare keyword search with and without reader tokens in the MATCH",
    )
    options = parser.parse_args()
    if options.reader_match:
        kept = json.loads(options.output.read_text()) if options.output.is_file() else {}
        kept["reader_match"] = {"machine": relay.machine(), **reader_match(200, options.runs)}
        print(json.dumps(kept["reader_match"]["cpu_ms_per_ask"]))
        options.output.write_text(json.dumps(kept, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {options.output}")
        return
    results = {"machine": relay.machine(), **measure(options.asks, options.runs)}
    print(f"{'setting':24} {'CPU ms/ask':>11} {'wall ms/ask':>12}")
    for name, figures in results["settings"].items():
        print(f"{name:24} {figures['cpu_ms_per_ask']:11.1f} {figures['wall_ms_per_ask']:12.1f}")
    print(f"default pool size on SQLite without a model: {results['default_pool_size']}")
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {options.output}")


if __name__ == "__main__":
    main()
