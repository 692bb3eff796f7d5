"""Driver exceptions leave audit/ as AuditError subclasses, by error code: whether the
statement ran through SQLAlchemy or on the fast path's driver cursor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from audit.errors import DatabaseBusy, LedgerRefused, SchemaMissing
from audit.store import db, fast_path
from audit.store.uow import SqlUnitOfWork
from tests.integration.conftest import Ledger


def test_a_database_without_the_schema_is_schema_missing(database_url: str) -> None:
    engine = db.make_engine(database_url)
    try:
        with engine.connect() as conn:
            with pytest.raises(SchemaMissing):
                conn.execute(text("SELECT handle FROM actors"))
            conn.rollback()
            with pytest.raises(SchemaMissing):
                fast_path.read_one(conn, "SELECT handle FROM actors WHERE handle = :h",
                                   {"h": "alice"})
    finally:
        engine.dispose()


def test_a_writer_that_waits_past_the_busy_timeout_is_database_busy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    engine, other = db.make_engine(url), db.make_engine(url)
    try:
        db.create_schema(engine)
        with engine.connect().execution_options(baton_write=True) as holder:
            holder.begin()  # BEGIN IMMEDIATE: the database's write lock
            with other.connect().execution_options(baton_write=True) as waiter:
                driver: Any = waiter.connection.driver_connection
                driver.execute("PRAGMA busy_timeout = 0")
                with pytest.raises(DatabaseBusy):
                    waiter.begin()
            holder.rollback()
    finally:
        engine.dispose()
        other.dispose()


def test_a_refused_append_is_ledger_refused_on_sqlite(sqlite_led: Ledger) -> None:
    sqlite_led.open("e1")
    with SqlUnitOfWork(sqlite_led.engine, sqlite_led.signer) as uow:
        head = uow.head()
        head.size -= 1  # a stale head: the guard refuses a seq that is not last + 1
        with pytest.raises(LedgerRefused, match="seq must be the last seq"):
            uow.append({"action": "x", "actor": "x", "at": "2026-01-01T00:00:00.000000Z",
                        "payload": {}}, [], sqlite_led.now)
