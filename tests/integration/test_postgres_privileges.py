"""The application role's least privilege on PostgreSQL (migration 0008): a login in
`baton_app` runs every write Baton makes, erasure included, and is refused the statements
that would bypass the ledger: promoting or adding an actor, editing a projection row or
the log head, deleting personal text with no erasure event naming it."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.engine import make_url

from api.testbed import Cluster
from audit.reads.export import verify_db
from audit.store import db
from tests.integration.conftest import DEMO_ACTORS, Ledger, make_ledger
from workflow import services
from workflow.erasure import erase_customer

_APP = ("baton_web", "pw")


def _raw(led: Ledger, user: str = "postgres", password: str | None = None
         ) -> psycopg.Connection:
    url = make_url(str(led.engine.url))
    return psycopg.connect(host=url.host, port=url.port, user=user, password=password,
                           dbname=url.database, autocommit=True)


@pytest.fixture
def pair(pg_cluster: Cluster, tmp_path) -> Iterator[tuple[Ledger, Ledger]]:  # type: ignore[no-untyped-def]
    """The same database as its owner (migrations, the CLI) and as an app login."""
    owner = make_ledger(pg_cluster.new_database(), tmp_path / "unused")
    with _raw(owner) as conn:
        conn.execute("DROP ROLE IF EXISTS baton_web")
        conn.execute("CREATE ROLE baton_web LOGIN PASSWORD 'pw' IN ROLE baton_app")
    url = make_url(str(owner.engine.url)).set(username=_APP[0], password=_APP[1])
    app = Ledger(db.make_engine(url.render_as_string(hide_password=False)), owner.path,
                 owner.signer, owner.policy, owner.now)
    yield owner, app
    app.engine.dispose()
    owner.engine.dispose()


def test_the_app_role_writes_everything_baton_writes(pair: tuple[Ledger, Ledger]) -> None:
    owner, app = pair
    app.lifecycle("esc-1", customer={"id": "cust-9", "name": "Ada"})
    app.relaxed = True  # the API's flush, statements pipelined
    app.lifecycle("esc-2")
    with app.uow() as uow:  # erasure: the content-erased event, then the texts go
        erased = erase_customer(uow=uow, actor=DEMO_ACTORS["root"], customer_id="cust-9",
                                policy=app.policy, now=app.tick())
        uow.commit()
    assert erased.fields > 0
    with _raw(owner) as conn:
        left = conn.execute("SELECT COUNT(*) FROM content JOIN ledger USING (seq) "
                            "WHERE ledger.escalation_id = 'esc-1'")
        assert left.fetchone() == (0,)
    with app.engine.connect() as conn:
        assert verify_db(conn, app.signer.vkey, "baton.test/ledger").ok


@pytest.mark.parametrize("sql", [
    "UPDATE actors SET roles = '[\"admin\"]' WHERE handle = 'alice'",
    "INSERT INTO actors (handle, roles, created_at) VALUES ('mallory', '[\"admin\"]', 'x')",
    "DELETE FROM actors WHERE handle = 'alice'",
    "UPDATE escalations SET owner = 'mallory' WHERE id = 'esc-1'",
    "UPDATE escalations SET version = version + 1, owner = 'mallory' WHERE id = 'esc-1'",
    "INSERT INTO escalations SELECT pk + 100, 'forged', state, tier, team, owner, "
    "acting_owner, category, severity, customer_id, version, created_at, updated_at, "
    "next_due, snapshot, earliest_due FROM escalations WHERE id = 'esc-1'",
    "UPDATE ownership_spans SET owner = 'mallory'",
    "INSERT INTO ownership_spans (escalation_id, owner, kind, started_at) "
    "VALUES ('esc-1', 'mallory', 'owner', 'x')",
    "UPDATE log_head SET size = 0, chain_hash = decode(repeat('00', 32), 'hex')",
    "UPDATE log_head SET checkpoint_size = size + 1",
    "DELETE FROM content",
    "DELETE FROM content WHERE field = 'title'",
    "TRUNCATE content",
    "TRUNCATE escalations",
])
def test_the_app_role_is_refused_what_bypasses_the_ledger(pair: tuple[Ledger, Ledger],
                                                          sql: str) -> None:
    owner, app = pair
    app.lifecycle("esc-1")
    with _raw(owner) as conn:
        before = [conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                  for t in ("actors", "escalations", "ownership_spans", "log_head", "content")]
    with _raw(owner, *_APP) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(sql)
    with _raw(owner) as conn:
        after = [conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                 for t in ("actors", "escalations", "ownership_spans", "log_head", "content")]
    assert after == before


def test_the_owner_keeps_every_right(pair: tuple[Ledger, Ledger]) -> None:
    owner, _app = pair
    owner.lifecycle("esc-1")
    with _raw(owner) as conn:  # the CLI's actor management, a migration's backfill
        conn.execute("UPDATE actors SET team = 'finance' WHERE handle = 'alice'")
        conn.execute("UPDATE escalations SET next_due = next_due WHERE id = 'esc-1'")


def test_an_event_frees_only_what_it_names(pair: tuple[Ledger, Ledger]) -> None:
    """In a transaction that did append an event, only that event's escalation may move,
    and only the fields a content-erased event names may go."""
    owner, app = pair
    app.lifecycle("esc-a", customer={"id": "cust-a", "name": "Ada"})
    app.lifecycle("esc-b", customer={"id": "cust-b", "name": "Bo"})
    app.open("esc-c")
    with _raw(owner) as conn:
        before = [conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                  for t in ("escalations", "content", "ledger")]
    # Erasing cust-a's content, then deleting cust-b's in the same transaction.
    with pytest.raises(sa_exc.DBAPIError) as refused, app.uow() as uow:
        erase_customer(uow=uow, actor=DEMO_ACTORS["root"], customer_id="cust-a",
                       policy=app.policy, now=app.tick())
        uow.conn.execute(text("DELETE FROM content WHERE seq IN (SELECT seq FROM ledger "
                              "WHERE escalation_id = 'esc-b')"))
        uow.commit()
    assert isinstance(refused.value.orig, psycopg.errors.InsufficientPrivilege)
    # Recording an event of esc-c, then moving esc-b's projection: refused at the commit.
    with pytest.raises(sa_exc.DBAPIError) as refused, app.uow() as uow:
        services.act(uow=uow, actor=DEMO_ACTORS["alice"], escalation_id="esc-c",
                     action="acknowledge", payload={"note": "n"}, policy=app.policy,
                     now=app.tick())
        uow.conn.execute(text("UPDATE escalations SET owner = 'mallory', "
                              "version = version + 1 WHERE id = 'esc-b'"))
        uow.commit()
    assert isinstance(refused.value.orig, psycopg.errors.InsufficientPrivilege)
    with _raw(owner) as conn:
        after = [conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                 for t in ("escalations", "content", "ledger")]
    assert after == before  # both transactions rolled back whole
