"""The write path's statements on the DBAPI cursor of the unit of work's transaction.

SQLAlchemy manages the connection and the transaction; the few statements every write
runs go straight to the driver, because building and executing Core statements cost more
than the durable commit itself. SQL is written with :name parameters (sqlite3's named
style) and rewritten once to %(name)s for psycopg.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection

from audit.db import PREFETCHED

_NAMED = re.compile(r":(\w+)")
_PG: dict[str, str] = {}


def _key(text: str, params: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
    return text, tuple(sorted(params.items()))


class Raw:
    """A driver cursor inside a SQLAlchemy connection's current transaction."""

    def __init__(self, conn: Connection):
        self.postgres = conn.dialect.name == "postgresql"
        self._info = conn.info
        self._driver = conn.connection.driver_connection
        self.cursor = self._driver.cursor()  # type: ignore[union-attr]

    def prefetch(self, text: str, params: Mapping[str, Any]) -> None:
        """Send a read ahead. On PostgreSQL, in the unit of work's pipeline, it travels
        with whatever else is queued, and the same statement's one() or all() later in
        the transaction takes its rows without a round trip of its own (by statement and
        parameters; what was not taken is dropped when the transaction ends: see
        audit.db). On SQLite there is no round trip to save, so nothing is done."""
        if not self.postgres:
            return
        cursor = self._driver.cursor()  # type: ignore[union-attr]
        cursor.execute(self._sql(text), params)
        self._info.setdefault(PREFETCHED, {})[_key(text, params)] = cursor

    def _execute(self, text: str, params: Mapping[str, Any]) -> Any:
        ahead = self._info.get(PREFETCHED)
        if ahead:
            cursor = ahead.pop(_key(text, params), None)
            if cursor is not None:
                return cursor
        self.cursor.execute(self._sql(text), params)
        return self.cursor

    def _sql(self, text: str) -> str:
        if not self.postgres:
            return text
        found = _PG.get(text)
        if found is None:
            found = _PG.setdefault(text, _NAMED.sub(r"%(\1)s", text))
        return found

    def one(self, text: str, params: Mapping[str, Any]) -> Any:
        """The first row, or None."""
        return self._execute(text, params).fetchone()

    def all(self, text: str, params: Mapping[str, Any]) -> list[Any]:
        """Every row."""
        return list(self._execute(text, params).fetchall())

    def run(self, text: str, params: Mapping[str, Any]) -> int:
        """Execute; returns the row count."""
        self.cursor.execute(self._sql(text), params)
        return int(self.cursor.rowcount)

    def many(self, text: str, rows: Iterable[Mapping[str, Any]]) -> None:
        """Execute once per parameter set."""
        self.cursor.executemany(self._sql(text), list(rows))
