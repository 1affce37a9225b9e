"""``understudy serve --workers N``: N processes, each listening on the port, each with a share."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.relay.servers import free_port, serve, server_env

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads worker processes from /proc"
)


def _children(parent: int) -> list[int]:
    """Return the server workers of a supervisor (not multiprocessing's helper processes)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"spawn_main" in command:
            found.append(int(stat.parent.name))
    return sorted(found)


def _sockets(pid: int) -> int:
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            count += os.readlink(fd).startswith("socket:")
        except OSError:
            continue
    return count


def _supervisor(base: str) -> int:
    """Return the pid of the process serving ``base`` from the test's own children."""
    port = base.rsplit(":", 1)[1]
    for stat in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = stat.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in command and port.encode() in command and b"--workers" in command:
            return int(stat.parent.name)
    raise AssertionError(f"no server process for {base}")


def _wait_for(condition: object, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_every_worker_listens_and_takes_a_share_of_the_connections(tmp_path: Path) -> None:
    with serve(tmp_path, workers=2) as base:
        parent = _supervisor(base)
        workers = _children(parent)
        assert len(workers) == 2
        before = {pid: _sockets(pid) for pid in workers}
        clients = [httpx.Client(base_url=base) for _ in range(40)]
        try:
            assert all(c.get("/health").status_code == 200 for c in clients)
            gained = {pid: _sockets(pid) - before[pid] for pid in workers}
        finally:
            for client in clients:
                client.close()
        # Each keeps its connection open: both workers hold some of the 40.
        assert sum(gained.values()) >= 40
        assert min(gained.values()) >= 5, gained


def test_a_worker_that_dies_is_replaced_and_stopping_stops_them_all(tmp_path: Path) -> None:
    with serve(tmp_path, workers=2) as base:
        parent = _supervisor(base)
        first, second = _children(parent)
        os.kill(first, signal.SIGKILL)
        _wait_for(lambda: len(_children(parent)) == 2 and first not in _children(parent))
        assert second in _children(parent)
        assert all(httpx.get(f"{base}/health").status_code == 200 for _ in range(10))
        workers = _children(parent)
    # ``serve`` sent SIGTERM to the supervisor and waited for it.
    for pid in workers:
        _wait_for(lambda pid=pid: not Path(f"/proc/{pid}").exists(), seconds=20)


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen(1)
        done = subprocess.run(
            [sys.executable, "-m", "understudy", "serve", "--port", str(port), "--workers", "2"],
            env=server_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode != 0
    assert f"127.0.0.1:{port} cannot be served" in done.stderr + done.stdout


def test_workers_that_cannot_start_are_not_restarted_forever() -> None:
    from understudy.api.workers import serve_processes
    from understudy.errors import ConfigError

    started = time.monotonic()
    with pytest.raises(ConfigError, match="keep exiting as they start"):
        serve_processes("understudy.no_such_module:create_app", "127.0.0.1", free_port(), 2)
    assert time.monotonic() - started < 60
