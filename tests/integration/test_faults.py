"""Faults of the server's, in-process (issue 20): each is a 503 problem of its own type with
Retry-After, nothing is half-written, and recovery needs no restart. The real faults
(PostgreSQL stopped, a full disk, read-only files, a server without its key) are run
against `baton serve` in tests/e2e/test_faults.py."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import g
from sqlalchemy import event, text

from api import create_app
from audit.errors import DatabaseUnavailable, ReadOnly, SchemaMissing, StorageFull
from audit.store import db, driver_errors
from tests.initialised_app import OPEN, Client, make_client


@pytest.fixture
def c(tmp_path: Path) -> Iterator[Client]:
    client = make_client(tmp_path)
    yield client
    client.app.extensions["baton"].engine.dispose()


def problem_of(r: Any, slug: str, status: int = 503) -> dict[str, Any]:
    assert r.status_code == status, r.get_json()
    assert r.content_type == "application/problem+json"
    body: dict[str, Any] = r.get_json()
    assert body["type"] == f"urn:baton:problem:{slug}"
    if status == 503:
        assert int(r.headers["Retry-After"]) > 0
    return body


def ledger_size(c: Client) -> int:
    with c.app.extensions["baton"].engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM ledger")).scalar_one())


def checkpoint_size(c: Client) -> int:
    with c.app.extensions["baton"].engine.connect() as conn:
        return int(conn.execute(text("SELECT max(size) FROM checkpoints")).scalar_one())


def test_a_lost_signing_key_refuses_writes_and_they_resume_when_it_returns(
        c: Client, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    key = tmp_path / "signing.key"
    eid = c.open()
    before = ledger_size(c)
    key.rename(tmp_path / "elsewhere")
    body = problem_of(c.post("/escalations", "alice", OPEN), "signing-unavailable")
    assert str(tmp_path) not in body["detail"] and "signing.key" not in body["detail"]
    problem_of(c.act(eid, "alice", "acknowledge", {"note": "x"}), "signing-unavailable")
    assert ledger_size(c) == before  # nothing half-written
    health = c.http.get("/healthz", headers=c.h("root"))
    assert health.status_code == 503
    assert health.json == {"status": "unavailable", "database": "ok",
                           "signing": "unavailable", "worker": "ok", "workers_alive": 0,
                           "deadline_lag_seconds": 0.0}
    assert c.get("/audit/public-key", "aud").status_code == 503
    assert "signing key unavailable" in caplog.text and str(tmp_path) not in caplog.text
    (tmp_path / "elsewhere").rename(key)
    for _ in range(12):  # BATON_CHECKPOINT_EVERY is 10: a checkpoint falls due again
        assert c.post("/escalations", "alice", OPEN).status_code == 201
    assert checkpoint_size(c) > before
    assert c.http.get("/healthz").status_code == 200


def test_an_unreadable_signing_key_is_503_not_422_and_names_no_path(
        c: Client, tmp_path: Path) -> None:
    (tmp_path / "signing.key").write_text("not a key\n")
    body = problem_of(c.post("/escalations", "alice", OPEN), "signing-unavailable")
    assert "signing.key" not in body["detail"] and "invalid-input" not in body["type"]


def test_a_write_whose_flush_fails_is_outcome_unknown_and_its_retry_replays(
        c: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(_fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr("audit.store.sqlite_recorder.os.fdatasync", failing)
    key = {"Idempotency-Key": "flush-1"}
    body = problem_of(c.post("/escalations", "alice", OPEN, **key), "outcome-unknown")
    assert "Idempotency-Key" in body["detail"]
    monkeypatch.undo()
    again = c.post("/escalations", "alice", OPEN, **key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert len(c.get("/escalations", "aud").json["items"]) == 1  # written once


def test_a_request_teardown_that_fails_to_close_still_answers(c: Client) -> None:
    # Closing the request's connection after the database dropped it raised past Flask,
    # and gunicorn answered with its HTML page (issue 20): teardown never raises.
    def dropped() -> None:
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    @c.app.after_request
    def _drop(response: Any) -> Any:
        conn = g.get("baton_connection")
        if conn is not None:
            conn.close = dropped
        return response

    r = c.get("/escalations", "aud")
    assert r.status_code == 200 and r.json["items"] == []
    assert c.get("/escalations", "aud").status_code == 200


def test_a_read_only_connection_is_discarded_and_the_next_request_writes(
        c: Client) -> None:
    # PRAGMA query_only makes a connection refuse writes as a file opened read-only does
    # (SQLITE_READONLY); such a connection must not go back into use.
    engine = c.app.extensions["baton"].engine
    engine.dispose()
    poisoned: list[Any] = []

    @event.listens_for(engine, "connect")
    def _read_only_first(dbapi_conn: Any, _record: Any) -> None:
        if not poisoned:
            poisoned.append(dbapi_conn)
            dbapi_conn.execute("PRAGMA query_only = ON")

    problem_of(c.post("/escalations", "alice", OPEN), "database-read-only")
    assert c.post("/escalations", "alice", OPEN).status_code == 201


def test_healthz_reports_each_degraded_state(c: Client, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    assert c.http.get("/api/v1/healthz").json["status"] == "ok"

    class Full:
        f_bavail, f_frsize = 3, 4096

    monkeypatch.setattr("audit.store.sqlite_recorder.os.statvfs", lambda _path: Full())
    r = c.http.get("/healthz")
    assert r.status_code == 503 and r.json["database"] == "storage-full"
    monkeypatch.undo()
    monkeypatch.setattr("audit.store.sqlite_recorder.os.access", lambda *_a, **_k: False)
    r = c.http.get("/healthz")
    assert r.status_code == 503 and r.json["database"] == "read-only"
    monkeypatch.undo()
    assert c.http.get("/healthz").status_code == 200


def test_healthz_says_when_the_worker_is_behind(tmp_path: Path) -> None:
    now = [datetime.now(UTC)]
    client = make_client(tmp_path, clock=lambda: now[0])
    try:
        client.open()  # its acknowledge deadline runs; no worker sweeps here
        now[0] += timedelta(days=3)
        r = client.http.get("/healthz", headers=client.h("root"))  # an operator's view
        assert r.status_code == 200  # writes still succeed
        assert r.json["status"] == "degraded"
        assert r.json["worker"].startswith("behind: sweeps, ")
        lag = r.json["deadline_lag_seconds"]
        assert r.json["workers_alive"] == 0 and lag > 3 * 86400 - 3600
        assert r.json["reasons"] == ["no worker alive",
                                     f"a deadline passed {lag:.0f} s ago and is not recorded"]
    finally:
        client.app.extensions["baton"].engine.dispose()


def test_healthz_of_a_database_that_cannot_be_reached_or_has_no_schema(
        tmp_path: Path) -> None:
    for url, state in ((f"sqlite:///{tmp_path / 'missing' / 'x.db'}", "unreachable"),
                       (f"sqlite:///{tmp_path / 'empty.db'}", "not-initialised"),
                       ("postgresql+psycopg://nobody@127.0.0.1:1/none", "unreachable")):
        app = create_app({"BATON_DATABASE_URL": url,
                          "BATON_SIGNING_KEY": str(tmp_path / "no.key")})
        r = app.test_client().get("/healthz")
        assert r.status_code == 503 and r.json["database"] == state, (url, r.json)
        app.extensions["baton"].engine.dispose()


def test_a_database_that_cannot_be_reached_is_503_database_unavailable(
        c: Client, tmp_path: Path) -> None:
    app = create_app({"BATON_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
                      "BATON_SIGNING_KEY": str(tmp_path / "signing.key")})
    r = app.test_client().get("/api/v1/escalations", headers=c.h("aud"))
    problem_of(r, "database-unavailable")
    app.extensions["baton"].engine.dispose()


def test_driver_failures_by_code() -> None:
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = sqlite3.SQLITE_FULL  # type: ignore[attr-defined]
    assert isinstance(driver_errors.translate(full), StorageFull)
    io = sqlite3.OperationalError("disk I/O error")
    io.sqlite_errorcode = sqlite3.SQLITE_IOERR_WRITE  # type: ignore[attr-defined]
    assert type(driver_errors.translate(io)) is DatabaseUnavailable
    assert driver_errors.take_discard_mark() and not driver_errors.take_discard_mark()
    assert isinstance(driver_errors.translate(psycopg.OperationalError("refused")),
                      DatabaseUnavailable)


def test_postgres_read_only_and_disconnects_are_503_and_recover(pg_cluster: Any) -> None:
    url = pg_cluster.new_database()
    engine = db.make_engine(url)
    db.create_schema(engine)
    try:
        with engine.connect() as conn:
            conn.execute(text("SET default_transaction_read_only = on"))
            conn.commit()
            with pytest.raises(ReadOnly):
                conn.execute(text("CREATE TABLE t_read_only (x int)"))
        with engine.connect() as conn:  # a fresh connection: discarded, not reused
            assert conn.execute(text("SHOW transaction_read_only")).scalar() == "off"
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
            with pg_cluster.admin() as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            with pytest.raises(DatabaseUnavailable):
                conn.execute(text("SELECT 1"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_a_missing_schema_is_still_schema_missing(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'none.db'}")
    with engine.connect() as conn, pytest.raises(SchemaMissing):
        conn.execute(text("SELECT * FROM ledger"))
    engine.dispose()
