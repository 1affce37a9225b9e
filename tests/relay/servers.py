"""Shared by tests/relay and tests/api: the demo company, built once per session, and real servers.

The demo (``understudy demo --today 2026-11-20``) is built into a session
home once, with Maya's twin trained, and served by ``understudy serve`` in a
subprocess on a free loopback port — a real uvicorn behind a real socket.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from understudy.agent import issue_token
from understudy.settings import Settings
from understudy.store import Store, open_store

DEMO_TODAY = "2026-11-20"
CEO = "maya-okafor"
CTO = "daniel-reyes"
HR_STAFF = "emily-carter"
HR_LEAD = "grace-liu"
HR_QUESTION = "What is in the compensation review?"
ATLAS_QUESTION = "Why is the Atlas launch slipping?"


def demo_home(factory: pytest.TempPathFactory) -> Path:
    """Return the session's demo home, building it the first time (about 20 seconds)."""
    home = factory.getbasetemp() / "relay-demo-home"
    if (home / ".built").exists():
        return home
    home.mkdir(exist_ok=True)
    from understudy.cli import main

    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("UNDERSTUDY_") and name != "UNDERSTUDY_TEST_POSTGRES":
                patch.delenv(name)
        patch.setenv("UNDERSTUDY_HOME", str(home))
        patch.setenv("UNDERSTUDY_EMBEDDING_MODEL", "hash")
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["demo", "--today", DEMO_TODAY, "--json"]) == 0
            assert main(["twin", "train", "--for", CEO]) == 0
    (home / ".built").write_text("ok")
    return home


def settings_for(home: Path) -> Settings:
    """Return the settings of a test home (hash embeddings, no language model)."""
    return Settings.load({"UNDERSTUDY_HOME": str(home), "UNDERSTUDY_EMBEDDING_MODEL": "hash"})


@contextlib.contextmanager
def opened(home: Path) -> Iterator[Store]:
    """Open the store of a home for the length of a block."""
    store = open_store(settings_for(home))
    try:
        yield store
    finally:
        store.close()


def token(home: Path, person: str, agent: bool = False, lifetime: int = 3600) -> str:
    """Return a bearer token for a person (or their understudy) of a home."""
    with opened(home) as store:
        return issue_token(store, person, agent=agent, lifetime=lifetime)


def hr_phrase(home: Path) -> str:
    """Return the planted sentence that only HR may read."""
    manifest = json.loads((home / "demo" / "manifest.json").read_text(encoding="utf-8"))
    fact = next(f for f in manifest["planted"] if f["kind"] == "hr_private")
    return str(fact["evidence"]["phrase"])


def free_port() -> int:
    """Return a port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_env(home: Path) -> dict[str, str]:
    """Return the environment of a server (or stdio MCP) process for a home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNDERSTUDY_")}
    env.update(UNDERSTUDY_HOME=str(home), UNDERSTUDY_EMBEDDING_MODEL="hash")
    return env


@contextlib.contextmanager
def serve(home: Path, workers: int = 1) -> Iterator[str]:
    """Run ``understudy serve`` on a free loopback port; yield its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "understudy", "serve", "--port", str(port)]
    log = home / f"server-{port}.log"
    with log.open("wb") as errors:
        process = subprocess.Popen(
            [*command, "--workers", str(workers)],
            env=server_env(home),
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process, log)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            errors = log.read_text(errors="replace")
            raise RuntimeError(f"the server exited: {errors[-2000:]}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server at {base} did not come up in 60 s")
