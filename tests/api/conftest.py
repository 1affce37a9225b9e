"""Fixtures for the API tests: the demo company, served in process and over a socket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.relay.servers import demo_home, serve, settings_for
from understudy.api import create_app


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the home of the demo company (built once per session)."""
    return demo_home(tmp_path_factory)


@pytest.fixture(scope="session")
def server(demo: Path) -> Iterator[str]:
    """Yield the base URL of ``understudy serve`` running on the demo company."""
    with serve(demo) as base:
        yield base


@pytest.fixture(scope="module")
def app(demo: Path) -> FastAPI:
    """Return the server app for the demo company."""
    return create_app(settings_for(demo))


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    """Yield an in-process client of the app (lifespan included)."""
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
