"""Fixtures of the agent's tests: Acme loaded through the pipeline, a real SMTP server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent import acme
from tests.agent.habits import load_habits
from tests.agent.smtp import SMTPServer, running_smtp
from understudy.store import Store
from understudy.store.postgres import PostgresStore
from understudy.store.sqlite import SQLiteStore
from understudy.twin.model import PersonTwin


@pytest.fixture(scope="session")
def acme_files(tmp_path_factory: pytest.TempPathFactory) -> acme.Files:
    """Write Acme's mail, documents, calendar, chat, tasks and database once per run."""
    return acme.write_files(tmp_path_factory.mktemp("acme"))


@pytest.fixture
def org(store: Store, acme_files: acme.Files) -> Store:
    """Return a fresh store (SQLite, then PostgreSQL) holding all of Acme."""
    return acme.load(store, acme_files)


@pytest.fixture
def local_org(tmp_path: Path, acme_files: acme.Files) -> Iterator[Store]:
    """Return Acme in a fresh SQLite store, for tests of behaviour rather than data paths."""
    opened = SQLiteStore.open(tmp_path / "local.db")
    yield acme.load(opened, acme_files)
    opened.close()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def shared_org(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    acme_files: acme.Files,
) -> Iterator[Store]:
    """Return Acme in a store shared by one module's tests, on each backend.

    For tests that only read, or that only check what must never be there.
    """
    opened: Store
    if request.param == "sqlite":
        opened = SQLiteStore.open(tmp_path_factory.mktemp("shared") / "store.db")
    else:
        import psycopg

        database = request.getfixturevalue("postgres_database")
        schema = f"m_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        opened = PostgresStore.open(f"{database}?options=-csearch_path%3D{schema},public")
    yield acme.load(opened, acme_files)
    opened.close()


@pytest.fixture
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SMTPServer]:
    """Run a real SMTP server on loopback and point UNDERSTUDY_SMTP_URL at it."""
    with running_smtp() as server:
        monkeypatch.setenv("UNDERSTUDY_SMTP_URL", server.url)
        yield server


@pytest.fixture
def outbox(home: Path) -> Path:
    """Return where unsent mail, invitations and tasks are written."""
    return home / "outbox"


@pytest.fixture(scope="module")
def ann(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, PersonTwin]]:
    """Return a store with Ann's habits and her twin, certified to reply alone."""
    folder = tmp_path_factory.mktemp("ann")
    store = SQLiteStore.open(folder / "store.db")
    twin = load_habits(store, folder / "mail")
    yield store, twin
    store.close()
