"""Generation is reproducible, refuses to clobber foreign folders, and reports progress."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from understudy.demo import DemoManifest, generate_demo
from understudy.errors import InputError

SATURDAY = date(2026, 11, 21)


def tree_digest(root: Path) -> str:
    """Hash every path, file content and mtime under ``root``."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        stat = path.stat()
        digest.update(str(path.relative_to(root)).encode())
        digest.update(str(stat.st_mtime_ns).encode())
        if path.is_file():
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def saturday(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, DemoManifest]:
    """Generate seed 11 on a Saturday once; return its root, digest and manifest."""
    root = tmp_path_factory.mktemp("saturday") / "demo"
    started = time.perf_counter()
    manifest = generate_demo(root, seed=11, today=SATURDAY)
    print(f"\ngeneration took {time.perf_counter() - started:.2f} s")
    return root, tree_digest(root), manifest


def test_same_seed_and_day_give_identical_files_and_mtimes(
    tmp_path: Path, saturday: tuple[Path, str, DemoManifest]
) -> None:
    seen: dict[str, tuple[int, int]] = {}
    again = generate_demo(
        tmp_path / "demo",
        seed=11,
        today=SATURDAY,
        progress=lambda s, d, t: seen.update({s: (d, t)}),
    )
    assert again == saturday[2]
    assert tree_digest(tmp_path / "demo") == saturday[1]
    stages = {"story", "mail", "calendar", "chat", "documents", "tasks", "figures", "manifest"}
    assert set(seen) == stages
    assert all(done == total for done, total in seen.values())


def test_another_process_with_another_hash_seed_gives_the_same_tree(
    tmp_path: Path, saturday: tuple[Path, str, DemoManifest]
) -> None:
    script = (
        "import sys; from datetime import date; from pathlib import Path; "
        "from understudy.demo import generate_demo; "
        "generate_demo(Path(sys.argv[1]), seed=11, today=date(2026, 11, 21))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "demo")], check=True, env=env)
    assert tree_digest(tmp_path / "demo") == saturday[1]


def test_a_different_seed_gives_a_different_company_story(
    tmp_path: Path, saturday: tuple[Path, str, DemoManifest]
) -> None:
    other = generate_demo(tmp_path / "demo", seed=12, today=SATURDAY)
    assert tree_digest(tmp_path / "demo") != saturday[1]
    assert other.counts != saturday[2].counts
    tracker = (tmp_path / "demo" / "tasks" / "tracker.csv").read_bytes()
    assert tracker != (saturday[0] / "tasks" / "tracker.csv").read_bytes()


def test_regenerating_over_a_demo_leaves_it_identical(
    tmp_path: Path, saturday: tuple[Path, str, DemoManifest]
) -> None:
    root = tmp_path / "demo"
    shutil.copytree(saturday[0], root)
    (root / "stale.txt").write_text("left over")
    (root / "mail" / "maya-okafor" / "cur" / "junk").write_text("junk")
    generate_demo(root, seed=11, today=SATURDAY)
    assert tree_digest(root) == saturday[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


def test_a_folder_that_is_not_a_demo_is_left_alone(tmp_path: Path) -> None:
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match=r"no demo manifest\.json"):
        generate_demo(precious, seed=7, today=SATURDAY)
    assert (precious / "notes.txt").read_text() == "mine"


def test_manifest_round_trips_through_json(manifest: DemoManifest, demo_root: Path) -> None:
    text = (demo_root / "manifest.json").read_text(encoding="utf-8")
    assert DemoManifest.from_json(text) == manifest
    assert DemoManifest.from_json(manifest.to_json()) == manifest


def test_tree_stays_small(demo_root: Path, manifest: DemoManifest) -> None:
    files = [p for p in demo_root.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    print(f"\n{len(files)} files, {size / 1e6:.1f} MB, counts {manifest.counts}")
    assert size < 40_000_000
    assert manifest.counts["files"] == len(files)
    assert 1000 <= manifest.counts["messages"] <= 1600
