"""The ``sql`` connector: table descriptions, table readers, live read-only queries, bad input."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from understudy.errors import InputError, NotFound, PermissionDenied
from understudy.records import Group, Item, Person, Principal, Source
from understudy.sources.pipeline import add_source, sync
from understudy.sources.sql import SQLQuery, query_table
from understudy.store import ItemFilter, Store

TABLE_READERS = {"compensation": ["group:hr"], "*": ["group:exec", "group:finance"]}
FINANCE = ("person:fay", "group:finance")
HR = ("person:hal", "group:hr")

SCHEMA = [
    "CREATE TABLE revenue (region TEXT, amount REAL, booked_on DATE)",
    "CREATE TABLE compensation (person TEXT, salary INTEGER)",
    'CREATE TABLE "odd ""quoted"" table" ("growth%" REAL, note TEXT)',
    """CREATE VIEW revenue_by_region AS
        SELECT region, sum(amount) AS total FROM revenue GROUP BY region""",
]
ROWS = [
    "INSERT INTO revenue VALUES ('North', 120.5, '2026-01-03'), ('South', 80, '2026-02-10'),"
    " ('East', 99000, '2026-03-30'), ('North', 10.5, '2026-01-05'), ('West', NULL, NULL)",
    "INSERT INTO compensation VALUES ('ann', 150000), ('bo', 120000)",
    """INSERT INTO "odd ""quoted"" table" VALUES (0.25, 'first'), (0.5, NULL)""",
]


def org(store: Store) -> None:
    """Add the owner Ann, Fay in finance, Hal in HR and Cy in no group."""
    for group in ("finance", "hr", "exec"):
        store.upsert_group(Group(id=group, name=group.upper()))
    store.upsert_person(Person(id="ann", name="Ann Lee", emails=("ann@co.example",)))
    store.upsert_person(Person(id="fay", name="Fay Fox", groups=("finance",)))
    store.upsert_person(Person(id="hal", name="Hal Hu", groups=("hr",)))
    store.upsert_person(Person(id="cy", name="Cy Diaz"))


def company_sqlite(path: Path) -> Path:
    """Create the company database as a SQLite file."""
    with sqlite3.connect(path) as connection:
        for statement in [*SCHEMA, *ROWS]:
            connection.execute(statement)
    connection.close()
    return path


@pytest.fixture
def company_postgres(postgres_database: str) -> Iterator[str]:
    """Yield a URL whose search path is a schema holding the company tables."""
    schema = f"company_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_database, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
        connection.execute(f"SET search_path = {schema}")
        for statement in [*SCHEMA, *ROWS]:
            connection.execute(statement.replace("REAL", "NUMERIC"))
    yield f"{postgres_database}?options=-csearch_path%3D{schema}"
    with psycopg.connect(postgres_database, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def company(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return the location of the company database, as a SQLite file or a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(company_sqlite(tmp_path / "company.db"))
    return str(request.getfixturevalue("company_postgres"))


def tables(store: Store, principal: Principal, source: Source) -> dict[str, Item]:
    """Return the table items ``principal`` may read, by table name."""
    found = store.list_items(principal, ItemFilter(source_id=source.id))
    return {item.external_id: item for item in found}


def test_each_table_and_view_is_described(store: Store, company: str) -> None:
    org(store)
    source = add_source(store, "sql", company, owner="ann")
    report = sync(store, source)
    assert (report.added, report.problems) == (4, 0)
    items = tables(store, Principal.person("ann"), source)
    assert sorted(items) == ["compensation", 'odd "quoted" table', "revenue", "revenue_by_region"]
    revenue = items["revenue"]
    assert revenue.kind == "row"
    assert revenue.title == "revenue"
    assert revenue.metadata["row_count"] == 5
    assert revenue.metadata["table"] == "revenue"
    assert [c["name"] for c in revenue.metadata["columns"]] == ["region", "amount", "booked_on"]
    assert "5 rows" in revenue.body
    assert "- region (" in revenue.body
    assert "e.g. East, North, South, West" in revenue.body
    assert "from 10.5 to 99000" in revenue.body
    assert "from 2026-01-03 to 2026-03-30" in revenue.body
    assert items["revenue_by_region"].metadata["table_type"] == "view"
    assert items["revenue_by_region"].body.startswith("View revenue_by_region")
    assert "from 0.25 to 0.5" in items['odd "quoted" table'].body


def test_the_password_never_reaches_the_store(store: Store, company_postgres: str) -> None:
    org(store)
    source = add_source(store, "sql", company_postgres, owner="ann")
    sync(store, source)
    (item, *_) = tables(store, Principal.person("ann"), source).values()
    assert item.metadata["database"].startswith("postgresql://")
    assert "rows." in item.body


def test_a_second_sync_adds_nothing_and_new_rows_supersede(tmp_path: Path, store: Store) -> None:
    org(store)
    path = company_sqlite(tmp_path / "company.db")
    source = add_source(store, "sql", str(path), owner="ann")
    sync(store, source)
    again = sync(store, store.get_source(source.id or 0))
    assert (again.added, again.unchanged) == (0, 4)
    with sqlite3.connect(path) as connection:
        connection.execute("INSERT INTO revenue VALUES ('Central', 5, '2026-04-01')")
    connection.close()
    changed = sync(store, store.get_source(source.id or 0))
    assert (changed.added, changed.superseded) == (2, 2)  # the table and the view over it
    assert tables(store, Principal.person("ann"), source)["revenue"].metadata["row_count"] == 6


def table_source(store: Store, location: str) -> Source:
    """Register a source whose tables are split between HR and finance."""
    return store.add_source(
        Source(kind="sql", location=location, owner="ann", options={"table_readers": TABLE_READERS})
    )


def test_table_readers_decide_who_sees_each_table(store: Store, company: str) -> None:
    org(store)
    source = table_source(store, company)
    sync(store, source)
    everything = tables(store, Principal.person("ann"), source)
    assert everything["compensation"].readers == {"person:ann", "group:hr"}
    assert everything["revenue"].readers == {"person:ann", "group:exec", "group:finance"}
    assert sorted(tables(store, Principal.person("hal"), source)) == ["compensation"]
    assert "compensation" not in tables(store, Principal.person("fay"), source)
    assert len(tables(store, Principal.person("fay"), source)) == 3
    assert tables(store, Principal.person("cy"), source) == {}


def test_query_table_reads_rows_with_parameters(store: Store, company: str) -> None:
    org(store)
    source = table_source(store, company)
    rows = query_table(source, "revenue", ["region", "amount"], {"region": "North"}, asker=FINANCE)
    assert sorted(float(r["amount"]) for r in rows) == [10.5, 120.5]
    assert set(rows[0]) == {"region", "amount"}
    several = query_table(source, "revenue", where={"region": ["East", "West"]}, asker=FINANCE)
    assert sorted(r["region"] for r in several) == ["East", "West"]
    missing = query_table(source, "revenue", ["region"], {"amount": None}, asker=FINANCE)
    assert missing == [{"region": "West"}]
    assert len(query_table(source, "revenue", limit=2, asker=FINANCE)) == 2
    odd = query_table(source, 'odd "quoted" table', ["growth%"], {"note": "first"}, asker=FINANCE)
    assert [float(r["growth%"]) for r in odd] == [0.25]
    injected = {"region": "North' OR '1'='1"}
    assert query_table(source, "revenue", where=injected, asker=FINANCE) == []


def test_query_table_refuses_tables_the_asker_may_not_read(store: Store, company: str) -> None:
    org(store)
    source = table_source(store, company)
    with pytest.raises(PermissionDenied, match=r"table 'compensation' .* is not open to you"):
        query_table(source, "compensation", asker=FINANCE)
    with pytest.raises(PermissionDenied):
        query_table(source, "revenue", asker=HR)
    with pytest.raises(PermissionDenied):
        query_table(source, "revenue")
    assert len(query_table(source, "compensation", asker=HR)) == 2
    assert len(query_table(source, "compensation", asker=("person:ann",))) == 2


def test_query_table_checks_names_against_the_schema(store: Store, company: str) -> None:
    org(store)
    source = table_source(store, company)
    with pytest.raises(NotFound, match="no table 'revenue; DROP TABLE revenue'"):
        query_table(source, "revenue; DROP TABLE revenue", asker=FINANCE)
    with pytest.raises(InputError, match="no column 'amount\\) OR 1=1 --'"):
        query_table(source, "revenue", where={"amount) OR 1=1 --": 1}, asker=FINANCE)
    with pytest.raises(InputError, match="no column 'password'"):
        query_table(source, "revenue", ["password"], asker=FINANCE)
    with pytest.raises(InputError, match="limit"):
        query_table(source, "revenue", limit=0, asker=FINANCE)
    with pytest.raises(InputError, match="plain value"):
        query_table(source, "revenue", where={"region": {"$ne": 1}}, asker=FINANCE)
    assert len(query_table(source, "revenue", asker=FINANCE)) == 5


def test_connections_are_read_only(company: str) -> None:
    with SQLQuery(company) as opened, pytest.raises((sqlite3.Error, psycopg.Error)):
        opened._database.rows("DELETE FROM revenue")
    with SQLQuery(company) as opened:
        assert len(opened.query("revenue")) == 5


def test_a_file_that_is_not_a_database_is_a_problem(store: Store, tmp_path: Path) -> None:
    org(store)
    path = tmp_path / "notes.db"
    path.write_text("this is not a database " * 100, encoding="utf-8")
    source = add_source(store, "sql", str(path), owner="ann")
    report = sync(store, source)
    assert (report.added, report.problems) == (0, 1)
    (error,) = store.source_errors(source.id or 0)
    assert error.location == str(path)
    assert error.reason.startswith("not a SQLite database")


def test_a_missing_file_is_a_problem(store: Store, tmp_path: Path) -> None:
    org(store)
    source = add_source(store, "sql", str(tmp_path / "gone.db"), owner="ann")
    sync(store, source)
    (error,) = store.source_errors(source.id or 0)
    assert error.reason == "no such database file"


def test_an_unreachable_url_is_a_problem_without_its_password(store: Store) -> None:
    org(store)
    url = "postgresql://reporter:s3cret-pw@127.0.0.1:1/company"
    source = add_source(store, "sql", url, owner="ann")
    report = sync(store, source)
    assert (report.added, report.problems) == (0, 1)
    (error,) = store.source_errors(source.id or 0)
    assert error.location == "postgresql://reporter:***@127.0.0.1:1/company"
    assert error.reason.startswith("cannot connect")
    assert "s3cret" not in error.reason
    assert "s3cret" not in (store.get_source(source.id or 0).last_error or "")


def test_malformed_table_readers_stop_the_sync(store: Store, tmp_path: Path) -> None:
    org(store)
    path = company_sqlite(tmp_path / "company.db")
    source = store.add_source(
        Source(kind="sql", location=str(path), owner="ann", options={"table_readers": {"*": "hr"}})
    )
    report = sync(store, source)
    assert (report.added, report.problems) == (0, 1)
    assert "must be a list of readers" in store.source_errors(source.id or 0)[0].reason
