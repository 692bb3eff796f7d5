"""The storage floor of Baton's schema, for bench.lean: the statements Baton's own run
sends to sqlite3, replayed through the driver alone (no Python of Baton's, no SQLAlchemy).

Baton's side of bench.lean runs once on a throwaway file with its sqlite3 connections
made by a factory that notes each statement, its parameters and each commit. The replay
then starts from a file set up as Baton's is (the same migrations, policy and actors, so
the same seqs and ids follow) and runs those statements escalation by escalation, a
transaction each as Baton ran them, with Baton's pragmas: reads fetched, writes and the
durable commits (WAL, synchronous=FULL) as they were. What the replay costs is what
SQLite itself does for Baton's tables, indexes, triggers and commits; what Baton costs
beyond it is its Python (the use case, authority, canonical bytes, hashes, the unit of
work, SQLAlchemy).
"""

from __future__ import annotations

import sqlite3
import sqlite3.dbapi2
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import initialised

# (statement, parameters, executemany?) as sent; "COMMIT" and "ROLLBACK" for the driver's
Statement = tuple[str, Any, bool]
PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON",
           "PRAGMA secure_delete=ON", "PRAGMA busy_timeout=30000")


class _Noted:
    """Where the statements of the escalation being run go."""

    now: list[Statement] | None = None


class _Cursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = ()) -> Any:  # type: ignore[override]
        if _Noted.now is not None:
            _Noted.now.append((sql, parameters, False))
        return super().execute(sql, parameters)

    def executemany(self, sql: str, seq: Any) -> Any:  # type: ignore[override]
        rows = list(seq)
        if _Noted.now is not None:
            _Noted.now.append((sql, rows, True))
        return super().executemany(sql, rows)


class _Connection(sqlite3.Connection):
    def cursor(self, factory: Any = _Cursor) -> Any:  # type: ignore[override]
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = ()) -> Any:  # type: ignore[override]
        return self.cursor().execute(sql, parameters)

    def commit(self) -> None:
        if _Noted.now is not None and self.in_transaction:
            _Noted.now.append(("COMMIT", (), False))
        super().commit()

    def rollback(self) -> None:
        if _Noted.now is not None and self.in_transaction:
            _Noted.now.append(("ROLLBACK", (), False))
        super().rollback()


@contextmanager
def _noting() -> Iterator[None]:
    # SQLAlchemy's pysqlite dialect connects through sqlite3.dbapi2.connect.
    plain = sqlite3.dbapi2.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        return plain(*args, factory=_Connection, **kwargs)

    sqlite3.dbapi2.connect = connect  # type: ignore[assignment]
    try:
        yield
    finally:
        sqlite3.dbapi2.connect = plain


def record(run_baton: Callable[[Path], Any], n: int) -> list[list[Statement]]:
    """The statements of Baton's run of escalations 0..n-1, one list per escalation."""
    noted: list[list[Statement]] = []
    with tempfile.TemporaryDirectory() as tmp, _noting():
        work, close = run_baton(Path(tmp) / "noted.db")
        try:
            for i in range(n):
                _Noted.now = []
                work(i, i + 1)
                noted.append(_Noted.now)
        finally:
            _Noted.now = None
            close()
    return noted


def runner(noted: list[list[Statement]]) -> Callable[[Path], Any]:
    """bench.lean's runner of the replay of `noted` (record's escalations)."""

    def run(path: Path) -> tuple[Callable[[int, int], None], Callable[[], None]]:
        engine, _signer = initialised(f"sqlite:///{path}", "bench/lean", 1000,
                                      datetime.now(UTC))
        engine.dispose()
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in PRAGMAS:
            conn.execute(pragma)

        def work(first: int, end: int) -> None:
            for statements in noted[first:end]:
                for sql, parameters, many in statements:
                    if many:
                        conn.executemany(sql, parameters)
                    elif sql in ("COMMIT", "ROLLBACK"):
                        conn.execute(sql)
                    else:
                        conn.execute(sql, parameters).fetchall()

        return work, conn.close

    return run
