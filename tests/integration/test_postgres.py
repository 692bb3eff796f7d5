"""PostgreSQL specifics: guards, grants, migrations, and writers racing in threads."""

from __future__ import annotations

import functools
import re
import threading
from collections import Counter
from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from api.testbed import Cluster
from audit.reads.export import verify_db
from audit.reads.replaycheck import differences
from audit.store import db, migrate
from audit.store.schema import SEARCH_INDEX_PREFIX, metadata
from tests.integration.conftest import Ledger, make_ledger
from tests.threads import run_together
from workflow.errors import WorkflowError


def _described(conn: Any) -> MigrationContext:
    """The models' tables only (the text index is made by its migration alone)."""
    return MigrationContext.configure(conn, opts={"include_name": lambda name, kind, _p: (
        kind != "table" or not str(name).startswith(SEARCH_INDEX_PREFIX))})


def test_empty_database_upgraded_to_head_matches_the_models(database_url: str) -> None:
    engine = db.make_engine(database_url)
    assert migrate.current(engine) is None
    migrate.upgrade(engine)
    assert migrate.current(engine) == migrate.head() == "0018"
    migrate.upgrade(engine)  # idempotent
    with engine.connect() as conn:
        diff = compare_metadata(_described(conn), metadata)
    assert diff == []
    engine.dispose()


def test_a_database_at_0001_with_events_upgrades_to_head_and_keeps_them(
        database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # The events are written by this code, whose projection has columns 0001 lacks, then
    # the database goes back to 0001 (as a rolled-back deployment would) with them.
    led = make_ledger(database_url, tmp_path / "unused")
    led.lifecycle("before")
    migrate.downgrade(led.engine, "0001")
    assert migrate.current(led.engine) == "0001"
    assert "ix_ledger_owner" in {i["name"] for i in inspect(led.engine).get_indexes("ledger")}
    with led.engine.connect() as conn:
        before = conn.execute(text("SELECT seq, chain_hash FROM ledger ORDER BY seq")).all()
    migrate.upgrade(led.engine)
    assert migrate.current(led.engine) == migrate.head()
    assert "ix_ledger_owner" not in {
        i["name"] for i in inspect(led.engine).get_indexes("ledger")}
    led.lifecycle("after")  # the upgraded database takes writes
    with led.engine.connect() as conn:
        after = conn.execute(text("SELECT seq, chain_hash FROM ledger ORDER BY seq")).all()
        assert after[:len(before)] == before and len(after) > len(before)
        assert list(differences(conn)) == []
        assert verify_db(conn, led.signer.vkey, "baton.test/ledger").ok
        assert compare_metadata(_described(conn), metadata) == []
    led.engine.dispose()


@pytest.fixture
def pg(pg_cluster: Cluster, tmp_path) -> Ledger:  # type: ignore[no-untyped-def]
    led = make_ledger(pg_cluster.new_database(), tmp_path / "unused")
    yield led
    led.engine.dispose()


def _raw(led: Ledger, user: str = "postgres", password: str | None = None) -> psycopg.Connection:
    url = make_url(str(led.engine.url))
    return psycopg.connect(host=url.host, port=url.port, user=user, password=password,
                           dbname=url.database, autocommit=True)


@pytest.mark.parametrize("sql,message", [
    ("UPDATE ledger SET actor = 'mallory' WHERE seq = 1", "append-only: UPDATE refused"),
    ("DELETE FROM ledger WHERE seq = 3", "append-only: DELETE refused"),
    ("TRUNCATE ledger", "append-only: TRUNCATE refused"),
    ("INSERT INTO ledger SELECT * FROM ledger WHERE seq = 2 ON CONFLICT (seq) DO UPDATE "
     "SET actor = 'mallory'", "seq must be the last seq + 1"),
    ("INSERT INTO ledger (seq, action, actor, at, body, chain_hash) "
     "SELECT MAX(seq) + 1, 'x', 'x', 'x', '\\x00', '\\x00' FROM ledger",
     "chain_hash must extend the last chain_hash"),
    # the right link to a body, but not from the last chain hash (a forked or replayed row)
    ("INSERT INTO ledger (seq, action, actor, at, body, chain_hash) "
     "SELECT MAX(seq) + 1, 'x', 'x', 'x', '\\x00', sha256('\\x02'::bytea || "
     "decode(repeat('00', 32), 'hex') || sha256('\\x0000'::bytea)) FROM ledger",
     "chain_hash must extend the last chain_hash"),
    ("UPDATE checkpoints SET note = 'forged'", "append-only: UPDATE refused"),
    ("TRUNCATE checkpoints CASCADE", "append-only: TRUNCATE refused"),
])
def test_postgres_refuses_edits_even_from_the_owner(pg: Ledger, sql: str, message: str) -> None:
    pg.lifecycle("esc-a")
    with _raw(pg) as conn:
        before = conn.execute("SELECT COUNT(*), MAX(seq) FROM ledger").fetchone()
        with pytest.raises(psycopg.Error, match=re.escape(message)):
            conn.execute(sql)
        assert conn.execute("SELECT COUNT(*), MAX(seq) FROM ledger").fetchone() == before


def test_the_application_role_may_only_select_and_insert_the_ledger(pg: Ledger) -> None:
    pg.lifecycle("esc-a")
    with _raw(pg) as conn:
        conn.execute("DROP ROLE IF EXISTS baton_web")
        conn.execute("CREATE ROLE baton_web LOGIN PASSWORD 'pw' IN ROLE baton_app")
    app_url = make_url(str(pg.engine.url)).set(username="baton_web", password="pw")
    app = Ledger(db.make_engine(app_url.render_as_string(hide_password=False)), pg.path,
                 pg.signer, pg.policy, pg.now)
    app.lifecycle("esc-b")  # the application works with these grants
    app.relaxed = True
    app.lifecycle("esc-c")  # and may flush as the API's writes do
    with _raw(pg, "baton_web", "pw") as conn:
        for sql in ("UPDATE ledger SET actor = 'x'", "DELETE FROM ledger",
                    "TRUNCATE ledger", "DELETE FROM checkpoints"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)
    with app.engine.connect() as conn:
        assert verify_db(conn, pg.signer.vkey, "baton.test/ledger").ok
    app.engine.dispose()


def test_32_threads_race_to_acknowledge_on_postgres(pg: Ledger) -> None:
    pg.open("esc-race")
    barrier = threading.Barrier(32)
    outcomes: list[str] = []
    lock = threading.Lock()

    def race(i: int) -> None:
        barrier.wait()
        try:
            pg.act("esc-race", "alice" if i % 2 else "andy", "acknowledge")
            result = "ok"
        except WorkflowError as exc:
            result = type(exc).__name__
        with lock:
            outcomes.append(result)

    run_together([functools.partial(race, i) for i in range(32)], timeout=60)
    counts = Counter(outcomes)
    assert counts["ok"] == 1, counts
    assert counts["InvalidTransition"] == 31, counts
    with pg.engine.connect() as conn:
        report = verify_db(conn, pg.signer.vkey, "baton.test/ledger")
        acks = conn.exec_driver_sql(
            "SELECT COUNT(*) FROM ledger WHERE escalation_id = 'esc-race' "
            "AND action = 'acknowledge'").scalar()
    assert report.ok and acks == 1


def test_many_writers_on_their_own_escalations_lose_nothing(pg: Ledger) -> None:
    errors: list[BaseException] = []

    def drive(i: int) -> None:
        try:
            pg.lifecycle(f"esc-{i}")
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    run_together([functools.partial(drive, i) for i in range(16)])
    assert errors == []
    with pg.engine.connect() as conn:
        report = verify_db(conn, pg.signer.vkey, "baton.test/ledger")
        assert list(differences(conn)) == []
    assert report.ok and report.events == 1 + 16 * 8
