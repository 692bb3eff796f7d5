"""Writes that release their locks before the flush: durable before commit() returns,
locks free during the flush, signed checkpoints committed synchronously."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, text

from audit.log import ledger
from audit.store import db, postgres_recorder
from tests.integration.conftest import Ledger


def _setting(conn: Connection) -> str:
    """The connection's commit durability: SQLite's synchronous level, PostgreSQL's
    synchronous_commit."""
    driver: Any = conn.connection.driver_connection
    if db.is_sqlite(conn.engine):
        return {1: "relaxed", 2: "synchronous"}[driver.execute("PRAGMA synchronous")
                                                .fetchone()[0]]
    return {"off": "relaxed", "on": "synchronous"}[driver.execute(
        "SHOW synchronous_commit").fetchone()[0]]


def test_a_relaxed_write_is_flushed_after_the_lock_is_released_and_before_commit_returns(
        led: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    led.relaxed = True
    led.open("esc-a")
    seen: list[dict[str, Any]] = []

    def visible() -> int:
        with led.engine.connect() as other:
            return int(other.execute(text("SELECT COUNT(*) FROM ledger WHERE escalation_id "
                                          "= 'esc-a'")).scalar_one())

    if db.is_sqlite(led.engine):
        real_flush = db.flush

        def flush(conn: Connection) -> None:
            lock = db.write_lock(led.engine)
            lock_free = lock._thread.acquire(blocking=False)
            if lock_free:
                lock._thread.release()
            seen.append({"count": visible(), "lock_free": lock_free})  # committed first
            real_flush(conn)

        monkeypatch.setattr(db, "flush", flush)
    else:  # the COMMIT and the flush go in one round trip (test_request_round_trips)
        real = postgres_recorder.PostgresRecorder.commit_and_flush

        def commit_and_flush(self: Any, conn: Connection) -> bool:
            with led.engine.connect() as other:  # the write's rows are in the WAL by now
                position = other.execute(text("SELECT pg_current_wal_insert_lsn()")).scalar()
            done = real(self, conn)
            with led.engine.connect() as other:
                flushed = other.execute(text("SELECT pg_current_wal_flush_lsn() >= :p"),
                                        {"p": position}).scalar()
            seen.append({"count": visible(), "flushed": done and flushed})
            return done

        monkeypatch.setattr(postgres_recorder.PostgresRecorder, "commit_and_flush",
                            commit_and_flush)
    led.act("esc-a", "alice", "acknowledge")
    assert seen == [{"count": 2, "lock_free" if db.is_sqlite(led.engine) else "flushed": True}]
    assert visible() == 2


def test_relaxed_writes_commit_relaxed_and_checkpoints_commit_synchronously(
        led: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    led.relaxed = True
    appends: list[str] = []
    signs: list[str] = []
    real_append, real_sign = ledger.append, ledger.sign_checkpoint

    def append(conn: Connection, *args: Any, **kw: Any) -> int:
        appends.append(_setting(conn))
        return real_append(conn, *args, **kw)

    def sign(conn: Connection, *args: Any, **kw: Any) -> str:
        signs.append(_setting(conn))
        return real_sign(conn, *args, **kw)

    monkeypatch.setattr(ledger, "append", append)
    monkeypatch.setattr(ledger, "sign_checkpoint", sign)
    led.lifecycle("esc-a")  # 8 events; a checkpoint falls due every 5
    assert set(appends) == {"relaxed"} and len(appends) == 8
    assert signs == ["synchronous"]
    with led.engine.connect() as conn:
        sizes = conn.execute(text("SELECT size FROM checkpoints ORDER BY size")).scalars().all()
    # Signed as the write that made it due returned, over the log as that write left it.
    assert sizes[-1] - sizes[-2] == led.signer.every
    led.relaxed = False
    led.lifecycle("esc-b")
    assert set(appends[8:]) == {"synchronous"}


def test_a_relaxed_unit_of_work_will_not_sign_a_checkpoint(led: Ledger) -> None:
    led.relaxed = True
    with led.uow() as uow, pytest.raises(RuntimeError, match="synchronously"):
        uow.checkpoint(led.now, force=True)
