"""Ingest all of ../shared/data/enron into SQLite and PostgreSQL (no embeddings).

Each run happens in a fresh subprocess with a fresh store, so its peak memory
(ru_maxrss) is its own. Prints a table and writes
benchmarks/results/ingest_enron.json with medians over the runs and, per
person, the unique messages, sent messages, folders and the reply and file
decisions found.

    python benchmarks/ingest_enron.py [--runs 3] [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENRON = ROOT.parent / "shared" / "data" / "enron" / "maildir"
RESULTS = ROOT / "benchmarks" / "results" / "ingest_enron.json"
ADMIN_URL = os.environ.get(
    "UNDERSTUDY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def one_run(backend: str) -> dict[str, object]:
    """Ingest every mailbox once into a fresh store; return timings and counts."""
    from understudy.records import Principal
    from understudy.sources.maildir import infer_owner_email
    from understudy.sources.pipeline import add_source, sync
    from understudy.store import ItemFilter
    from understudy.store.postgres import PostgresStore
    from understudy.store.sqlite import SQLiteStore

    home = Path(tempfile.mkdtemp(prefix="enron-"))
    database = None
    if backend == "sqlite":
        store = SQLiteStore.open(home / "understudy.db")
    else:
        import psycopg

        database = f"bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
        store = PostgresStore.open(ADMIN_URL.rsplit("/", 1)[0] + f"/{database}")
    people = sorted(p for p in ENRON.iterdir() if p.is_dir())
    files = sum(1 for p in people for f in p.rglob("*") if f.is_file())
    per_person: dict[str, dict[str, object]] = {}
    sources = {}
    started = time.perf_counter()
    for person in people:
        owner = infer_owner_email(person)
        sources[person.name] = add_source(store, "maildir", str(person), owner=owner)
        report = sync(store, sources[person.name])
        per_person[person.name] = {"owner": owner, "seen": report.seen, "problems": report.problems}
    seconds = time.perf_counter() - started
    unique = 0
    for person in people:
        source = sources[person.name]
        items = store.list_items(Principal.maintenance(), ItemFilter(source_id=source.id))
        owner_id = source.owner
        counts = store.count_decisions(owner_id)
        folders = {f for i in items for f in i.metadata.get("folders", [])}
        sent = sum(1 for i in items if i.metadata.get("sent"))
        unique += len(items)
        per_person[person.name].update(
            unique=len(items),
            sent=sent,
            folders=len(folders),
            reply=counts.get("reply", 0),
            file=counts.get("file", 0),
        )
    store.close()
    if database:
        import psycopg

        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
    return {
        "backend": backend,
        "seconds": seconds,
        "files": files,
        "unique_messages": unique,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "per_person": per_person,
    }


def main() -> None:
    """Run the benchmark in subprocesses and write the results."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(args.one)))
        return
    if not ENRON.is_dir():
        sys.exit(f"skipped: {ENRON} is missing (it lives beside the project)")
    results: dict[str, object] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "runs": args.runs,
    }
    for backend in args.backends.split(","):
        runs = []
        for n in range(args.runs):
            out = subprocess.run(
                [sys.executable, __file__, "--one", backend],
                capture_output=True,
                text=True,
                check=True,
            )
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"{backend} run {n + 1}: {runs[-1]['seconds']:.2f}s", file=sys.stderr)
        seconds = statistics.median(r["seconds"] for r in runs)
        first = runs[0]
        results[backend] = {
            "median_seconds": round(seconds, 3),
            "files": first["files"],
            "unique_messages": first["unique_messages"],
            "files_per_second": round(first["files"] / seconds, 1),
            "unique_messages_per_second": round(first["unique_messages"] / seconds, 1),
            "median_peak_rss_mb": round(statistics.median(r["peak_rss_mb"] for r in runs), 1),
            "all_seconds": [round(r["seconds"], 3) for r in runs],
            "per_person": first["per_person"],
        }
        print(
            f"{backend:9} {results[backend]['files_per_second']:>8} files/s "
            f"{results[backend]['unique_messages_per_second']:>8} unique/s "
            f"peak {results[backend]['median_peak_rss_mb']} MB"
        )
    first_backend = args.backends.split(",")[0]
    print(f"\n{'person':12} {'unique':>7} {'sent':>5} {'folders':>7} {'reply':>5} {'file':>5}")
    for person, row in results[first_backend]["per_person"].items():  # type: ignore[index]
        print(
            f"{person:12} {row['unique']:>7} {row['sent']:>5} {row['folders']:>7} "
            f"{row['reply']:>5} {row['file']:>5}"
        )
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
