"""A real Radicale CalDAV server on loopback, for the ``caldav`` connector's tests.

``running_radicale`` starts ``python -m radicale`` on a free port with its
own storage folder and plain htpasswd users, waits until it answers, and
stops it afterwards. ``radicale_server`` is a session fixture around it,
with two accounts (``ann``, ``bo``); each test makes calendars of its own
(``new_calendar``), so tests share one server without sharing events.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

__all__ = ["RadicaleServer", "free_port", "radicale_server", "running_radicale"]

USERS = {"ann": "correct-horse-42", "bo": "battery-staple-7"}


@dataclass(frozen=True, slots=True)
class RadicaleServer:
    """A running Radicale server and the account tests use on it."""

    host: str
    port: int
    username: str
    password: str
    log: Path
    users: Mapping[str, str]

    def as_user(self, username: str) -> RadicaleServer:
        """Return the same server seen by another of its accounts."""
        return replace(self, username=username, password=self.users[username])

    def url(self, path: str = "", password: str | None = None, user: bool = True) -> str:
        """Return an http URL on the server, with credentials unless ``user`` is False."""
        secret = self.password if password is None else password
        auth = f"{self.username}:{secret}@" if user else ""
        return f"http://{auth}{self.host}:{self.port}/{path.lstrip('/')}"

    def client(self) -> Any:
        """Return a ``caldav`` client logged in as the test account."""
        from caldav.davclient import DAVClient

        return DAVClient(
            url=self.url(user=False),
            username=self.username,
            password=self.password,
            timeout=10,
            enable_rfc6764=False,
        )

    def new_calendar(self, name: str = "Work") -> Any:
        """Create a calendar with a fresh id in the account and return it."""
        principal = self.client().principal()
        return principal.make_calendar(name=name, cal_id=f"cal-{uuid.uuid4().hex[:10]}")

    def calendar_url(self, calendar: Any, password: str | None = None) -> str:
        """Return the URL of ``calendar`` with the account's credentials in it."""
        return self.url(str(calendar.url.path), password=password)


def free_port() -> int:
    """Return a TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # 401 and friends: it is up
    except OSError:
        return False


@contextmanager
def running_radicale(folder: Path, users: Mapping[str, str]) -> Iterator[RadicaleServer]:
    """Run Radicale with plain htpasswd ``users`` until the block ends."""
    folder.mkdir(parents=True, exist_ok=True)
    htpasswd = folder / "users"
    htpasswd.write_text("".join(f"{u}:{p}\n" for u, p in users.items()), encoding="utf-8")
    port = free_port()
    log = folder / "radicale.log"
    command = [
        sys.executable, "-m", "radicale", "--config", "",
        "--server-hosts", f"127.0.0.1:{port}",
        "--storage-filesystem-folder", str(folder / "collections"),
        "--auth-type", "htpasswd",
        "--auth-htpasswd-filename", str(htpasswd),
        "--auth-htpasswd-encryption", "plain",
        "--auth-delay", "0",
        "--logging-level", "warning",
    ]  # fmt: skip
    with log.open("wb") as output:
        # cwd is the server's own folder, so this helper module (radicale.py)
        # can never shadow the real package in the child.
        process = subprocess.Popen(command, cwd=folder, stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(process, f"http://127.0.0.1:{port}/", log)
        name, secret = next(iter(users.items()))
        yield RadicaleServer("127.0.0.1", port, name, secret, log, dict(users))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text(encoding="utf-8", errors="replace")
            if "No module named radicale" in output:
                pytest.skip("Radicale is not installed; run: pip install radicale")
            pytest.fail(f"Radicale exited with {process.returncode}:\n{output}")
        if _answers(url):
            return
        time.sleep(0.1)
    pytest.fail(f"Radicale did not answer on {url} within 30 s; see {log}")


@pytest.fixture(scope="session")
def radicale_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadicaleServer]:
    """Yield a Radicale server for the whole test session."""
    with running_radicale(tmp_path_factory.mktemp("radicale"), USERS) as server:
        yield server
