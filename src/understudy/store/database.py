"""A thin connection wrapper so that one SQL text runs on SQLite and PostgreSQL.

SQL is written once with ``:name`` parameters. PostgreSQL gets it converted
to ``%(name)s``; SQLite runs it as written. Values are adapted per dialect:
times, JSON and booleans.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal, Protocol

from understudy.records import utc

__all__ = ["Database", "Dialect", "Row", "from_json", "in_ids", "parse_time"]

Dialect = Literal["sqlite", "postgres"]
Row = Mapping[str, Any]
Params = Mapping[str, Any]

_PLAIN = frozenset({str, int, float, bool, bytes})
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=1024)
def _to_pyformat(sql: str) -> str:
    return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))


def in_ids(dialect: Dialect, column: str, name: str) -> str:
    """Return the condition that ``column`` is one of the ids in parameter ``name``."""
    if dialect == "sqlite":
        return f"{column} IN (SELECT value FROM json_each(:{name}))"
    return f"{column} = ANY(CAST(:{name} AS BIGINT[]))"


def parse_time(value: Any) -> datetime | None:
    """Return a stored time as an aware UTC datetime."""
    if value is None or isinstance(value, datetime):
        return None if value is None else utc(value)
    moment = datetime.fromisoformat(str(value))
    return utc(moment)


def from_json(value: Any) -> Any:
    """Return a stored JSON value as Python data."""
    if value is None:
        return None
    if isinstance(value, str | bytes | bytearray):
        return json.loads(value)
    return value


class _Cursor(Protocol):
    def fetchall(self) -> Sequence[Any]: ...
    def fetchone(self) -> Any: ...
    @property
    def rowcount(self) -> int: ...


class Database:
    """One connection, one dialect, and the adapters between them."""

    def __init__(self, connection: Any, dialect: Dialect, location: str) -> None:
        self.connection = connection
        self.dialect: Dialect = dialect
        self.location = location
        self.lock = threading.RLock()
        self._depth = 0

    def adapt(self, value: Any) -> Any:
        """Adapt one Python value for this dialect."""
        if value is None or type(value) in _PLAIN:
            return value
        if isinstance(value, datetime):
            moment = utc(value)
            if self.dialect == "sqlite":
                return moment.strftime("%Y-%m-%d %H:%M:%S.%f+00:00")
            return moment
        if isinstance(value, dict | list) and self.dialect == "sqlite":
            return json.dumps(value, default=str)
        if isinstance(value, dict | list):
            from psycopg.types.json import Jsonb

            return Jsonb(value)
        return value

    def in_ids(self, column: str, name: str) -> str:
        """Return the condition that ``column`` is one of the ids in parameter ``name``.

        The ids go in as one parameter (``ids_value``), so the SQL text stays
        the same whatever their number and its prepared statement is reused.
        """
        return in_ids(self.dialect, column, name)

    def ids_value(self, ids: Iterable[int]) -> str:
        """Return ``ids`` as the value of an ``in_ids`` parameter."""
        joined = ",".join(str(int(i)) for i in ids)
        return f"[{joined}]" if self.dialect == "sqlite" else "{" + joined + "}"

    def _params(self, params: Params | None) -> dict[str, Any]:
        return {key: self.adapt(value) for key, value in (params or {}).items()}

    def _sql(self, sql: str) -> str:
        return sql if self.dialect == "sqlite" else _to_pyformat(sql)

    def execute(self, sql: str, params: Params | None = None) -> _Cursor:
        """Run one statement and return its cursor."""
        with self.lock:
            cursor: _Cursor = self.connection.execute(self._sql(sql), self._params(params))
            return cursor

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        """Run one statement for many parameter sets."""
        if not rows:
            return
        with self.lock:
            adapted = [self._params(row) for row in rows]
            if self.dialect == "sqlite":
                self.connection.executemany(sql, adapted)
            else:
                with self.connection.cursor() as cursor:
                    cursor.executemany(_to_pyformat(sql), adapted)

    def rows(self, sql: str, params: Params | None = None) -> list[dict[str, Any]]:
        """Run a query and return its rows as dictionaries."""
        cursor = self.execute(sql, params)
        return [dict(row) for row in cursor.fetchall()]

    def row(self, sql: str, params: Params | None = None) -> dict[str, Any] | None:
        """Run a query and return its first row, or None."""
        found = self.execute(sql, params).fetchone()
        return None if found is None else dict(found)

    def scalar(self, sql: str, params: Params | None = None) -> Any:
        """Run a query and return the first column of its first row."""
        found = self.row(sql, params)
        return None if found is None else next(iter(found.values()))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block in one transaction; nested blocks join the outer one."""
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._depth = 1
            try:
                if self.dialect == "sqlite":
                    self.connection.execute("BEGIN IMMEDIATE")
                    try:
                        yield
                    except BaseException:
                        self.connection.execute("ROLLBACK")
                        raise
                    self.connection.execute("COMMIT")
                else:
                    with self.connection.transaction():
                        yield
            finally:
                self._depth = 0

    def close(self) -> None:
        """Close the connection."""
        with self.lock:
            self.connection.close()


def now_utc() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)


def sqlite_row_factory(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> dict[str, Any]:
    """Return SQLite rows as dictionaries keyed by column name."""
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}
