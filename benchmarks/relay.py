"""Measure A2A between understudies on loopback: ask round trips under load, and org fan-out.

Run ``python benchmarks/relay.py``. For each organization it builds a fresh
home, starts ``understudy serve --workers N`` (uvicorn, N stateless
processes) on a free loopback port, and times with the official a2a-sdk
client, with no language model:

* the A2A ask round trip (SendMessage to a colleague's understudy, answered
  and cited), first one caller at a time, then C concurrent callers, each
  with its own token and HTTP connection: back to back, and pausing between
  asks as people do (mean ``THINK`` seconds); each also with a plain JSON-RPC
  client (httpx) that costs the shared cores a third of the SDK client's CPU.
  The callers are spread over ``--client-processes`` processes (default 2),
  one asyncio loop each: fifty callers on other machines do not wait on one
  loop, and one loop added its own queue to the demo's tail (think-time p95
  with the SDK client 340 and 344 ms with one process, 247 and 217 ms with
  two, in two alternating runs);
* the understudy's own work for the same questions in process (no HTTP), so
  the relay's share of a round trip shows;
* ``ask_organization`` fanned out over A2A (``A2ARelay``) to 10 understudies.

Organizations: ``small`` (generated here: 20 people, about 500 items) and
``demo`` (``understudy demo``: 20 people, about 7,000 items). Prints a table
and writes benchmarks/results/relay.json with the machine it ran on.

    python benchmarks/relay.py [--orgs small,demo] [--workers 2] [--callers 50]
                               [--client-processes 2]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import multiprocessing
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import httpx

# As `understudy serve` does for the server: with no OpenTelemetry SDK installed, the
# a2a-sdk client's spans go nowhere, so they are off unless the environment says otherwise.
os.environ.setdefault("OTEL_INSTRUMENTATION_A2A_SDK_ENABLED", "false")

RESULTS = Path(__file__).resolve().parent / "results" / "relay.json"
THINK = 0.5
QUEUED = "TASK_STATE_INPUT_REQUIRED"
ROUNDS = 3
GROUPS = ("engineering", "sales", "finance", "hr")
PROJECTS = {"orion": "engineering", "vega": "sales"}
FIRST = "Ada Ben Cleo Dev Eli Fay Gus Hana Ivo Jun Kai Lea Max Nia Oto Pia Rui Sol Tao Uma".split()
TOPICS = (
    "The Orion launch moves two weeks because the load test failed at three times peak traffic.",
    "Vega pricing: we agreed on a per-seat price with a volume discount above 500 seats.",
    "The quarterly budget review is on Thursday; finance needs the forecast by Wednesday noon.",
    "The offsite is in Lisbon on the 14th; travel is booked through the events budget.",
    "The failover drill for Orion slipped again; the database team owns the runbook.",
    "Vega's biggest customer asked for single sign-on and an audit log before renewal.",
    "Hiring: two engineers accepted offers and start next month; one sales role is open.",
    "The incident review found that alerts went to an unused channel for three days.",
)
QUESTIONS = (
    "Why is the Orion launch slipping?",
    "What did we decide about Vega pricing?",
    "When is the budget review?",
    "Who owns the failover runbook?",
    "Where is the offsite?",
    "What did the incident review find?",
)
DEMO_QUESTIONS = (
    "Why is the Atlas launch slipping?",
    "What is the status of Beacon?",
    "What did we decide about the Nimbus contract?",
    "Who owns the load test?",
    "When is the board call?",
)


def environment(home: Path) -> dict[str, str]:
    """Return the environment of processes working on ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNDERSTUDY_")}
    env.update(UNDERSTUDY_HOME=str(home), UNDERSTUDY_EMBEDDING_MODEL="hash")
    return env


def settings_for(home: Path) -> Any:
    """Return the settings of a benchmark home."""
    from understudy.settings import Settings

    return Settings.load({"UNDERSTUDY_HOME": str(home), "UNDERSTUDY_EMBEDDING_MODEL": "hash"})


def _small_people() -> dict[str, Any]:
    people = [
        {
            "id": f"{name.lower()}-{n:02d}",
            "name": f"{name} Example{n:02d}",
            "emails": [f"{name.lower()}{n}@co.example"],
            "groups": [GROUPS[n % len(GROUPS)]],
        }
        for n, name in enumerate(FIRST)
    ]
    projects = [
        {
            "id": project,
            "name": project.capitalize(),
            "members": [p["id"] for p in people[i::2]],
            "groups": [group],
        }
        for i, (project, group) in enumerate(PROJECTS.items())
    ]
    groups = [{"id": g, "name": g.capitalize()} for g in GROUPS]
    return {"people": people, "groups": groups, "projects": projects}


def _small_items(source_id: int, people: list[str], chooser: random.Random) -> list[Any]:
    from understudy.records import Item

    start = datetime(2026, 11, 2, 9, tzinfo=UTC)
    items = []
    for n in range(480):
        author = people[n % len(people)]
        others = chooser.sample([p for p in people if p != author], 2)
        kind: Literal["email", "document"] = "email" if n % 4 else "document"
        readers = {f"person:{author}", *(f"person:{p}" for p in others)}
        if kind == "document":
            everyone = n % 3 == 0
            readers = {"group:everyone" if everyone else f"group:{GROUPS[n % len(GROUPS)]}"}
        body = " ".join(chooser.sample(TOPICS, 3))
        items.append(
            Item(
                source_id=source_id,
                external_id=f"item-{n}",
                kind=kind,
                timestamp=start + timedelta(hours=3 * n),
                readers=frozenset(readers),
                title=body.split(":")[0][:60],
                body=body,
                author=author,
                recipients=tuple(others) if kind == "email" else (),
                project=list(PROJECTS)[n % 2] if n % 5 == 0 else None,
            )
        )
    return items


def build_small(home: Path) -> None:
    """Write the small organization into a fresh home, chunked and embedded (hash)."""
    from understudy.brain import chunk_pending, embed_pending, get_embedder
    from understudy.directory import load_org, parse_org
    from understudy.records import Source
    from understudy.store import open_store

    settings = settings_for(home)
    store = open_store(settings)
    org = _small_people()
    load_org(store, parse_org(org))
    source = store.add_source(Source(kind="files", location="/bench", owner=org["people"][0]["id"]))
    people = [p["id"] for p in org["people"]]
    store.put_items(_small_items(int(source.id or 0), people, random.Random(7)))
    chunk_pending(store)
    embed_pending(store, get_embedder(settings))
    store.close()


def build_demo(home: Path) -> None:
    """Generate and load the demo company into a fresh home."""
    subprocess.run(
        [sys.executable, "-m", "understudy", "demo", "--today", "2026-11-20", "--json"],
        env=environment(home),
        check=True,
        stdout=subprocess.DEVNULL,
    )


def people_and_tokens(home: Path, agent: bool = False) -> dict[str, str]:
    """Return a bearer token for every person of the home."""
    from understudy.agent import issue_token
    from understudy.store import open_store

    store = open_store(settings_for(home))
    tokens = {p.id: issue_token(store, p.id, agent=agent) for p in store.list_people()}
    store.close()
    return tokens


def start_server(home: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``understudy serve`` on a free port; return the process and its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "understudy", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workers", str(workers)],
        env=environment(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not come up")


def pairs(people: list[str], count: int, offset: int) -> list[tuple[str, str]]:
    """Return (asker, owner) pairs that rotate over the organization."""
    found = []
    for n in range(count):
        asker = people[(offset + n) % len(people)]
        owner = people[(offset + 3 * n + 1) % len(people)]
        found.append((asker, owner if owner != asker else people[(offset + n + 1) % len(people)]))
    return found


async def caller(
    base: str,
    token: str,
    jobs: list[tuple[str, str]],
    latencies: list[float],
    errors: list[str],
    think: float,
) -> None:
    """Ask each (owner, question) in turn over A2A, as one caller with one connection.

    Between asks the caller waits a random time of mean ``think`` seconds (0: none).
    """
    from a2a.client import ClientConfig, ClientFactory
    from a2a.types import Message, Part, Role, SendMessageRequest, TaskState

    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        factory = ClientFactory(ClientConfig(httpx_client=http, streaming=False))
        clients: dict[str, Any] = {}
        pause = random.Random(hash(token))
        for owner, question in jobs:
            if think:
                await asyncio.sleep(pause.uniform(0, 2 * think))
            if owner not in clients:
                clients[owner] = await factory.create_from_url(f"{base}/a2a/{owner}/")
            message = Message(
                role=Role.ROLE_USER, message_id=uuid.uuid4().hex, parts=[Part(text=question)]
            )
            started = time.perf_counter()
            async for event in clients[owner].send_message(SendMessageRequest(message=message)):
                # A short answer comes back as a message, long work as a task.
                if event.HasField("task"):
                    if event.task.status.state != TaskState.TASK_STATE_COMPLETED:
                        errors.append(TaskState.Name(event.task.status.state))
                elif not event.HasField("message"):
                    errors.append("no answer")
                else:
                    status = event.message.metadata.fields.get("status")
                    if status is not None and status.string_value == "failed":
                        errors.append("failed")
            latencies.append(time.perf_counter() - started)


async def wire_caller(
    base: str,
    token: str,
    jobs: list[tuple[str, str]],
    latencies: list[float],
    errors: list[str],
    think: float,
) -> None:
    """As ``caller``, but speaking A2A's JSON-RPC binding with plain httpx.

    The same requests on the wire, without the SDK client's protobuf conversions,
    which cost the client about three times the CPU: on a machine the client
    shares with the server, that CPU is taken from the server.
    """
    headers = {"Authorization": f"Bearer {token}", "A2A-Version": "1.0"}
    async with httpx.AsyncClient(headers=headers, timeout=60) as http:
        pause = random.Random(hash(token))
        for owner, question in jobs:
            if think:
                await asyncio.sleep(pause.uniform(0, 2 * think))
            body = {
                "jsonrpc": "2.0",
                "id": uuid.uuid4().hex,
                "method": "SendMessage",
                "params": {
                    "message": {
                        "role": "ROLE_USER",
                        "messageId": uuid.uuid4().hex,
                        "parts": [{"text": question}],
                    }
                },
            }
            started = time.perf_counter()
            answer = (await http.post(f"{base}/a2a/{owner}/", json=body)).json()
            latencies.append(time.perf_counter() - started)
            result = answer.get("result") or {}
            if "message" in result:
                if result["message"].get("metadata", {}).get("status") == "failed":
                    errors.append("failed")
            elif "task" in result:
                if result["task"].get("status", {}).get("state") != "TASK_STATE_COMPLETED":
                    errors.append(str(result["task"].get("status", {}).get("state")))
            else:
                errors.append(str(answer.get("error", "no answer"))[:200])


def summary(latencies: list[float], seconds: float) -> dict[str, float]:
    """Return percentiles (ms) and throughput of a run."""
    ordered = sorted(latencies)

    def at(q: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {
        "requests": len(ordered),
        "p50_ms": at(0.50),
        "p95_ms": at(0.95),
        "p99_ms": at(0.99),
        "mean_ms": round(1000 * statistics.fmean(ordered), 1),
        "requests_per_s": round(len(ordered) / seconds, 1),
    }


def round_trips(
    base: str,
    tokens: dict[str, str],
    questions: tuple[str, ...],
    callers: int,
    per_caller: int,
    think: float = 0.0,
    wire: bool = False,
    processes: int = 1,
) -> tuple[dict[str, float], list[str], float]:
    """Run ``callers`` concurrent callers, ``per_caller`` asks each; return the summary,
    the errors and the callers' CPU seconds.

    ``wire``: plain JSON-RPC callers instead of the a2a-sdk client. ``processes``:
    the callers are spread over that many client processes (each one asyncio
    loop), as callers on other machines would not share one loop.
    """
    shares = [range(n, callers, max(1, processes)) for n in range(max(1, processes))]
    run = functools.partial(_callers, base, tokens, questions, per_caller, think, wire)
    started = time.perf_counter()
    if len(shares) == 1:
        parts = [run(shares[0])]
    else:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(len(shares), mp_context=context) as pool:
            parts = list(pool.map(run, shares))
    latencies = [x for part in parts for x in part[0]]
    errors = [x for part in parts for x in part[1]]
    cpu = sum(part[2] for part in parts)
    return summary(latencies, time.perf_counter() - started), errors, cpu


def _callers(
    base: str,
    tokens: dict[str, str],
    questions: tuple[str, ...],
    per_caller: int,
    think: float,
    wire: bool,
    numbers: range,
) -> tuple[list[float], list[str], float]:
    """Run the callers numbered ``numbers`` on one asyncio loop; return latencies,
    errors and this process's CPU seconds."""
    cpu = time.process_time()
    ask = wire_caller if wire else caller
    people = sorted(tokens)
    latencies: list[float] = []
    errors: list[str] = []
    plans = []
    for n in numbers:
        asked = pairs(people, per_caller, n)
        asker = asked[0][0]
        jobs = [(owner, questions[(n + i) % len(questions)]) for i, (_, owner) in enumerate(asked)]
        plans.append(ask(base, tokens[asker], jobs, latencies, errors, think))

    async def everyone() -> None:
        await asyncio.gather(*plans)

    asyncio.run(everyone())
    return latencies, errors, time.process_time() - cpu


def server_cpu(pid: int) -> float:
    """Return the CPU seconds used so far by a server process and its workers (Linux)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def rounds(
    process: subprocess.Popen[bytes],
    base: str,
    tokens: dict[str, str],
    questions: tuple[str, ...],
    load: tuple[int, int, float],
    wire: bool = False,
    processes: int = 1,
) -> dict[str, Any]:
    """Measure ROUNDS times; report the round with the median p95, and every round.

    Each round also counts the CPU time the server and this client spent per request:
    unlike latency, it barely moves when other programs load the machine.
    """
    callers, per_caller, think = load
    taken = []
    for _ in range(ROUNDS):
        server = server_cpu(process.pid)
        figures, errors, client = round_trips(
            base, tokens, questions, callers, per_caller, think, wire, processes
        )
        count = figures["requests"] or 1
        # An understudy whose owner shares nothing with the asker says so and
        # queues the question: the task waits for the owner (input required).
        queued = errors.count(QUEUED)
        server = 1000 * (server_cpu(process.pid) - server) / count
        client = 1000 * client / count
        taken.append(
            {
                **figures,
                "errors": len(errors) - queued,
                "queued_for_owner": queued,
                "server_cpu_ms_per_request": round(server, 2),
                "client_cpu_ms_per_request": round(client, 2),
            }
        )
    middle = sorted(taken, key=lambda r: r["p95_ms"])[len(taken) // 2]
    return {**middle, "rounds": taken}


def in_process(home: Path, questions: tuple[str, ...], count: int) -> dict[str, float]:
    """Time the understudy's own work (no HTTP, no A2A) for the same kind of questions."""
    from understudy.agent.tokens import Caller
    from understudy.relay import Deployment
    from understudy.relay.operations import answer_as

    deployment = Deployment(settings_for(home))
    people = sorted(people_and_tokens(home))
    answer_as(deployment, Caller(people[0]), people[1], questions[0], "bench")
    latencies = []
    started = time.perf_counter()
    for n, (asker, owner) in enumerate(pairs(people, count, 0)):
        begun = time.perf_counter()
        answer_as(deployment, Caller(asker), owner, questions[n % len(questions)], "bench")
        latencies.append(time.perf_counter() - begun)
    deployment.close()
    return summary(latencies, time.perf_counter() - started)


def fan_out(base: str, home: Path, question: str, runs: int) -> dict[str, Any]:
    """Time ask_organization over A2A to 10 understudies: the first (cold) and the rest."""
    from understudy.agent import ask_organization
    from understudy.relay import A2ARelay
    from understudy.store import open_store

    agents = people_and_tokens(home, agent=True)
    asker, *others = sorted(agents)
    store = open_store(settings_for(home))
    seconds = []
    answered = []
    with A2ARelay(base, agents[asker], timeout=10) as relay:
        for _ in range(runs + 1):
            started = time.perf_counter()
            merged = ask_organization(store, relay, None, asker, question, 10.0, others[:10])
            seconds.append(time.perf_counter() - started)
            answered.append(len(merged.answers) + len(merged.declined) + len(merged.nothing))
    store.close()
    warm = seconds[1:]
    return {
        "understudies": 10,
        "cold_ms": round(1000 * seconds[0], 1),
        "median_ms": round(1000 * statistics.median(warm), 1),
        "max_ms": round(1000 * max(warm), 1),
        "all_replied": all(n == 10 for n in answered),
    }


def count_items(home: Path) -> int:
    """Return how many items the home's store holds."""
    from understudy.records import Principal
    from understudy.store import open_store

    store = open_store(settings_for(home))
    items = sum(store.count_items(Principal.maintenance()).values())
    store.close()
    return items


def measure(
    org: str, workers: int, callers: int, per_caller: int, runs: int, processes: int = 1
) -> dict[str, Any]:
    """Build one organization, serve it, and take every figure."""
    home = Path(tempfile.mkdtemp(prefix=f"relay-bench-{org}-"))
    started = time.perf_counter()
    (build_small if org == "small" else build_demo)(home)
    built = time.perf_counter() - started
    questions = QUESTIONS if org == "small" else DEMO_QUESTIONS
    tokens = people_and_tokens(home)
    process, base = start_server(home, workers)
    try:
        round_trips(base, tokens, questions, 4, 3)  # warm every worker: caches, cards
        one, _, _ = round_trips(base, tokens, questions, 1, 40)
        load = (callers, per_caller, 0.0)
        paced_load = (callers, per_caller, THINK)
        loaded = rounds(process, base, tokens, questions, load, False, processes)
        paced = rounds(process, base, tokens, questions, paced_load, False, processes)
        wired = rounds(process, base, tokens, questions, load, True, processes)
        wired_paced = rounds(process, base, tokens, questions, paced_load, True, processes)
        fanned = fan_out(base, home, questions[0], runs)
    finally:
        process.terminate()
        process.wait(timeout=30)
    work = in_process(home, questions, 40)
    items = count_items(home)
    shutil.rmtree(home, ignore_errors=True)
    return {
        "organization": org,
        "people": len(tokens),
        "items": items,
        "build_s": round(built, 1),
        "server_workers": workers,
        "client_processes": processes,
        "understudy_work_in_process": work,
        "round_trip_one_caller": one,
        "round_trip_concurrent": {"callers": callers, **loaded},
        "capacity_estimate": capacity(loaded, callers),
        "round_trip_concurrent_with_think_time": {
            "callers": callers,
            "mean_think_s": THINK,
            **paced,
        },
        "round_trip_concurrent_wire_client": {"callers": callers, **wired},
        "capacity_estimate_wire_client": capacity(wired, callers),
        "round_trip_concurrent_with_think_time_wire_client": {
            "callers": callers,
            "mean_think_s": THINK,
            **wired_paced,
        },
        "fan_out": fanned,
    }


def capacity(loaded: dict[str, Any], callers: int) -> dict[str, Any]:
    """Estimate what the machine's cores would serve if nothing else ran on them.

    CPU per request (server and client) is measured; the rest is arithmetic: requests per
    second = cores / CPU per request, and with ``callers`` asking back to back the mean
    round trip is about callers / that rate.
    """
    per_request = loaded["server_cpu_ms_per_request"] + loaded["client_cpu_ms_per_request"]
    cores = os.cpu_count() or 1
    rate = 1000 * cores / per_request if per_request else 0.0
    return {
        "cpu_ms_per_request": round(per_request, 2),
        "cores": cores,
        "requests_per_s": round(rate, 1),
        "mean_round_trip_ms_with_callers_back_to_back": round(1000 * callers / rate, 1)
        if rate
        else None,
        "note": "an estimate from measured CPU time, not a measured latency",
    }


def machine() -> dict[str, Any]:
    """Describe the machine and the library versions the figures depend on."""
    model = ""
    if Path("/proc/cpuinfo").is_file():
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        model = next((line.split(":", 1)[1].strip() for line in lines if "model name" in line), "")
    versions: dict[str, str | None] = {}
    for package in ("a2a-sdk", "mcp", "fastapi", "starlette", "uvicorn", "httpx", "protobuf"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def table(results: list[dict[str, Any]]) -> str:
    """Return the figures as a text table."""
    lines = [
        f"{'org client':<11} {'items':>5} {'work':>6} {'1 caller':>9} "
        f"{'50 back to back: p50/p95, req/s':>33} {'50 with think time: p50/p95':>29} "
        f"{'fan-out 10':>11}",
    ]
    for r in results:
        one, fan = r["round_trip_one_caller"], r["fan_out"]
        for client, suffix in (("sdk", ""), ("wire", "_wire_client")):
            many = r[f"round_trip_concurrent{suffix}"]
            paced = r[f"round_trip_concurrent_with_think_time{suffix}"]
            lines.append(
                f"{r['organization'] + ' ' + client:<11} {r['items']:>5} "
                f"{r['understudy_work_in_process']['p50_ms']:>4.0f}ms {one['p50_ms']:>7.0f}ms "
                f"{many['p50_ms']:>14.0f} / {many['p95_ms']:.0f} ms, "
                f"{many['requests_per_s']:>5.1f} "
                f"{paced['p50_ms']:>19.0f} / {paced['p95_ms']:.0f} ms {fan['median_ms']:>9.0f}ms"
            )
    lines.append("work: the understudy's own answer, in process; the rest: A2A round trips.")
    lines.append("sdk: the official a2a-sdk client; wire: the same JSON-RPC with plain httpx.")
    return "\n".join(lines)


def main() -> None:
    """Measure each organization, print the table and write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", default="small,demo")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--callers", type=int, default=50)
    parser.add_argument("--per-caller", type=int, default=10)
    parser.add_argument("--fan-out-runs", type=int, default=10)
    parser.add_argument(
        "--client-processes",
        type=int,
        default=2,
        help="client processes the callers are spread over (1: one asyncio loop for all)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    options = parser.parse_args()
    load_before = os.getloadavg()
    results = [
        measure(
            org,
            options.workers,
            options.callers,
            options.per_caller,
            options.fan_out_runs,
            options.client_processes,
        )
        for org in options.orgs.split(",")
    ]
    report = {
        "machine": machine(),
        "load_average_before_after": [list(load_before), list(os.getloadavg())],
        "targets": {"round_trip_p95_ms": 300, "fan_out_10_ms": 1000},
        "a2a_sdk_tracing": os.environ["OTEL_INSTRUMENTATION_A2A_SDK_ENABLED"],
        "client": (
            "official a2a-sdk client (and, under *_wire_client, the same JSON-RPC requests "
            f"with plain httpx), callers spread over {options.client_processes} client "
            "processes (one asyncio loop each), one connection per caller"
        ),
        "results": results,
    }
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(table(results))
    print(f"wrote {options.output}")


if __name__ == "__main__":
    main()
