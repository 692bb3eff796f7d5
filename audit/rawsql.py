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

_NAMED = re.compile(r":(\w+)")
_PG: dict[str, str] = {}


class Raw:
    """A driver cursor inside a SQLAlchemy connection's current transaction."""

    def __init__(self, conn: Connection):
        self.postgres = conn.dialect.name == "postgresql"
        self.cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]

    def _sql(self, text: str) -> str:
        if not self.postgres:
            return text
        found = _PG.get(text)
        if found is None:
            found = _PG.setdefault(text, _NAMED.sub(r"%(\1)s", text))
        return found

    def one(self, text: str, params: Mapping[str, Any]) -> Any:
        """The first row, or None."""
        self.cursor.execute(self._sql(text), params)
        return self.cursor.fetchone()

    def all(self, text: str, params: Mapping[str, Any]) -> list[Any]:
        """Every row."""
        self.cursor.execute(self._sql(text), params)
        return list(self.cursor.fetchall())

    def run(self, text: str, params: Mapping[str, Any]) -> int:
        """Execute; returns the row count."""
        self.cursor.execute(self._sql(text), params)
        return int(self.cursor.rowcount)

    def many(self, text: str, rows: Iterable[Mapping[str, Any]]) -> None:
        """Execute once per parameter set."""
        self.cursor.executemany(self._sql(text), list(rows))
