"""A real Dovecot IMAP server on loopback, for the ``imap`` connector's tests.

``running_dovecot`` writes a minimal configuration into a temporary folder
(the system's /etc/dovecot is never read: ``dovecot -c`` points elsewhere),
starts ``dovecot -F`` on a free port and stops it afterwards. Each user has
a ``passwd-file`` of its own with a ``{PLAIN}`` password, which Dovecot opens
at login, so each test gets a fresh mailbox (``new_account``) from one server
per session. Messages go in through IMAP APPEND, so Dovecot indexes them as
it would delivered mail.

``ImapProxy`` sits between a client and the server: it records the client's
commands and can cut the connection a number of bytes into a FETCH response,
as a server or network that drops mid-sync would.
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

__all__ = [
    "DovecotServer",
    "ImapAccount",
    "ImapProxy",
    "dovecot_binary",
    "dovecot_config",
    "dovecot_server",
    "dovecot_version",
    "free_port",
    "imap_account",
    "imap_proxy",
    "running_dovecot",
]


def free_port() -> int:
    """Return a TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True, slots=True)
class _RunAs:
    """Who Dovecot's processes run as, and who owns the mail."""

    internal: str
    login: str
    uid: int
    gid: int
    rootless: bool


def _run_as() -> _RunAs:
    """Return Dovecot's own users when running as root, else the current user for all."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return _RunAs(me.pw_name, me.pw_name, me.pw_uid, me.pw_gid, rootless=True)
    try:
        internal = pwd.getpwnam("dovecot")
    except KeyError:
        pytest.skip("the 'dovecot' system user is missing; reinstall dovecot-core")
    try:
        login = pwd.getpwnam("dovenull").pw_name
    except KeyError:
        login = internal.pw_name
    # Dovecot refuses mail access as root; the mail belongs to its internal user.
    return _RunAs(internal.pw_name, login, internal.pw_uid, internal.pw_gid, rootless=False)


def dovecot_binary() -> str:
    """Return the path of the dovecot program, or skip when Dovecot is not installed."""
    # /usr/sbin is often missing from a non-root user's PATH.
    binary = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")
    if binary is None:
        pytest.skip(
            "Dovecot is not installed; install it with: apt-get install -y "
            "--no-install-recommends dovecot-imapd (scripts/test.sh does)"
        )
    return binary


def dovecot_version(binary: str) -> tuple[int, ...]:
    """Return the version of the dovecot program at ``binary``."""
    found = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", found.stdout.strip())
    if match is None:
        pytest.skip(f"cannot tell Dovecot's version from {found.stdout!r}")
    return tuple(int(part) for part in match.groups() if part is not None)


def dovecot_config(folder: Path, port: int, version: tuple[int, ...], run_as: _RunAs) -> str:
    """Return a minimal configuration: IMAP on loopback, no TLS, passwd-file users."""
    paths = {name: folder / name for name in ("run", "state", "mail", "users")}
    common = f"""
protocols = imap
listen = 127.0.0.1
instance_name = understudy-test-{port}
base_dir = {paths["run"]}
state_dir = {paths["state"]}
log_path = {folder / "dovecot.log"}
info_log_path = {folder / "dovecot.log"}
ssl = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {run_as.internal}
default_login_user = {run_as.login}
first_valid_uid = 1
mail_fsync = never
{_rootless_group(run_as)}service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}{_rootless_chroot(run_as)}
}}
{_anvil(run_as)}"""
    if version >= (2, 4):
        return f"""dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
{common}
auth_allow_cleartext = yes
mail_driver = maildir
mail_path = ~/Maildir
passdb passwd-file {{
  passwd_file_path = {paths["users"]}/%{{user}}
}}
userdb passwd-file {{
  passwd_file_path = {paths["users"]}/%{{user}}
}}
"""
    return f"""{common}
disable_plaintext_auth = no
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {paths["users"]}/%u
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {paths["users"]}/%u
}}
"""


def _rootless_chroot(run_as: _RunAs) -> str:
    # Without root, login processes cannot chroot; Dovecot's rootless setup turns it off.
    return "\n  chroot =" if run_as.rootless else ""


def _anvil(run_as: _RunAs) -> str:
    # Failed logins would slow every later login from 127.0.0.1 (the tests make some on
    # purpose): no penalty socket, no penalty. Without root, anvil cannot chroot either.
    chroot = "  chroot =\n" if run_as.rootless else ""
    return (
        f"service anvil {{\n{chroot}  unix_listener anvil-auth-penalty {{\n    mode = 0\n  }}\n}}\n"
    )


def _rootless_group(run_as: _RunAs) -> str:
    # Without root, sockets cannot be handed to the dovecot group; keep them in ours.
    return (
        f"default_internal_group = {grp.getgrgid(run_as.gid).gr_name}\n" if run_as.rootless else ""
    )


@dataclass(frozen=True, slots=True)
class ImapAccount:
    """One user's mailbox on the test server."""

    host: str
    port: int
    user: str
    password: str

    def url(self, password: str | None = None, port: int | None = None) -> str:
        """Return the account's imap:// URL, with its password unless one is given."""
        secret = self.password if password is None else password
        return f"imap://{self.user}:{secret}@{self.host}:{port or self.port}/"

    @contextmanager
    def client(self) -> Iterator[imaplib.IMAP4]:
        """Yield an IMAP client logged in to the account."""
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        try:
            client.login(self.user, self.password)
            yield client
        finally:
            with suppress(imaplib.IMAP4.error, OSError):
                client.logout()

    def create(self, *folders: str) -> None:
        """Create folders, named as the server names them (``Projects.Atlas``)."""
        with self.client() as client:
            for folder in folders:
                typ, data = client.create(_quoted(folder))
                if typ != "OK":
                    raise RuntimeError(f"CREATE {folder} failed: {data!r}")

    def append(self, folder: str, *messages: bytes, when: datetime | None = None) -> list[int]:
        """Append messages to a folder and return their UIDs."""
        uids = []
        with self.client() as client:
            for raw in messages:
                stamp = imaplib.Time2Internaldate(when.timestamp()) if when else None
                typ, data = client.append(_quoted(folder), "", stamp, raw)
                if typ != "OK":
                    raise RuntimeError(f"APPEND to {folder} failed: {data!r}")
                found = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
                uids.append(int(found.group(1)) if found else 0)
        return uids

    def flags(self, folder: str) -> list[str]:
        """Return the flags of every message in a folder, in UID order."""
        with self.client() as client:
            client.select(_quoted(folder), readonly=True)
            _, data = client.uid("FETCH", "1:*", "(FLAGS)")
        return [
            m.group(1).decode()
            for d in data
            if isinstance(d, bytes) and (m := re.search(rb"FLAGS \(([^)]*)\)", d))
        ]


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(slots=True)
class DovecotServer:
    """A running Dovecot and the folder that holds its configuration, users and mail."""

    host: str
    port: int
    version: tuple[int, ...]
    folder: Path
    run_as: _RunAs

    @property
    def log(self) -> Path:
        """Return the server's log file."""
        return self.folder / "dovecot.log"

    def new_account(self, password: str | None = None) -> ImapAccount:
        """Add a user with an empty mailbox and return it."""
        user = f"u{uuid.uuid4().hex[:10]}"
        secret = password or f"pw-{uuid.uuid4().hex[:12]}"
        home = self.folder / "mail" / user
        line = f"{user}:{{PLAIN}}{secret}:{self.run_as.uid}:{self.run_as.gid}::{home}::\n"
        # One file per user: Dovecot opens it at login, so it never reads a stale copy.
        entry = self.folder / "users" / user
        entry.write_text(line, encoding="utf-8")
        entry.chmod(0o644)
        return ImapAccount(self.host, self.port, user, secret)


@contextmanager
def running_dovecot() -> Iterator[DovecotServer]:
    """Run a Dovecot of its own until the block ends; skip when it cannot start here."""
    binary = dovecot_binary()
    version = dovecot_version(binary)
    run_as = _run_as()
    # Not under pytest's temporary folder: that is private to the test user, and
    # Dovecot's mail processes run as its own user when started by root.
    folder = Path(tempfile.mkdtemp(prefix="understudy-dovecot-"))
    folder.chmod(0o755)
    for name in ("run", "state", "mail", "users"):
        (folder / name).mkdir(mode=0o755)
    os.chown(folder / "mail", run_as.uid, run_as.gid)
    port = free_port()
    config = folder / "dovecot.conf"
    config.write_text(dovecot_config(folder, port, version, run_as), encoding="utf-8")
    output = (folder / "stdout.log").open("wb")
    process = subprocess.Popen(
        [binary, "-F", "-c", str(config)], stdout=output, stderr=subprocess.STDOUT
    )
    try:
        _wait_until_up(process, port, folder)
        yield DovecotServer("127.0.0.1", port, version, folder, run_as)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        output.close()
        shutil.rmtree(folder, ignore_errors=True)


def _greets(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            return conn.recv(64).startswith(b"* OK")
    except OSError:
        return False


def _wait_until_up(process: subprocess.Popen[bytes], port: int, folder: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = "\n".join(
                p.read_text(encoding="utf-8", errors="replace")
                for p in (folder / "stdout.log", folder / "dovecot.log")
                if p.exists()
            )
            pytest.skip(
                f"Dovecot would not start as user {os.getuid()} (exit {process.returncode}); "
                f"it needs its own users or a rootless setup:\n{log[-2000:]}"
            )
        if _greets(port):
            return
        time.sleep(0.05)
    pytest.fail(f"Dovecot did not answer on 127.0.0.1:{port} within 30 s; see {folder}")


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[DovecotServer]:
    """Yield a Dovecot server for the whole test session."""
    with running_dovecot() as server:
        yield server


@pytest.fixture
def imap_account(dovecot_server: DovecotServer) -> ImapAccount:
    """Return a fresh, empty mailbox on the session's Dovecot."""
    return dovecot_server.new_account()


@pytest.fixture
def imap_proxy(imap_account: ImapAccount) -> Iterator[ImapProxy]:
    """Yield a proxy in front of the test mailbox's server; it forwards everything until told."""
    proxy = ImapProxy(imap_account.port)
    yield proxy
    proxy.close()


class ImapProxy:
    """Forward TCP between IMAP clients and a server, recording and optionally cutting.

    ``commands`` holds what clients sent. With ``cut_fetch`` = (n, size), the
    connection is closed once ``size`` bytes of the answer to the n-th FETCH
    (counting from 1 over all connections) have been passed on.
    """

    def __init__(self, port: int, cut_fetch: tuple[int, int] | None = None) -> None:
        self.target = ("127.0.0.1", port)
        self.cut_fetch = cut_fetch
        self.commands = bytearray()
        self.fetches = 0
        self.cuts = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        """Stop accepting connections."""
        self._closed = True
        self._listener.close()

    def fetch_commands(self) -> int:
        """Return how many FETCH commands clients sent."""
        return len(re.findall(rb"(?im)^\S+ (?:UID )?FETCH ", bytes(self.commands)))

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            state = {"cutting": False}
            threading.Thread(
                target=self._upstream, args=(client, server, state), daemon=True
            ).start()
            threading.Thread(
                target=self._downstream, args=(server, client, state), daemon=True
            ).start()

    def _upstream(
        self, client: socket.socket, server: socket.socket, state: dict[str, bool]
    ) -> None:
        while data := _recv(client):
            with self._lock:
                self.commands.extend(data)
                for _ in re.findall(rb"(?im)^\S+ (?:UID )?FETCH ", data):
                    self.fetches += 1
                    if self.cut_fetch and self.fetches == self.cut_fetch[0]:
                        state["cutting"] = True
            with suppress(OSError):
                server.sendall(data)
        _close(client, server)

    def _downstream(
        self, server: socket.socket, client: socket.socket, state: dict[str, bool]
    ) -> None:
        passed = 0
        while data := _recv(server):
            if state["cutting"] and self.cut_fetch:
                room = self.cut_fetch[1] - passed
                with suppress(OSError):
                    client.sendall(data[: max(room, 0)])
                passed += len(data)
                if passed >= self.cut_fetch[1]:
                    self.cuts += 1
                    break
                continue
            with suppress(OSError):
                client.sendall(data)
        _close(client, server)


def _recv(conn: socket.socket) -> bytes:
    try:
        return conn.recv(65536)
    except OSError:
        return b""


def _close(*conns: socket.socket) -> None:
    for conn in conns:
        with suppress(OSError):
            conn.shutdown(socket.SHUT_RDWR)
        with suppress(OSError):
            conn.close()
