"""One server process's share of a deployment: settings, a pool of store connections, caches.

Nothing about a request outlives it: each request borrows a store connection
from the pool and gives it back, so any number of processes can serve the
same deployment (one SQLite file, or one PostgreSQL) behind a load balancer.
What is cached — searchers, verified tokens — is derived from the store and
expires by itself.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from understudy.agent.tokens import Caller, verify_token
from understudy.errors import ConfigError, StoreError, UnderstudyError
from understudy.settings import Settings
from understudy.store import Store, open_store

if TYPE_CHECKING:
    from understudy.agent.understudy import Understudy

__all__ = ["Deployment"]

log = logging.getLogger(__name__)

SEARCHER_LIFETIME = 300.0
TOKEN_LIFETIME = 60.0
MAX_CACHED_TOKENS = 10_000


def connections_for(settings: Settings, model: Any) -> int:
    """Return how many requests a server process should work on at once.

    ``server_connections`` decides when set. Otherwise: on SQLite without a
    language model a request never waits on anything but this process's own
    computing, and Python computes on one thread at a time, so a second
    request in parallel only adds contention for the interpreter lock
    (``benchmarks/connections.py`` on the demo company: 11 ms of CPU per ask
    one at a time, 15-21 ms with two to eight asks in parallel on two to four
    connections, and no more asks per second). With
    PostgreSQL or a model, requests wait on another process, and four
    overlap those waits.
    """
    chosen = int(settings["server_connections"])
    if chosen > 0:
        return chosen
    if chosen < 0:
        raise ConfigError(
            f"server_connections must be 0 (automatic) or more, got {chosen}; "
            "fix it in the environment or config.toml"
        )
    sqlite = not str(settings["database_url"]).strip()
    return 1 if sqlite and model is None else 4


class Deployment:
    """What one process shares across requests: settings, store connections and caches."""

    def __init__(
        self, settings: Settings, pool_size: int = 4, model: Any = None, wait: float = 30.0
    ) -> None:
        self.settings = settings
        self.model = model
        self.wait = wait
        self._idle: queue.LifoQueue[Store] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(pool_size)
        self._lock = threading.Lock()
        self._opening = threading.Lock()
        self._searchers: dict[int, tuple[float, Any]] = {}
        self._tokens: dict[str, tuple[float, Caller]] = {}
        self._closed = False

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, pool_size: int | None = None
    ) -> Deployment:
        """Return the deployment the settings describe, with its language model if one is set.

        ``pool_size`` defaults to ``connections_for(settings, model)``.
        """
        from understudy.llm import get_model

        settings = settings or Settings.load()
        model = get_model(settings)
        size = pool_size if pool_size is not None else connections_for(settings, model)
        return cls(settings, pool_size=size, model=model)

    @contextmanager
    def store(self) -> Iterator[Store]:
        """Lend a store connection for one request; a connection that failed is not reused."""
        if not self._slots.acquire(timeout=self.wait):
            raise StoreError("the server is busy: no store connection came free; try again")
        store: Store | None = None
        healthy = False
        try:
            try:
                store = self._idle.get_nowait()
            except queue.Empty:
                with self._opening:  # one at a time: opening checks the home and migrations
                    store = open_store(self.settings)
            yield store
            healthy = True
        except UnderstudyError:
            healthy = True
            raise
        finally:
            if store is not None:
                self._give_back(store, healthy)
            self._slots.release()

    def _give_back(self, store: Store, healthy: bool) -> None:
        if healthy and not self._closed:
            self._idle.put(store)
            return
        with self._lock:
            self._searchers.pop(id(store), None)
        try:
            store.close()
        except Exception:  # a broken connection may fail to close; it is dropped either way
            log.debug("closing a failed store connection failed", exc_info=True)

    def searcher(self, store: Store) -> Any:
        """Return a searcher for this connection, rebuilt now and then to notice new vectors."""
        now = time.monotonic()
        with self._lock:
            cached = self._searchers.get(id(store))
        if cached is not None and now - cached[0] < SEARCHER_LIFETIME and cached[1].store is store:
            return cached[1]
        from understudy.brain.embeddings import get_embedder
        from understudy.brain.search import Searcher

        embedder = get_embedder(self.settings)
        searcher = Searcher(store, embedder if store.has_embeddings(embedder.name) else None)
        with self._lock:
            self._searchers[id(store)] = (now, searcher)
        return searcher

    def understudy(self, store: Store, owner: str) -> Understudy:
        """Return the understudy of ``owner``, working on this connection."""
        from understudy.agent.understudy import Understudy

        return Understudy(
            store, owner, self.settings, model=self.model, searcher=self.searcher(store)
        )

    def cached_caller(self, token: str) -> Caller | None:
        """Return the caller of a token verified in the last minute and not expired, or None."""
        now = time.time()
        with self._lock:
            cached = self._tokens.get(token)
        if cached is not None and now - cached[0] < TOKEN_LIFETIME and cached[1].expires > now:
            return cached[1]
        return None

    def caller(self, token: str) -> Caller:
        """Return who a bearer token speaks for, or raise PermissionDenied."""
        cached = self.cached_caller(token)
        if cached is not None:
            return cached
        now = time.time()
        with self.store() as store:
            caller = verify_token(store, token)
        with self._lock:
            if len(self._tokens) >= MAX_CACHED_TOKENS:
                self._tokens.clear()
            self._tokens[token] = (now, caller)
        return caller

    def close(self) -> None:
        """Close every idle connection; connections still lent are closed when given back."""
        self._closed = True
        while True:
            try:
                store = self._idle.get_nowait()
            except queue.Empty:
                return
            store.close()
