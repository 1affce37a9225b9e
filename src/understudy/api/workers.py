"""Several server processes on one port, each with its own listening socket.

uvicorn's ``--workers`` shares one listening socket among its processes, and
the kernel hands new connections to whichever process is waiting: under load
one process took four fifths of the requests on our 2-core benchmark (callers
keep their connections, so the split lasts). With ``SO_REUSEPORT`` every
process listens on a socket of its own and the kernel spreads connections over
them by their addresses, so each worker gets its share.

The parent only supervises: it checks the port is free, starts the workers,
restarts one that dies, and on SIGTERM or SIGINT asks each to shut down
gracefully (uvicorn drains its requests) before it exits itself. Where the
platform lacks ``SO_REUSEPORT``, ``serve`` falls back to uvicorn's workers.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import time
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

from understudy.errors import ConfigError, InputError

__all__ = ["BACKLOG", "can_share_port", "listening_socket", "serve_processes"]

log = logging.getLogger(__name__)

BACKLOG = 2048
RESTART_PAUSE = 1.0
# A worker that dies this soon after starting, this many times in a row, is not
# restarted again: something is broken (the app cannot load), not unlucky.
EARLY_DEATH = 10.0
EARLY_DEATHS = 5


def can_share_port() -> bool:
    """Return whether this platform lets several sockets listen on one port."""
    return hasattr(socket, "SO_REUSEPORT")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def listening_socket(host: str, port: int, shared: bool = True) -> socket.socket:
    """Return a socket listening on (host, port); ``shared`` lets other workers listen too."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if shared:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


def _check_free(host: str, port: int) -> None:
    """Raise a clear error when something else already listens on the port."""
    probe = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    except OSError as exc:
        raise InputError(
            f"{host}:{port} cannot be served ({exc.strerror}); choose another --port or stop "
            "what listens there"
        ) from None
    finally:
        probe.close()


def _worker(app: str, host: str, port: int, options: dict[str, Any]) -> None:
    """Run one uvicorn server on a socket of its own (in a child process)."""
    import uvicorn

    sock = listening_socket(host, port)
    config = uvicorn.Config(app, factory=True, host=host, port=port, **options)
    uvicorn.Server(config).run(sockets=[sock])


class _Supervisor:
    """Start the workers, keep them running, stop them together."""

    def __init__(self, app: str, host: str, port: int, count: int, options: dict[str, Any]):
        self.target = (app, host, port, options)
        self.count = count
        self.context = multiprocessing.get_context("spawn")
        self.workers: list[BaseProcess] = []
        self.started: list[float] = []
        self.early_deaths = 0
        self.stopping = False

    def _start(self) -> BaseProcess:
        process = self.context.Process(target=_worker, args=self.target, daemon=False)
        process.start()
        return process

    def _replace(self, n: int) -> None:
        """Restart worker ``n``, or give up when workers keep dying as they start."""
        process = self.workers[n]
        lived = time.monotonic() - self.started[n]
        self.early_deaths = self.early_deaths + 1 if lived < EARLY_DEATH else 0
        if self.early_deaths >= EARLY_DEATHS:
            raise ConfigError(
                f"server workers keep exiting as they start (last exit code "
                f"{process.exitcode}); run with --workers 1 to see why"
            )
        log.warning("server worker %s exited (%s); restarting", n, process.exitcode)
        time.sleep(RESTART_PAUSE)
        self.workers[n], self.started[n] = self._start(), time.monotonic()

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def run(self, grace: float) -> None:
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.workers = [self._start() for _ in range(self.count)]
            self.started = [time.monotonic()] * self.count
            while not self.stopping:
                for n, process in enumerate(self.workers):
                    if not process.is_alive() and not self.stopping:
                        self._replace(n)
                time.sleep(0.2)
        finally:
            self._shut_down(grace)
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _shut_down(self, grace: float) -> None:
        for process in self.workers:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes its requests, then exits
        deadline = time.monotonic() + grace + 5
        for process in self.workers:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()


def serve_processes(
    app: str, host: str, port: int, workers: int, grace: float = 10.0, **options: Any
) -> None:
    """Serve the app factory ``app`` from ``workers`` processes sharing (host, port)."""
    _check_free(host, port)
    options["timeout_graceful_shutdown"] = grace
    _Supervisor(app, host, port, workers, options).run(grace)
