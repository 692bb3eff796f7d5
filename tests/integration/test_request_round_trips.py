"""What an authenticated API request sends PostgreSQL before its own work (issue 29): one
statement, the token's actor with the policy version in force; no ping of the pooled
connection and no second read of the policy for the read gate. A write's COMMIT and its
flush travel together, in one round trip."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from audit.store import postgres_recorder
from audit.store.postgres_recorder import FLUSH_SQL
from tests.initialised_app import OPEN, Client, make_client


@pytest.fixture
def pg_client(tmp_path: Path, pg_cluster: Any) -> Iterator[Client]:
    client = make_client(tmp_path, database_url=pg_cluster.new_database())
    yield client
    client.app.extensions["baton"].engine.dispose()


def _statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    sent: list[str] = []
    plain = psycopg.Cursor.execute

    def execute(self: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(query))
        return plain(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", execute)
    return sent


def test_a_read_sends_its_authentication_and_nothing_before_it(
        pg_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    assert pg_client.get("/audit/public-key", "aud").status_code == 200  # pooled now
    sent = _statements(monkeypatch)
    r = pg_client.get("/audit/public-key", "aud")
    assert r.status_code == 200 and r.get_data()
    assert len(sent) == 1, sent
    assert sent[0].startswith("SELECT handle, roles, team, (SELECT version FROM policies")


def test_a_refused_read_is_decided_by_the_version_read_with_the_token(
        pg_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    pg_client.get("/audit/public-key", "aud")
    sent = _statements(monkeypatch)
    refused = pg_client.get("/audit/events", "alice")  # an agent may not read the log
    assert refused.status_code == 403 and refused.json["rule"]
    assert len(sent) == 1, sent


def _round_trips(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """What each round trip carried: a pipeline block's statements together, any other
    statement alone, and a COMMIT the driver sends itself."""
    trips: list[list[str]] = []
    inside = [False]
    execute, pipeline, commit = (psycopg.Cursor.execute, psycopg.Connection.pipeline,
                                 psycopg.Connection.commit)

    def spied_execute(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        (trips[-1].append if inside[0] else lambda q: trips.append([q]))(str(query))
        return execute(self, query, *args, **kwargs)

    @contextmanager
    def spied_pipeline(self: Any) -> Iterator[Any]:
        with pipeline(self) as block:
            trips.append([])
            inside[0] = True
            try:
                yield block
            finally:
                inside[0] = False

    def spied_commit(self: Any) -> None:
        if self.pgconn.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            trips.append(["COMMIT (the driver's)"])
        commit(self)

    monkeypatch.setattr(psycopg.Cursor, "execute", spied_execute)
    monkeypatch.setattr(psycopg.Connection, "pipeline", spied_pipeline)
    monkeypatch.setattr(psycopg.Connection, "commit", spied_commit)
    return trips


def test_a_write_commits_and_flushes_in_one_round_trip(
        pg_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    eid = pg_client.open()
    trips = _round_trips(monkeypatch)
    assert pg_client.act(eid, "alice", "acknowledge", {"note": "mine"}).status_code == 200
    assert [FLUSH_SQL] not in trips and ["COMMIT (the driver's)"] not in trips, trips
    assert ["COMMIT", FLUSH_SQL] in trips, trips
    assert pg_client.get(f"/escalations/{eid}", "alice").json["state"] == "acknowledged"


# Once the COMMIT is sent: the flush fails after it, or the server goes away (whether its
# answer to the COMMIT arrives first is a race; either way the write may have committed).
@pytest.mark.parametrize("flush", ["SELECT 1 / 0", "SELECT pg_terminate_backend(pg_backend_pid())"],
                         ids=["flush-fails", "connection-lost"])
def test_a_write_committed_but_not_flushed_is_outcome_unknown_and_its_retry_replays(
        pg_client: Client, monkeypatch: pytest.MonkeyPatch, flush: str) -> None:
    monkeypatch.setattr(postgres_recorder, "FLUSH_SQL", flush)
    key = {"Idempotency-Key": "flush-pg"}
    r = pg_client.post("/escalations", "alice", OPEN, **key)
    assert r.status_code == 503 and r.json["type"].endswith("outcome-unknown"), r.json
    monkeypatch.undo()
    again = pg_client.post("/escalations", "alice", OPEN, **key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert len(pg_client.get("/escalations", "aud").json["items"]) == 1  # written once
