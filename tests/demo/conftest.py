"""One generated demo company, shared by the tests that only read it."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest

from understudy.demo import DemoManifest, generate_demo

TODAY = date(2026, 11, 17)
SEED = 7


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoManifest]:
    """Generate the demo once for the session and return its root and manifest."""
    root = tmp_path_factory.mktemp("demo") / "demo"
    started = time.perf_counter()
    manifest = generate_demo(root, seed=SEED, today=TODAY)
    print(f"\ngenerated the demo in {time.perf_counter() - started:.2f} s")
    return root, manifest


@pytest.fixture
def demo_root(generated: tuple[Path, DemoManifest]) -> Path:
    """Return the root folder of the generated demo."""
    return generated[0]


@pytest.fixture
def manifest(generated: tuple[Path, DemoManifest]) -> DemoManifest:
    """Return the manifest of the generated demo."""
    return generated[1]
