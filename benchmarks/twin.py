"""Measure the twin: training time, prediction latency, model size and peak memory.

Run ``python benchmarks/twin.py``. Two mailboxes:

- ``synthetic``: 13 months of one person's mail with clear habits, about 5,500
  received and 1,800 sent messages, written in the Enron layout. The newest
  500 received messages are held back, delivered after training, and are the
  ones predicted: new mail, scored from the history's end state.
- ``enron``: Enron's blair-l (``../shared/data/enron/maildir``), about 3,200
  messages, when it is present. Its newest 500 received messages are
  predicted; they were part of training, so their features are cached.

Each mailbox is ingested in a process of its own (not timed), then measured in
a fresh process, so the peak RSS is that of training and prediction alone.
Training is ``train_twin`` over the organization's reply prior (fitted once
beforehand on the same mailbox, timed apart), the median of 5 runs. Latency is per item
over 500 items: ``predict_item`` (with neighbours and a draft) and the
scoring alone (features, reply, latency and filing models). Prints a table
and writes benchmarks/results/twin.json.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "twin.json"
ENRON = Path(__file__).resolve().parents[2] / "shared" / "data" / "enron" / "maildir"
ENRON_USER = "blair-l"
RUNS = 5
PREDICTIONS = 500
TARGET_TRAIN_S = 10.0
TARGET_P95_MS = 10.0

OWNER = "ann@co.example"
START = datetime(2023, 1, 2, 8, 0, tzinfo=UTC)
TOPICS = (
    "budget",
    "hiring plan",
    "quarterly report",
    "vendor contract",
    "launch date",
    "security review",
    "offsite agenda",
    "pricing",
    "migration",
    "customer escalation",
)
SENTENCES = (
    "Can you take a look before Friday?",
    "The numbers changed again after the review.",
    "Please let me know what you think.",
    "I attached the latest version of the document.",
    "We need a decision by the end of the week.",
    "The customer asked for a call tomorrow morning.",
    "Nothing urgent, just keeping you in the loop.",
    "Legal wants to see the final wording first.",
    "The team agreed to move the deadline by a week.",
    "Could you send me the slides from the meeting?",
)


@dataclass(frozen=True)
class Correspondent:
    """Someone who writes to the person, with the person's habits toward them."""

    address: str
    name: str
    per_day: float
    reply: float
    minutes: tuple[int, int]
    folder: str | None = None
    filed: float = 0.0
    bulk: bool = False


def correspondents() -> list[Correspondent]:
    """Return the people who write to the synthetic person and how she treats each."""
    people = [Correspondent("bo@co.example", "Bo Boss", 1.5, 0.9, (3, 25))]
    people += [
        Correspondent(
            f"peer{n}@co.example",
            f"Peer{n} Smith",
            0.5,
            0.35,
            (30, 300),
            "Projects/Atlas" if n % 2 else "Projects/Borealis",
            0.4,
        )
        for n in range(8)
    ]
    people += [
        Correspondent(f"report{n}@co.example", f"Report{n} Jones", 0.5, 0.5, (20, 240))
        for n in range(4)
    ]
    people += [
        Correspondent(
            f"client{n}@client{n % 5}.example",
            f"Client{n} Brown",
            0.1,
            0.3,
            (600, 2000),
            "Clients",
            0.3,
        )
        for n in range(20)
    ]
    people += [
        Correspondent(f"news@letter{n}.example", f"Letter {n}", 0.6, 0.0, (0, 0), bulk=True)
        for n in range(5)
    ]
    people += [
        Correspondent(
            f"billing@vendor{n}.example", f"Vendor {n}", 0.33, 0.02, (60, 600), "Receipts", 0.95
        )
        for n in range(3)
    ]
    return people


def email(
    sender: str,
    to: Sequence[str],
    subject: str,
    body: str,
    at: datetime,
    message_id: str,
    reply_to: str = "",
) -> bytes:
    """Return the bytes of one message."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = format_datetime(at)
    message["Message-ID"] = message_id
    if reply_to:
        message["In-Reply-To"] = reply_to
    message.set_content(body)
    return bytes(message)


def synthetic_mail(days: int = 400, seed: int = 3) -> list[tuple[datetime, str, bytes, bool]]:
    """Return (time, folder, bytes, received) for ``days`` days of mail, oldest first."""
    rng = random.Random(seed)
    mail: list[tuple[datetime, str, bytes, bool]] = []
    for day in range(days):
        weekday = (START + timedelta(days=day)).weekday() < 5
        for person in correspondents():
            rate = person.per_day * (1.3 if weekday else 0.3)
            for n in range(int(rate) + (rng.random() < rate % 1)):
                at = START + timedelta(days=day, minutes=rng.randint(0, 10 * 60))
                topic = rng.choice(TOPICS)
                subject = f"{topic.title()} {day}-{n}"
                text = " ".join(rng.sample(SENTENCES, 3))
                if person.bulk:
                    text += "\n\nTo unsubscribe, click here."
                message_id = f"<{day}.{n}.{person.address}>"
                folder = person.folder if person.folder and rng.random() < person.filed else "inbox"
                to = [OWNER, "team@co.example"] if person.bulk else [OWNER]
                data = email(f"{person.name} <{person.address}>", to, subject, text, at, message_id)
                mail.append((at, folder, data, True))
                if rng.random() < person.reply:
                    first = person.name.split(" ")[0]
                    said = f"{rng.choice(SENTENCES)} {rng.choice(SENTENCES)}"
                    body = f"Hi {first},\n\n{said}\n\nBest,\nAnn"
                    answered = at + timedelta(minutes=rng.randint(*person.minutes))
                    reply = email(
                        OWNER,
                        [person.address],
                        f"Re: {subject}",
                        body,
                        answered,
                        f"<re.{message_id[1:]}",
                        message_id,
                    )
                    mail.append((answered, "sent", reply, False))
    mail.sort(key=lambda m: m[0])
    return mail


def write_enron_layout(root: Path, mail: Sequence[tuple[datetime, str, bytes, bool]]) -> None:
    """Write messages as ``<folder>/<n>.`` files."""
    counters: dict[str, int] = {}
    for _, folder, data, _ in mail:
        counters[folder] = counters.get(folder, 0) + 1
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / f"{counters[folder]}.").write_bytes(data)


def directory(store: Any) -> None:
    """Put the synthetic person and her colleagues into the directory."""
    from understudy.records import Person

    store.upsert_person(Person(id="ann", name="Ann Lee", emails=(OWNER,), manager="bo"))
    store.upsert_person(Person(id="bo", name="Bo Boss", emails=("bo@co.example",)))
    for n in range(8):
        store.upsert_person(
            Person(
                id=f"peer{n}", name=f"Peer{n} Smith", emails=(f"peer{n}@co.example",), manager="bo"
            )
        )
    for n in range(4):
        store.upsert_person(
            Person(
                id=f"report{n}",
                name=f"Report{n} Jones",
                emails=(f"report{n}@co.example",),
                manager="ann",
            )
        )


def prepare(dataset: str, work: Path) -> dict[str, Any]:
    """Write (synthetic) and ingest a mailbox into ``work``/store.db; not timed."""
    from understudy.sources.maildir import infer_owner_email
    from understudy.sources.pipeline import add_source, sync
    from understudy.store.sqlite import SQLiteStore

    store = SQLiteStore.open(work / "store.db")
    started = time.perf_counter()
    if dataset == "synthetic":
        mail = synthetic_mail()
        received = [m for m in mail if m[3]]
        # Everything from the 500th-newest received message on arrives after training.
        cut = received[-PREDICTIONS][0]
        write_enron_layout(work / "ann", [m for m in mail if m[0] < cut])
        write_enron_layout(work / "later", [m for m in mail if m[0] >= cut])
        directory(store)
        source = add_source(store, "maildir", str(work / "ann"), owner="ann")
        counts = {"received": len(received), "sent": len(mail) - len(received)}
    else:
        path = ENRON / ENRON_USER
        source = add_source(store, "maildir", str(path), owner=infer_owner_email(path))
        counts = {}
    report = sync(store, source)
    store.close()
    return {
        "person": source.owner,
        "messages_seen": report.seen,
        "observed_decisions": report.decisions,
        "ingest_s": round(time.perf_counter() - started, 2),
        **counts,
    }


def deliver_later(store: Any, work: Path) -> list[Any]:
    """Move the held-back messages into the mailbox, sync, and return them as items."""
    from understudy.records import Principal
    from understudy.sources.pipeline import sync
    from understudy.store import ItemFilter

    before = {item.id for item in store.list_items(Principal.maintenance(), ItemFilter())}
    later = work / "later"
    for path in sorted(p for p in later.rglob("*") if p.is_file()):
        target = work / "ann" / path.parent.relative_to(later)
        target.mkdir(parents=True, exist_ok=True)
        path.rename(target / f"later-{path.name}")
    sync(store, store.list_sources()[0])
    items = store.list_items(
        Principal.maintenance(), ItemFilter(kinds=("email",)), newest_first=False
    )
    return [i for i in items if i.id not in before and not i.metadata.get("sent")]


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    """Return p50 and p95 in milliseconds."""
    ordered = sorted(seconds)
    return {
        "p50_ms": round(1000 * statistics.median(ordered), 2),
        "p95_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
        "items": len(ordered),
    }


def timed(function: Callable[[Any], Any], items: Sequence[Any]) -> list[float]:
    """Return the time of ``function`` on each item."""
    seconds = []
    for item in items:
        start = time.perf_counter()
        function(item)
        seconds.append(time.perf_counter() - start)
    return seconds


def score_only(twin: Any) -> Callable[[Any], Any]:
    """Return a function that scores an item without neighbours, explanation or draft."""
    import numpy as np

    from understudy.twin.mailbox import message_from_item

    def score(item: Any) -> tuple[float, str | None, float, str]:
        message = message_from_item(item, twin.addresses)
        features = twin.known.get(item.id or -1) or twin.history.features(message)
        x = np.asarray([features], dtype=float)
        folders, confidence = twin.filing.predict([message])
        return (
            float(twin.reply.predict(x)[0]),
            folders[0],
            float(confidence[0]),
            twin.latency.predict(x)[0],
        )

    return score


def measure(dataset: str, work: Path, person: str) -> dict[str, Any]:
    """Time training and prediction on an ingested mailbox, in this fresh process."""
    from understudy.records import Principal
    from understudy.store import ItemFilter
    from understudy.store.sqlite import SQLiteStore
    from understudy.twin.model import load_twin, save_twin, train_twin
    from understudy.twin.predict import predict_item
    from understudy.twin.training import train_prior

    store = SQLiteStore.open(work / "store.db")
    # The organization's prior, as train_people fits it (here on this one mailbox).
    start = time.perf_counter()
    prior = train_prior(store, [person])
    prior_s = time.perf_counter() - start
    runs = []
    for _ in range(RUNS):
        start = time.perf_counter()
        twin = train_twin(store, person, prior=prior)
        runs.append(time.perf_counter() - start)
    size = len(pickle.dumps(twin))
    save_twin(store, twin)
    if dataset == "synthetic":
        items = deliver_later(store, work)
    else:
        items = [
            item
            for item in store.list_items(
                Principal.person(person), ItemFilter(kinds=("email",)), newest_first=False
            )
            if item.id in twin.known
        ][-PREDICTIONS:]
    # Two loads: predicting on new mail moves the loaded history forward in time.
    scoring = timed(score_only(load_twin(store, person)), items)
    loaded = load_twin(store, person)
    full = timed(lambda item: predict_item(store, loaded, item), items)
    store.close()
    return {
        "received_trained_on": len(twin.known),
        "train_median_s": round(statistics.median(runs), 3),
        "train_runs_s": [round(r, 3) for r in runs],
        "prior_train_s": round(prior_s, 3),
        "predict_item": percentiles(full),
        "scoring_only": percentiles(scoring),
        "model_bytes": size,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "thresholds": twin.thresholds,
    }


def worker(args: argparse.Namespace) -> None:
    """Run one phase of one dataset and print its JSON."""
    work = Path(args.work)
    if args.phase == "prepare":
        result = prepare(args.worker, work)
    else:
        result = measure(args.worker, work, args.person)
    print(json.dumps(result))


def phase(dataset: str, name: str, work: Path, person: str = "") -> dict[str, Any]:
    """Run a phase in a fresh Python process; return what it printed."""
    command = [sys.executable, __file__, "--worker", dataset, "--phase", name, "--work", str(work)]
    if person:
        command += ["--person", person]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{dataset} {name} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def machine() -> dict[str, Any]:
    """Return what the figures were measured on."""
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "cpu_model": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {name: metadata.version(name) for name in ("numpy", "scipy", "scikit-learn")},
    }


COLUMNS = (
    ("dataset", 10),
    ("received", 9),
    ("train s", 8),
    ("predict p50/p95 ms", 19),
    ("score p50/p95 ms", 17),
    ("model MB", 9),
    ("RSS MB", 7),
)


def table(results: dict[str, Any]) -> None:
    """Print the figures."""
    print(
        " ".join(
            f"{name:<{width}}" if n == 0 else f"{name:>{width}}"
            for n, (name, width) in enumerate(COLUMNS)
        )
    )
    for dataset, r in results.items():
        full, score = r["predict_item"], r["scoring_only"]
        cells = (
            dataset,
            r["received_trained_on"],
            f"{r['train_median_s']:.2f}",
            f"{full['p50_ms']:.1f}/{full['p95_ms']:.1f}",
            f"{score['p50_ms']:.2f}/{score['p95_ms']:.2f}",
            f"{r['model_bytes'] / 2**20:.1f}",
            f"{r['peak_rss_mb']:.0f}",
        )
        print(
            " ".join(
                f"{cell:<{width}}" if n == 0 else f"{cell:>{width}}"
                for n, (cell, (_, width)) in enumerate(zip(cells, COLUMNS, strict=True))
            )
        )
    print(f"targets: training <= {TARGET_TRAIN_S:.0f} s on 2 cores; p95 <= {TARGET_P95_MS:.0f} ms")


def main() -> None:
    """Measure every dataset present; print a table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=("synthetic", "enron"), help=argparse.SUPPRESS)
    parser.add_argument("--phase", choices=("prepare", "measure"), help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--person", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    datasets = ["synthetic"] + (["enron"] if (ENRON / ENRON_USER).is_dir() else [])
    results: dict[str, Any] = {}
    for dataset in datasets:
        with tempfile.TemporaryDirectory(prefix=f"twin-bench-{dataset}-") as scratch:
            prepared = phase(dataset, "prepare", Path(scratch))
            measured = phase(dataset, "measure", Path(scratch), prepared["person"])
            results[dataset] = {**prepared, **measured}
    table(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "machine": machine(),
        "runs": RUNS,
        "predictions": PREDICTIONS,
        "targets": {"train_s": TARGET_TRAIN_S, "p95_ms": TARGET_P95_MS},
        **results,
    }
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
