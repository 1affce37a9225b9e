"""How many requests one server process works on at once, and how the pool lends connections."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from understudy.errors import ConfigError, StoreError
from understudy.relay.deployment import Deployment, connections_for
from understudy.settings import Settings


def _settings(tmp_path: Path, **extra: str) -> Settings:
    environ = {"UNDERSTUDY_HOME": str(tmp_path / "home"), "UNDERSTUDY_EMBEDDING_MODEL": "hash"}
    environ.update({f"UNDERSTUDY_{k.upper()}": v for k, v in extra.items()})
    return Settings.load(environ)


def test_sqlite_without_a_model_works_on_one_request_at_a_time(tmp_path: Path) -> None:
    assert connections_for(_settings(tmp_path), model=None) == 1
    # Requests that wait on another process overlap.
    assert connections_for(_settings(tmp_path), model=object()) == 4
    postgres = _settings(tmp_path, database_url="postgresql://u@127.0.0.1/db")
    assert connections_for(postgres, model=None) == 4
    # The setting decides when it is given.
    assert connections_for(_settings(tmp_path, server_connections="3"), model=None) == 3
    with pytest.raises(ConfigError, match="server_connections must be 0"):
        connections_for(_settings(tmp_path, server_connections="-2"), model=None)


def test_a_one_connection_deployment_lends_it_to_one_request_at_a_time(tmp_path: Path) -> None:
    deployment = Deployment.from_settings(_settings(tmp_path))
    deployment.wait = 0.2
    lent = threading.Event()
    done = threading.Event()
    order: list[str] = []

    def first() -> None:
        with deployment.store():
            order.append("first")
            lent.set()
            done.wait(5)
        order.append("first returned")

    thread = threading.Thread(target=first)
    thread.start()
    lent.wait(5)
    with pytest.raises(StoreError, match="the server is busy"), deployment.store():
        order.append("second, too early")
    done.set()
    thread.join(5)
    with deployment.store() as store:
        order.append("second")
        assert store.list_people() == []
    assert order == ["first", "first returned", "second"]
    deployment.close()
