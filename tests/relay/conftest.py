"""Fixtures for the relay tests: the demo company and a real server serving it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.relay.servers import demo_home, serve


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the home of the demo company (built once per session)."""
    return demo_home(tmp_path_factory)


@pytest.fixture(scope="session")
def server(demo: Path) -> Iterator[str]:
    """Yield the base URL of ``understudy serve`` running on the demo company."""
    with serve(demo) as base:
        yield base
