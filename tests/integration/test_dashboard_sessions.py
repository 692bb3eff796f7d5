"""Dashboard sessions kept on the server (issue 27, point 7): the cookie holds only the
session id, the table its hash; sign-in and sign-out are ledger records of the token's
actor; sessions end at sign-out (a copied cookie is refused after it), when unused for the
idle timeout, at the absolute lifetime (never renewed by use), when the token is revoked,
and by an administrator (`baton sessions list|end`)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import make_url, select

from api.cli import main
from api.read_access import ROUTES
from api.ui.session import COOKIE
from audit.store import actors, db, policy_refs, sessions
from audit.store.schema import dashboard_sessions as session_table
from audit.store.schema import ledger
from audit.store.sessions import SqlSessions
from audit.store.uow import SqlUnitOfWork
from tests.initialised_app import Client, Clock, make_client
from tests.integration.conftest import make_ledger
from tests.integration.test_read_access import EXPECTED, HOLDERS
from tests.unit.fakes import DEMO_ACTORS
from workflow import dashboard_sessions


def _client(tmp_path: Path, url: str | None = None, **config: Any) -> tuple[Client, Clock]:
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    c = make_client(tmp_path, clock=clock, database_url=url)
    c.app.config.update(config)
    baton = c.app.extensions["baton"]
    with baton.uow() as uow:
        c.tokens["cust"] = actors.add(uow.conn, "cust", ["customer"], None, baton.now())
        uow.commit()
    return c, clock


def _csrf(http: Any, path: str = "/ui/login") -> str:
    found = re.search(r'name="csrf_token" value="([^"]*)"', http.get(path).get_data(as_text=True))
    assert found, path
    return found.group(1)


def _sign_in(c: Client, who: str, http: Any = None) -> Any:
    http = http or c.http
    return http.post("/ui/login", data={"token": c.tokens[who], "csrf_token": _csrf(http)})


def _rows(c: Client) -> list[Any]:
    with c.app.extensions["baton"].engine.connect() as conn:
        return list(conn.execute(select(session_table)))


def _records(c: Client) -> list[tuple[str, str, dict[str, Any]]]:
    with c.app.extensions["baton"].engine.connect() as conn:
        rows = conn.execute(select(ledger.c.action, ledger.c.actor, ledger.c.body).where(
            ledger.c.action.like("dashboard-%")).order_by(ledger.c.seq))
        return [(r.action, r.actor, policy_refs.record(conn, r.body)) for r in rows]


def _ended(response: Any) -> str:
    assert response.status_code == 303, response.status_code
    found = re.search(r"ended=([a-z-]+)", response.headers["Location"])
    return found.group(1) if found else ""


def test_sign_in_and_out_on_the_ledger_and_a_copied_cookie_refused(
        tmp_path: Path, database_url: str) -> None:
    c, _ = _client(tmp_path, database_url)
    assert _sign_in(c, "alice").status_code == 303
    cookie = c.http.get_cookie(COOKIE, path="/ui")
    assert cookie is not None and re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie.value)
    [row] = _rows(c)
    assert row.id_hash == hashlib.sha256(cookie.value.encode()).hexdigest()
    assert row.actor == "alice" and row.ended_at is None
    assert row.token_id == hashlib.sha256(c.tokens["alice"].encode()).hexdigest()
    copied = c.app.test_client()
    copied.set_cookie(COOKIE, cookie.value, path="/ui")
    assert copied.get("/ui/").status_code == 200
    csrf = _csrf(c.http, "/ui/")
    out = c.http.post("/ui/logout", data={"csrf_token": csrf})
    assert out.headers["Location"].endswith("ended=signed-out")
    assert "Signed out." in c.http.get(out.headers["Location"]).get_data(as_text=True)
    assert _ended(copied.get("/ui/")) == "signed-out"
    [row] = _rows(c)
    assert row.end_reason == "signed-out" and row.ended_at is not None
    (signed_in, who, body), (signed_out, who_out, out_body) = _records(c)
    assert (signed_in, who, body["role"], body["rule"]) == (
        "dashboard-signed-in", "alice", "agent", "read.escalations")
    assert body["payload"]["session"] == row.id_hash[:16] and body["escalation_id"] is None
    assert cookie.value not in json.dumps(body) and c.tokens["alice"] not in json.dumps(body)
    assert (signed_out, who_out, out_body["payload"]["why"]) == (
        "dashboard-signed-out", "alice", "signed-out")
    c.app.extensions["baton"].engine.dispose()


def test_idle_timeout_and_an_absolute_lifetime_that_use_never_renews(tmp_path: Path) -> None:
    c, clock = _client(tmp_path, BATON_SESSION_IDLE="10m", BATON_SESSION_LIFETIME="1h")
    assert _sign_in(c, "alice").status_code == 303
    for _ in range(6):  # used every 9 minutes: the idle clock restarts each time
        clock.advance(minutes=9)
        assert c.http.get("/ui/").status_code == 200
    clock.advance(minutes=7)  # 61 minutes after signing in, 7 after the last use
    assert _ended(c.http.get("/ui/")) == "expired"
    assert _rows(c)[0].end_reason == "expired"
    assert _sign_in(c, "alice").status_code == 303
    clock.advance(minutes=10)
    assert _ended(c.http.get("/ui/")) == "idle"
    assert sorted(r.end_reason for r in _rows(c)) == ["expired", "idle"]
    c.app.extensions["baton"].engine.dispose()


def test_revoking_or_rotating_the_token_ends_the_session(tmp_path: Path) -> None:
    c, clock = _client(tmp_path)
    baton = c.app.extensions["baton"]
    assert _sign_in(c, "alice").status_code == 303
    with baton.uow() as uow:
        actors.add(uow.conn, "alice", ["agent"], "frontline", baton.now(), rotate=True)
        uow.commit()
    assert _ended(c.http.get("/ui/")) == "token-revoked"
    assert _sign_in(c, "bob").status_code == 303
    with baton.uow() as uow:
        actors.revoke(uow.conn, "bob", baton.now())
        uow.commit()
    assert _ended(c.http.get("/ui/")) == "token-revoked"
    assert [r.end_reason for r in _rows(c)] == ["token-revoked", "token-revoked"]
    baton.engine.dispose()


def test_an_administrator_lists_and_ends_sessions(tmp_path: Path, monkeypatch: Any) -> None:
    c, _ = _client(tmp_path)
    config = c.app.config
    monkeypatch.setenv("BATON_DATABASE_URL", config["BATON_DATABASE_URL"])
    monkeypatch.setenv("BATON_SIGNING_KEY", config["BATON_SIGNING_KEY"])
    other = c.app.test_client()
    assert _sign_in(c, "alice").status_code == 303
    assert _sign_in(c, "sam", other).status_code == 303
    run = CliRunner()
    listed = run.invoke(main, ["sessions", "list"])
    assert listed.exit_code == 0, listed.output
    shown = [json.loads(line) for line in listed.output.splitlines()]
    assert sorted(s["actor"] for s in shown) == ["alice", "sam"]
    assert {s["state"] for s in shown} == {"running"}
    assert all(len(s["session"]) == 16 for s in shown)
    alice = next(s["session"] for s in shown if s["actor"] == "alice")
    for bad in (["sessions", "end"], ["sessions", "end", "zz"], ["sessions", "end", "0" * 16]):
        refused = run.invoke(main, bad)
        assert refused.exit_code != 0 and len(refused.output.strip().splitlines()) == 1, bad
    done = run.invoke(main, ["sessions", "end", alice, "--as", "root"])
    assert done.exit_code == 0 and "ended 1 session" in done.output
    assert _ended(c.http.get("/ui/")) == "ended-by-admin"
    assert other.get("/ui/").status_code == 200
    assert run.invoke(main, ["sessions", "end", "--actor", "sam"]).exit_code == 0
    assert _ended(other.get("/ui/")) == "ended-by-admin"
    assert run.invoke(main, ["sessions", "list"]).output == ""
    everything = run.invoke(main, ["sessions", "list", "--all"]).output.splitlines()
    assert {json.loads(line)["state"] for line in everything} == {"ended-by-admin"}
    ends = [(a, who, b["role"], b["payload"]["holder"]) for a, who, b in _records(c)
            if a == "dashboard-signed-out"]
    assert ends == [("dashboard-signed-out", "root", "admin", "alice"),
                    ("dashboard-signed-out", "system", "admin", "sam")]
    c.app.extensions["baton"].engine.dispose()


def test_every_page_with_every_role(tmp_path: Path) -> None:
    c, _ = _client(tmp_path)
    eid = c.open()
    pages = [(rule.endpoint, rule.rule.replace("<string:escalation_id>", eid)
              .replace("<string:action>", "note"), method)
             for rule in c.app.url_map.iter_rules() if rule.endpoint in ROUTES
             and rule.endpoint.startswith("ui.")
             for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})]
    assert len(pages) >= 8
    for role, who in HOLDERS.items():
        http = c.app.test_client()
        signed = _sign_in(c, who, http)
        if not EXPECTED[role] & {"escalations", "metrics", "audit-log"}:
            assert signed.status_code == 403, role
            assert "dashboard.sign-in" in signed.get_data(as_text=True)
            assert http.get("/ui/").status_code == 303  # nothing to open signed out
            continue
        assert signed.status_code == 303, role
        csrf = _csrf(http, "/ui/")
        for endpoint, path, method in pages:
            r = http.open(path, method=method, data={"csrf_token": csrf, "note": "x"})
            granted = set(ROUTES[endpoint]) <= EXPECTED[role]
            assert r.status_code < 500, (role, path)
            if granted:  # a page it may read (a refused action is the form's 403)
                assert "Not yours to read" not in r.get_data(as_text=True), (role, path)
            else:
                assert r.status_code == 403, (role, path, r.status_code)
                assert "Refused by rule" in r.get_data(as_text=True)
    c.app.extensions["baton"].engine.dispose()


def test_the_app_role_keeps_sessions_on_postgresql(pg_cluster: Any, tmp_path: Path) -> None:
    # baton_app (least privilege, migration 0008) opens, keeps and ends sessions (0009).
    owner = make_ledger(pg_cluster.new_database(), tmp_path)
    url = make_url(str(owner.engine.url))
    with owner.engine.connect() as conn:
        conn.exec_driver_sql("DROP ROLE IF EXISTS baton_sessions_web")
        conn.exec_driver_sql("CREATE ROLE baton_sessions_web LOGIN PASSWORD 'pw' "
                             "IN ROLE baton_app")
        conn.commit()
    engine = db.make_engine(url.set(username="baton_sessions_web", password="pw")
                            .render_as_string(hide_password=False))
    alice = DEMO_ACTORS["alice"]
    limits = dashboard_sessions.Limits(timedelta(hours=1), timedelta(minutes=10))
    try:
        uow = SqlUnitOfWork(engine, owner.signer)
        dashboard_sessions.sign_in(uow=uow, store=SqlSessions(uow), actor=alice,
                                   token_id="0" * 64, id_hash="1" * 64, reads=["escalations"],
                                   policy=owner.policy, now=owner.now)
        uow = SqlUnitOfWork(engine, owner.signer)
        dashboard_sessions.keep(uow=uow, store=SqlSessions(uow), id_hash="1" * 64,
                                data={"_flashes": []}, now=owner.tick(5))
        with engine.connect() as conn:
            stored = sessions.lookup(conn, "1" * 64)
        assert stored is not None and stored.last_seen_at == owner.now
        assert dashboard_sessions.ended_why(stored, owner.now, limits) == "token-revoked"
        uow = SqlUnitOfWork(engine, owner.signer)
        dashboard_sessions.sign_out(uow=uow, store=SqlSessions(uow), actor=alice,
                                    id_hash="1" * 64, policy=owner.policy, now=owner.tick())
        with engine.connect() as conn:
            assert sessions.listing(conn)[0]["end_reason"] == "signed-out"
    finally:
        engine.dispose()
        owner.engine.dispose()
