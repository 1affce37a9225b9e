"""Shared fixtures: a fresh UNDERSTUDY_HOME per test, and stores on every backend.

The ``store`` fixture runs each test on SQLite and on PostgreSQL. PostgreSQL
is the server on this machine (started if it is not running); each test gets
its own schema in a database made fresh for this run. ``pgvector_store`` runs
on PyPI's ``pgserver``, which bundles pgvector.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from understudy.store import Store
from understudy.store.postgres import PostgresStore
from understudy.store.sqlite import SQLiteStore

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ADMIN_URL = os.environ.get(
    "UNDERSTUDY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(autouse=True)
def _no_real_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forbid any request to a real language model; the fake server allows its own URL."""
    from understudy.llm import models

    monkeypatch.setattr(models, "ALLOW_MODEL_REQUESTS", False)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Give every test its own UNDERSTUDY_HOME and a clean environment."""
    path = tmp_path / "home"
    for name in list(os.environ):
        if name.startswith("UNDERSTUDY_") and name != "UNDERSTUDY_TEST_POSTGRES":
            monkeypatch.delenv(name)
    monkeypatch.setenv("UNDERSTUDY_HOME", str(path))
    monkeypatch.setenv("UNDERSTUDY_EMBEDDING_MODEL", "hash")
    return path


def _connect_admin() -> object:
    import psycopg

    return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)


def _start_local_postgres() -> None:
    clusters = Path("/etc/postgresql")
    if shutil.which("pg_ctlcluster") and clusters.is_dir():
        for version in sorted(p.name for p in clusters.iterdir()):
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
                check=False,
                capture_output=True,
            )


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """Create a fresh database for this test run on the machine's PostgreSQL."""
    import psycopg

    try:
        admin = _connect_admin()
    except psycopg.OperationalError:
        _start_local_postgres()
        try:
            admin = _connect_admin()
        except psycopg.OperationalError as exc:
            pytest.fail(f"PostgreSQL at {ADMIN_URL} is not reachable and would not start: {exc}")
    name = f"understudy_test_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')  # type: ignore[attr-defined]
    base, _, _ = ADMIN_URL.rpartition("/")
    yield f"{base}/{name}"
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[attr-defined]
    admin.close()  # type: ignore[attr-defined]


@pytest.fixture
def postgres_url(postgres_database: str) -> str:
    """Return a URL whose connections see a schema of their own."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{postgres_database}?options=-csearch_path%3D{schema},public"


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Yield a fresh store on each backend."""
    opened: Store
    if request.param == "sqlite":
        opened = SQLiteStore.open(tmp_path / "store.db")
    else:
        opened = PostgresStore.open(request.getfixturevalue("postgres_url"))
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def pgserver_url() -> Iterator[str]:
    """Start PyPI's pgserver (PostgreSQL 16 with pgvector) for this run.

    Its data lives in a folder of its own rather than under pytest's numbered
    temporary folders: another pytest run on the machine prunes those, and
    under root pgserver runs the server as a separate user who needs to reach
    the folder.
    """
    pgserver = pytest.importorskip("pgserver", reason="pgserver is not installed")
    directory = Path(tempfile.mkdtemp(prefix="understudy-pgserver-"))
    directory.chmod(0o755)
    server = pgserver.get_server(str(directory), cleanup_mode="stop")
    try:
        server.psql("CREATE EXTENSION IF NOT EXISTS vector SCHEMA public;")
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def pgvector_store(pgserver_url: str) -> Iterator[PostgresStore]:
    """Yield a PostgreSQL store with pgvector, in a schema of its own."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pgserver_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in pgserver_url else "?"
    opened = PostgresStore.open(f"{pgserver_url}{separator}options=-csearch_path%3D{schema},public")
    yield opened
    opened.close()


def shared_data(*parts: str) -> Path:
    """Return a path under ../shared/data, or skip the test with a clear message."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data {path} is missing; it lives beside the project in CI")
    return path
