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

import gc
import sqlite3
import sqlite3.dbapi2
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from audit.store.sqlite_recorder import CONNECTION_PRAGMAS
from bench.harness import initialised

# (statement, parameters, executemany?, rows it changed: sqlite3's rowcount) as sent;
# "COMMIT" and "ROLLBACK" for the driver's
Statement = tuple[str, Any, bool, int]
PRAGMAS = ("PRAGMA journal_mode=WAL", *CONNECTION_PRAGMAS)  # Baton's, as it connects


class _Noted:
    """Where the statements of the escalation being run go."""

    now: list[Statement] | None = None


class _Cursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = ()) -> Any:  # type: ignore[override]
        super().execute(sql, parameters)
        if _Noted.now is not None:
            _Noted.now.append((sql, parameters, False, self.rowcount))
        return self

    def executemany(self, sql: str, seq: Any) -> Any:  # type: ignore[override]
        rows = list(seq)
        super().executemany(sql, rows)
        if _Noted.now is not None:
            _Noted.now.append((sql, rows, True, self.rowcount))
        return self


class _Connection(sqlite3.Connection):
    def cursor(self, factory: Any = _Cursor) -> Any:  # type: ignore[override]
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = ()) -> Any:  # type: ignore[override]
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, seq: Any) -> Any:  # type: ignore[override]
        return self.cursor().executemany(sql, seq)

    def executescript(self, script: str) -> Any:  # type: ignore[override]
        if _Noted.now is not None:
            raise RuntimeError("a script cannot be noted statement by statement")
        return super().executescript(script)

    def commit(self) -> None:
        if _Noted.now is not None and self.in_transaction:
            _Noted.now.append(("COMMIT", (), False, -1))
        super().commit()

    def rollback(self) -> None:
        if _Noted.now is not None and self.in_transaction:
            _Noted.now.append(("ROLLBACK", (), False, -1))
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
    """The statements of Baton's run of escalations 0..n-1, one list per escalation (kept
    out of the collector's way: frozen, they are not walked again while the rows run)."""
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
    gc.collect()
    gc.freeze()
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
                for sql, parameters, many, changed in statements:
                    if many:
                        cursor = conn.executemany(sql, parameters)
                    elif sql in ("COMMIT", "ROLLBACK"):
                        conn.execute(sql)
                        continue
                    else:
                        cursor = conn.execute(sql, parameters)
                        cursor.fetchall()
                    if cursor.rowcount != changed:  # the replay is not Baton's run
                        raise RuntimeError(f"{sql[:60]}: {cursor.rowcount} rows, Baton's "
                                           f"{changed}")

        return work, conn.close

    return run
