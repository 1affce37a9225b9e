"""The ``sql`` connector: describe a company database, and query it read-only.

A source of kind ``sql`` is a SQLite file path (or ``sqlite:///path``) or a
``postgresql://`` URL. A sync stores one ``row`` item per table and view: its
columns and types, its row count and a few sample values per column (distinct
values of text columns, the range of numeric and date columns), so a search
for "revenue by region" finds the table that holds it. Rows themselves are
not copied; the agent reads them live with ``query_table``.

Every connection is read-only: SQLite is opened with ``mode=ro`` and
``query_only``; PostgreSQL sessions set ``default_transaction_read_only``.
Identifiers are checked against the database's own catalog before they are
quoted into SQL, and every value travels as a parameter.

Who may read which table is the source option ``table_readers``::

    {"compensation": ["group:hr"], "*": ["group:exec", "group:finance"]}

A table's item is readable by the principals listed for it (else those for
``"*"``; with no mapping, by the source's readers), plus the source's owner.
``query_table`` refuses a table unless the asker holds one of those
principals (or owns the source). A table with readers of its own is read
by them alone (``Draft.exclusive_readers``): the source's configured readers
do not widen it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

from understudy.errors import InputError, NotFound, PermissionDenied
from understudy.records import Source
from understudy.sources.base import (
    Checkpoint,
    Connector,
    Draft,
    Problem,
    Reading,
    SyncContext,
)
from understudy.store.postgres import redact_url

__all__ = [
    "MAX_QUERY_ROWS",
    "Column",
    "DatabaseUnavailable",
    "SQLConnector",
    "SQLQuery",
    "Table",
    "query_table",
    "table_readers",
]

MAX_QUERY_ROWS = 1000
SAMPLE_ROWS = 10_000
SAMPLE_VALUES = 6
_PRINCIPAL_PREFIXES = ("person:", "group:", "project:")
_NUMERIC = ("int", "real", "floa", "doub", "numeric", "decimal", "money", "serial")
_TEMPORAL = ("date", "time")
_OPAQUE = (
    *("blob", "bytea", "binary", "json", "xml", "array", "user-defined", "vector"),
    *("point", "polygon", "geometry", "box", "circle", "lseg", "path"),
)
_SCALARS = (str, int, float, bool, Decimal, date, datetime, time)


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a table: its name and declared type."""

    name: str
    type: str

    @property
    def family(self) -> str:
        """Return ``number``, ``time``, ``opaque`` or ``text``: how to summarise it."""
        declared = self.type.lower()
        if any(word in declared for word in _OPAQUE) or declared.endswith("[]"):
            return "opaque"
        if any(word in declared for word in _NUMERIC):
            return "number"
        if any(word in declared for word in _TEMPORAL):
            return "time"
        return "text"


@dataclass(frozen=True, slots=True)
class Table:
    """A table or view as the database's catalog describes it."""

    name: str
    schema: str
    kind: str
    columns: tuple[Column, ...]

    def column_names(self) -> list[str]:
        """Return the names of the columns, in order."""
        return [column.name for column in self.columns]


def table_readers(options: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Return the validated ``table_readers`` option; raise InputError if malformed."""
    raw = options.get("table_readers") or {}
    example = '{"compensation": ["group:hr"], "*": ["group:exec"]}'
    if not isinstance(raw, Mapping):
        raise InputError(f"source option table_readers must map tables to readers, e.g. {example}")
    mapping: dict[str, tuple[str, ...]] = {}
    for table, readers in raw.items():
        if isinstance(readers, str) or not isinstance(readers, Sequence):
            raise InputError(f"table_readers[{table!r}] must be a list of readers, e.g. {example}")
        bad = [r for r in readers if not (isinstance(r, str) and r.startswith(_PRINCIPAL_PREFIXES))]
        if bad:
            raise InputError(
                f"table_readers[{table!r}] has {bad[0]!r}; readers are written "
                "'group:<id>', 'person:<id>' or 'project:<id>'"
            )
        mapping[str(table)] = tuple(readers)
    return mapping


class DatabaseUnavailable(InputError):
    """A database that cannot be opened: not a database file, or unreachable."""

    def __init__(self, label: str, reason: str) -> None:
        super().__init__(f"{label}: {reason}")
        self.label = label
        self.reason = reason


# --- the two backends ---------------------------------------------------------


class _Database(ABC):
    """A read-only connection and the SQL details of one dialect."""

    mark = "?"
    label = ""

    @abstractmethod
    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one read and return its rows."""

    @abstractmethod
    def catalog(self) -> list[Table]:
        """Return the tables and views, with their columns."""

    @abstractmethod
    def close(self) -> None:
        """Close the connection."""

    def quote(self, identifier: str) -> str:
        """Return an identifier quoted for SQL; callers check it against the catalog first."""
        return '"' + identifier.replace('"', '""') + '"'

    def qualified(self, table: Table) -> str:
        """Return the quoted, schema-qualified name of a table."""
        if table.schema:
            return f"{self.quote(table.schema)}.{self.quote(table.name.rpartition('.')[2])}"
        return self.quote(table.name)


class _SQLite(_Database):
    def __init__(self, location: str) -> None:
        path = Path(location.removeprefix("sqlite:///")).expanduser()
        self.label = str(path)
        if not path.is_file():
            raise DatabaseUnavailable(self.label, "no such database file")
        uri = f"file:{quote(str(path.resolve()))}?mode=ro"
        self.connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
        try:
            self.connection.execute("PRAGMA query_only = 1")
            self.connection.execute("SELECT count(*) FROM sqlite_master").fetchall()
        except sqlite3.Error as exc:
            self.connection.close()
            raise DatabaseUnavailable(self.label, f"not a SQLite database ({exc})") from None

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one read and return its rows."""
        return list(self.connection.execute(sql, tuple(params)).fetchall())

    def catalog(self) -> list[Table]:
        """Return the tables and views, with their columns."""
        tables: list[Table] = []
        found = self.rows(
            """SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view')
            AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"""
        )
        for name, kind in found:
            columns = self.rows("SELECT name, type FROM pragma_table_info(?) ORDER BY cid", [name])
            tables.append(Table(name, "", kind, tuple(Column(c, t or "") for c, t in columns)))
        return tables

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()


class _Postgres(_Database):
    mark = "%s"

    def __init__(self, location: str) -> None:
        import psycopg

        self.label = redact_url(location)
        try:
            self.connection = psycopg.connect(location, autocommit=True, connect_timeout=10)
            # With autocommit every statement is its own transaction, so the session
            # default makes each of them read-only.
            self.connection.execute("SET default_transaction_read_only = on")
            self.connection.execute("SET statement_timeout = 60000")
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DatabaseUnavailable(self.label, f"cannot connect ({redact_url(first)})") from None

    def quote(self, identifier: str) -> str:
        """Return an identifier quoted for SQL, with % doubled for psycopg's placeholders."""
        return super().quote(identifier).replace("%", "%%")

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one read and return its rows."""
        # Parameters are always passed, so psycopg reads %% in quoted names as %.
        return list(self.connection.execute(sql, list(params)).fetchall())

    def catalog(self) -> list[Table]:
        """Return the tables and views on the search path, with their columns."""
        default = str(self.rows("SELECT current_schema()")[0][0])
        found = self.rows(
            """SELECT c.table_schema, c.table_name, t.table_type, c.column_name,
                CASE WHEN c.data_type IN ('ARRAY', 'USER-DEFINED') THEN c.udt_name
                ELSE c.data_type END
            FROM information_schema.columns c JOIN information_schema.tables t
                ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = ANY(current_schemas(false))
            ORDER BY c.table_schema, c.table_name, c.ordinal_position"""
        )
        grouped: dict[tuple[str, str], tuple[str, list[Column]]] = {}
        for schema, name, kind, column, declared in found:
            entry = grouped.setdefault((schema, name), (kind, []))
            entry[1].append(Column(column, str(declared)))
        return [
            Table(
                name if schema == default else f"{schema}.{name}",
                schema,
                "view" if kind == "VIEW" else "table",
                tuple(columns),
            )
            for (schema, name), (kind, columns) in grouped.items()
        ]

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()


def _open(location: str) -> _Database:
    if location.startswith(("postgresql://", "postgres://")):
        return _Postgres(location)
    return _SQLite(location)


# --- describing and querying --------------------------------------------------


def _shown(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(bytes(value))} bytes>"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    text = " ".join(str(value).split())
    return text if len(text) <= 60 else text[:57] + "..."


class SQLQuery:
    """A read-only view of one database: its tables, their descriptions, and rows."""

    def __init__(
        self,
        location: str,
        readers: Mapping[str, Sequence[str]] | None = None,
        owner: str | None = None,
    ) -> None:
        self.location = location
        self.readers = {table: tuple(r) for table, r in (readers or {}).items()}
        self.owner = owner
        self._database = _open(location)
        self._tables: dict[str, Table] | None = None

    @classmethod
    def for_source(cls, source: Source) -> SQLQuery:
        """Open the database of a ``sql`` source with its table readers and owner."""
        return cls(source.location, table_readers(source.options), source.owner)

    def __enter__(self) -> SQLQuery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self._database.close()

    @property
    def label(self) -> str:
        """Return the database's location, without any password."""
        return self._database.label

    def tables(self) -> list[Table]:
        """Return the tables and views, by name."""
        if self._tables is None:
            self._tables = {table.name: table for table in self._database.catalog()}
        return list(self._tables.values())

    def table(self, name: str) -> Table:
        """Return one table by name; raise NotFound naming the tables there are."""
        self.tables()
        found = (self._tables or {}).get(name)
        if found is None:
            known = ", ".join(sorted(self._tables or {})[:30]) or "none"
            raise NotFound(f"no table {name!r} in {self.label}; tables: {known}")
        return found

    def readers_of(self, table: str) -> tuple[str, ...] | None:
        """Return who may read ``table`` by the ``table_readers`` option; None if unrestricted."""
        if table in self.readers:
            return self.readers[table]
        return self.readers.get("*")

    def check_access(self, table: str, asker: Collection[str]) -> None:
        """Raise PermissionDenied unless ``asker`` holds a principal that may read ``table``."""
        allowed = self.readers_of(table)
        if allowed is None:
            return
        if self.owner and f"person:{self.owner}" in asker:
            return
        if not set(asker) & set(allowed):
            raise PermissionDenied(
                f"table {table!r} of {self.label} is not open to you; ask the owner of "
                "this source to list one of your groups for it in table_readers"
            )

    def query(
        self,
        table: str,
        columns: Sequence[str] | None = None,
        where: Mapping[str, Any] | None = None,
        limit: int = 100,
        asker: Collection[str] = (),
    ) -> list[dict[str, Any]]:
        """Return up to ``limit`` rows of ``table`` whose columns equal ``where``'s values."""
        self.check_access(table, asker)
        found = self.table(table)
        known = found.column_names()
        wanted = list(columns) if columns else known
        unknown = [c for c in [*wanted, *(where or {})] if c not in known]
        if unknown:
            raise InputError(
                f"no column {unknown[0]!r} in table {table!r}; columns: {', '.join(known)}"
            )
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InputError(f"limit must be a positive whole number, not {limit!r}")
        db = self._database
        conditions, params = _conditions(db, where or {})
        sql = (
            f"SELECT {', '.join(db.quote(c) for c in wanted)} FROM {db.qualified(found)}"
            f"{conditions} LIMIT {db.mark}"
        )
        rows = db.rows(sql, [*params, min(limit, MAX_QUERY_ROWS)])
        return [dict(zip(wanted, row, strict=True)) for row in rows]

    def describe(self, table: Table) -> tuple[str, int]:
        """Return a readable description of ``table`` and its row count."""
        db = self._database
        source = db.qualified(table)
        count = int(db.rows(f"SELECT count(*) FROM {source}")[0][0])
        ranges = self._ranges(table, source)
        kind = table.kind.capitalize()
        lines = [f"{kind} {table.name} in {self.label}: {count:,} rows.", "Columns:"]
        for column in table.columns:
            summary = ranges.get(column.name) or self._samples(column, source)
            line = f"- {column.name} ({column.type or 'any'})"
            lines.append(f"{line}: {summary}" if summary else line)
        return "\n".join(lines), count

    def _ranges(self, table: Table, source: str) -> dict[str, str]:
        ranged = [c for c in table.columns if c.family in ("number", "time")]
        if not ranged:
            return {}
        db = self._database
        parts = ", ".join(f"min({db.quote(c.name)}), max({db.quote(c.name)})" for c in ranged)
        try:
            row = db.rows(f"SELECT {parts} FROM {source}")[0]
        except Exception:  # a type without an order (say, a custom one) just has no range
            return {}
        found: dict[str, str] = {}
        for index, column in enumerate(ranged):
            low, high = row[2 * index], row[2 * index + 1]
            if low is not None:
                found[column.name] = f"from {_shown(low)} to {_shown(high)}"
        return found

    def _samples(self, column: Column, source: str) -> str:
        if column.family != "text":
            return ""
        db = self._database
        name = db.quote(column.name)
        sql = (
            f"SELECT DISTINCT v FROM (SELECT {name} AS v FROM {source} LIMIT {db.mark}) s "
            f"WHERE v IS NOT NULL ORDER BY v LIMIT {db.mark}"
        )
        try:
            values = [row[0] for row in db.rows(sql, [SAMPLE_ROWS, SAMPLE_VALUES + 1])]
        except Exception:  # a type without equality cannot be sampled; describe the rest
            return ""
        shown = ", ".join(_shown(v) for v in values[:SAMPLE_VALUES])
        if not shown:
            return ""
        return f"e.g. {shown}" + (", ..." if len(values) > SAMPLE_VALUES else "")


def _conditions(db: _Database, where: Mapping[str, Any]) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    for column, value in where.items():
        name = db.quote(column)
        if value is None:
            parts.append(f"{name} IS NULL")
        elif isinstance(value, list | tuple | set | frozenset):
            values = list(value)
            if not values or not all(isinstance(v, _SCALARS) for v in values):
                raise InputError(f"where[{column!r}] must list plain values")
            parts.append(f"{name} IN ({', '.join(db.mark for _ in values)})")
            params.extend(values)
        elif isinstance(value, _SCALARS):
            parts.append(f"{name} = {db.mark}")
            params.append(value)
        else:
            raise InputError(f"where[{column!r}] must be a plain value or a list of them")
    return (" WHERE " + " AND ".join(parts) if parts else ""), params


def query_table(
    location: str | Source,
    table: str,
    columns: Sequence[str] | None = None,
    where: Mapping[str, Any] | None = None,
    limit: int = 100,
    *,
    asker: Collection[str] = (),
    readers: Mapping[str, Sequence[str]] | None = None,
) -> list[dict[str, Any]]:
    """Return rows of one table, read-only, if ``asker`` may read it.

    ``location`` is a ``sql`` source (whose ``table_readers`` option and owner
    apply) or a database location with ``readers`` in the same shape.
    ``asker`` lists the asker's principals: ``person:<id>`` and their
    ``group:<id>``s. ``where`` maps columns to a value (``None`` matches
    NULL; a list matches any of its values).
    """
    if isinstance(location, Source):
        opened = SQLQuery.for_source(location)
    else:
        opened = SQLQuery(location, readers)
    with opened:
        return opened.query(table, columns, where, limit, asker)


# --- the connector -------------------------------------------------------------


class SQLConnector(Connector):
    """Describe each table and view of a SQLite or PostgreSQL database as one item."""

    kind: ClassVar[str] = "sql"
    item_kinds: ClassVar[tuple[str, ...]] = ("row",)
    description: ClassVar[str] = (
        "A company database (SQLite file or PostgreSQL URL), read-only: one item per table "
        "describing its columns, size and sample values; rows are queried live."
    )
    location_help: ClassVar[str] = "a SQLite file path or a postgresql:// URL"

    def __init__(self, source: Source, context: SyncContext | None = None) -> None:
        super().__init__(source, context)
        self._opened: SQLQuery | None = None
        self._failure: DatabaseUnavailable | None = None

    def _connect(self) -> SQLQuery:
        """Open the database once per sync, so an unreachable server times out once."""
        if self._failure is not None:
            raise self._failure
        if self._opened is None:
            try:
                readers = table_readers(self.source.options)
                self._opened = SQLQuery(self.source.location, readers, self.source.owner)
            except DatabaseUnavailable as exc:
                self._failure = exc
                raise
        return self._opened

    def estimate(self, cursor: dict[str, Any]) -> int | None:
        """Return how many tables and views the database has."""
        try:
            return len(self._connect().tables())
        except Exception:  # read() reports why; a progress bar can do without a total
            return None

    def read(self, cursor: dict[str, Any]) -> Iterator[Reading]:
        """Yield one draft per table and view, described afresh."""
        try:
            opened = self._connect()
        except DatabaseUnavailable as exc:
            yield Problem(exc.label, exc.reason)
            return
        except InputError as exc:
            yield Problem(redact_url(self.source.location), exc.message)
            return
        described: dict[str, Any] = {}
        with opened:
            try:
                tables = opened.tables()
            except Exception as exc:  # a database driver raises its own error types
                yield Problem(opened.label, f"cannot list tables ({_first_line(exc)})")
                return
            for table in tables:
                yield from self._describe(opened, table, cursor, described)
        self._opened = None
        yield Checkpoint({"tables": described})

    def _describe(
        self, opened: SQLQuery, table: Table, cursor: dict[str, Any], described: dict[str, Any]
    ) -> Iterator[Reading]:
        try:
            body, count = opened.describe(table)
        except Exception as exc:  # a broken view or a permission error stays with its table
            yield Problem(f"{opened.label}#{table.name}", f"cannot describe ({_first_line(exc)})")
            return
        metadata: dict[str, Any] = {
            "table": table.name,
            "schema": table.schema,
            "table_type": table.kind,
            "columns": [{"name": c.name, "type": c.type} for c in table.columns],
            "row_count": count,
            "database": opened.label,
        }
        allowed = opened.readers_of(table.name) or ()
        digest = _digest(body, metadata, allowed)
        before = cursor.get("tables", {}).get(table.name, {})
        # The item's time is when its description last changed, so an unchanged
        # table hashes the same and a re-sync adds nothing.
        at = before.get("at") if before.get("digest") == digest else None
        at = at or datetime.now(UTC).isoformat()
        described[table.name] = {"digest": digest, "at": at}
        yield Draft(
            external_id=table.name,
            kind="row",
            timestamp=datetime.fromisoformat(at),
            title=table.name,
            body=body,
            readers=allowed,
            metadata=metadata,
            # A table with readers of its own is read by them alone, not also by
            # everyone the source lets read the other tables.
            exclusive_readers=bool(allowed),
        )


def _digest(body: str, metadata: dict[str, Any], readers: Sequence[str]) -> str:
    payload = json.dumps([body, metadata, sorted(readers)], sort_keys=True, default=str)
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=16).hexdigest()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return redact_url(text.splitlines()[0]) if text else type(exc).__name__
