"""Fixtures of the twin's tests: Ann's habits as a Maildir, ingested into a fresh store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.twin.mailboxes import add_directory, habits_mails, ingest, write_maildir
from understudy.store import Store
from understudy.twin.model import PersonTwin, train_twin


@pytest.fixture(scope="session")
def habits_maildir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Write Ann's Maildir once per run; tests copy it before they add mail."""
    return write_maildir(tmp_path_factory.mktemp("habits") / "ann", habits_mails())


@pytest.fixture(scope="session")
def long_habits_maildir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Write 200 days of Ann's mail once per run: enough to certify acting alone."""
    return write_maildir(tmp_path_factory.mktemp("long-habits") / "ann", habits_mails(days=200))


@pytest.fixture
def ann_root(habits_maildir: Path, tmp_path: Path) -> Path:
    """Return this test's own copy of Ann's Maildir."""
    return Path(shutil.copytree(habits_maildir, tmp_path / "ann"))


@pytest.fixture
def ann(store: Store, ann_root: Path) -> Store:
    """Return a store (SQLite, then PostgreSQL) holding Ann's directory and her synced mail."""
    add_directory(store)
    ingest(store, ann_root)
    return store


@pytest.fixture
def twin(ann: Store) -> PersonTwin:
    """Return Ann's twin, trained from the store."""
    return train_twin(ann, "ann")
