"""Personal data does not linger (issue 15): not in the SQLite WAL after an erasure, not in
a log, not in a world-readable file, not in a stored response; a retry after erasure
writes nothing."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from api.problems import from_exception
from audit.store import db
from audit.store.schema import escalations, idempotency
from tests.initialised_app import OPEN, Client, make_client

SECRET = "Ada Lovelace's private line 0113 496 0000"


@pytest.fixture
def c(tmp_path: Path) -> Iterator[Client]:
    client = make_client(tmp_path)
    yield client
    client.app.extensions["baton"].engine.dispose()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_wal_holds_no_erased_text_right_after_an_erasure(c: Client,
                                                              tmp_path: Path) -> None:
    eid = c.open(customer={"id": "cust-42", "name": SECRET})
    c.act(eid, "alice", "acknowledge", {"note": SECRET}, **{"Idempotency-Key": "ack-1"})
    wal = tmp_path / "baton.db-wal"
    assert SECRET.encode() in wal.read_bytes()  # the writes are in the log until then
    assert c.post("/admin/erasures", "root", {"customer_id": "cust-42"}).status_code == 200
    # Read while the server's connections are still open (closing them would checkpoint).
    for path in tmp_path.glob("baton.db*"):
        assert SECRET.encode() not in path.read_bytes(), path
    assert wal.stat().st_size == 0


def test_database_wal_shm_and_export_are_owner_only(c: Client, tmp_path: Path) -> None:
    c.open()
    for name in ("baton.db", "baton.db-wal", "baton.db-shm"):
        assert mode(tmp_path / name) == 0o600, name
    older = tmp_path / "older.db"
    older.touch(mode=0o644)  # a database made before: made owner-only when opened
    os.chmod(older, 0o644)
    engine = db.make_engine(f"sqlite:///{older}")
    with engine.connect() as conn:
        conn.execute(text("CREATE TABLE t (x)"))
    engine.dispose()
    assert mode(older) == 0o600


def test_a_retry_after_erasure_gets_a_problem_and_writes_nothing(c: Client) -> None:
    first = c.post("/escalations", "alice", {**OPEN, "title": SECRET},
                   **{"Idempotency-Key": "open-1"})
    assert first.status_code == 201
    assert c.post("/admin/erasures", "root", {"customer_id": "cust-42"}).status_code == 200
    engine = c.app.extensions["baton"].engine
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(escalations)).scalar_one()
        kept = conn.execute(select(idempotency)).one()
    assert (kept.key, kept.body) == ("open-1", "null") and len(kept.request_hash) == 64
    again = c.post("/escalations", "alice", {**OPEN, "title": SECRET},
                   **{"Idempotency-Key": "open-1"})
    assert again.status_code == 410, again.get_json()
    assert again.json["type"] == "urn:baton:problem:response-erased"
    assert again.headers["Location"] == first.headers["Location"]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(escalations)).scalar_one() \
            == before
    other = c.post("/escalations", "alice", {**OPEN, "title": "another"},
                   **{"Idempotency-Key": "open-1"})
    assert other.status_code == 422  # the key is still bound to its first request


def test_a_failing_statement_logs_no_parameters(c: Client,
                                                caplog: pytest.LogCaptureFixture) -> None:
    engine = c.app.extensions["baton"].engine
    with pytest.raises(IntegrityError) as raised, engine.begin() as conn:
        conn.execute(text("INSERT INTO idempotency (actor, key, request_hash, status, body, "
                          "headers, created_at) VALUES ('a', 'k', 'h', 200, :b, '{}', 'x')"),
                     {"b": SECRET})
        conn.execute(text("INSERT INTO idempotency (actor, key, request_hash, status, body, "
                          "headers, created_at) VALUES ('a', 'k', 'h', 200, :b, '{}', 'x')"),
                     {"b": SECRET})
    assert SECRET not in str(raised.value)
    with caplog.at_level(logging.DEBUG), c.app.test_request_context(
            "/api/v1/escalations/esc-9/actions/note", method="POST", json={"note": SECRET},
            headers={"Authorization": "Bearer bt_secret_token"}):
        response = from_exception(raised.value)
    assert response.status_code == 500
    logged = caplog.text
    assert "IntegrityError" in logged and "escalation_id=esc-9" in logged
    assert SECRET not in logged and "bt_secret_token" not in logged
    assert "INSERT" not in logged  # not even the statement
