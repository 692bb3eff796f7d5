"""Signing in to the dashboard through a real OpenID Connect provider (oidc-provider-mock
over HTTP), driven by Flask's test client: PKCE (S256), state and nonce as sent and
checked, the person's actor and session from their groups through the policy, the ledger's
record of it, and every way it can fail as a clear page (never a 500)."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from audit.reads.export import bundle_lines
from audit.store import policy_refs
from audit.store.schema import actors, ledger
from audit.verifier.verify import verify_bundle
from tests.initialised_app import Client
from tests.oidc_provider import Provider, provider, query_of, signing_on_app


@pytest.fixture
def idp() -> Iterator[Provider]:
    with provider() as served:
        yield served


@pytest.fixture
def baton(tmp_path: Path, idp: Provider) -> Client:
    return signing_on_app(tmp_path, idp.url)


def _start(http: FlaskClient) -> str:
    r = http.get("/ui/sso/login?next=/ui/metrics")
    assert r.status_code == 302, r.text
    return str(r.headers["Location"])


def _callback(http: FlaskClient, location: str) -> Any:
    return http.get(location.removeprefix("http://localhost"))


def _records(client: Client, action: str) -> list[dict[str, Any]]:
    with client.app.extensions["baton"].engine.connect() as conn:
        rows = conn.execute(select(ledger.c.body).where(ledger.c.action == action)).all()
        return policy_refs.records(conn, [r.body for r in rows])


def test_a_person_signs_in_with_pkce_state_and_nonce(baton: Client, idp: Provider,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    idp.user("u-1", preferred_username="mira", groups=["Support Tier 1", "Unmapped"])
    http = baton.app.test_client()
    to_provider = _start(http)
    sent = query_of(to_provider)
    assert sent["code_challenge_method"] == "S256"
    assert sent["state"] and sent["nonce"] and sent["client_id"] == "baton-dashboard"
    back = idp.authorize(to_provider, "u-1")
    r = _callback(http, back)
    assert r.status_code == 303 and r.headers["Location"] == "/ui/metrics"
    # PKCE: the verifier Baton sent for the code hashes to the challenge it sent first.
    verifier = idp.requests_to("/oauth2/token")[-1]["code_verifier"]
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    assert digest.rstrip(b"=").decode() == sent["code_challenge"]
    page = http.get("/ui/metrics")
    assert page.status_code == 200
    assert "Signed in as mira (agent) through single sign-on." in page.text
    signed = _records(baton, "dashboard-signed-in")[-1]
    assert (signed["actor"], signed["role"], signed["via"]) == \
        ("mira", "agent", "sso:Support Tier 1")
    assert signed["payload"]["token"].startswith("sso:")
    with baton.app.extensions["baton"].engine.connect() as conn:
        row = conn.execute(select(actors).where(actors.c.handle == "mira")).one()
    assert (json.loads(row.roles), row.team) == (["agent"], "frontline")
    # The log says a sign-in happened, not who (a preferred_username is often an address).
    assert "signed in through the identity provider" in caplog.text
    assert "mira" not in caplog.text


def test_actions_in_the_session_record_the_claim(baton: Client, idp: Provider) -> None:
    idp.user("u-2", preferred_username="nina", groups=["Support Tier 1"])
    http = baton.app.test_client()
    assert _callback(http, idp.authorize(_start(http), "u-2")).status_code == 303
    eid = baton.open("alice")
    page = http.get(f"/ui/escalations/{eid}")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = http.post(f"/ui/escalations/{eid}/actions/acknowledge",
                  data={"csrf_token": token, "note": "on it"})
    assert r.status_code in (200, 303), r.text
    acked = [e for e in _records(baton, "acknowledge") if e["escalation_id"] == eid]
    assert acked[0]["actor"] == "nina" and acked[0]["via"] == "sso:Support Tier 1"
    opened = [e for e in _records(baton, "open") if e["escalation_id"] == eid]
    assert "via" not in opened[0]  # alice signed in with a token: no claim to name


def test_the_export_with_via_still_verifies(baton: Client, idp: Provider) -> None:
    idp.user("u-3", preferred_username="omar", groups=["Baton Auditors"])
    http = baton.app.test_client()
    assert _callback(http, idp.authorize(_start(http), "u-3")).status_code == 303
    assert _records(baton, "dashboard-signed-in")[-1]["via"] == "sso:Baton Auditors"
    b = baton.app.extensions["baton"]
    with b.engine.connect() as conn:
        lines = list(bundle_lines(conn, baton.app.config["BATON_LOG_ORIGIN"], b.vkey,
                                  b.now()))
    report = verify_bundle(lines)
    assert report.ok, report.problems


def test_unknown_groups_get_a_page_and_no_session(baton: Client, idp: Provider) -> None:
    idp.user("u-4", preferred_username="zed", groups=["Marketing"])
    http = baton.app.test_client()
    r = _callback(http, idp.authorize(_start(http), "u-4"))
    assert r.status_code == 403
    assert "None of your groups is given a role in Baton" in r.text
    assert http.get("/ui/").status_code == 303  # still signed out
    assert _records(baton, "dashboard-signed-in") == []
    with baton.app.extensions["baton"].engine.connect() as conn:
        assert conn.execute(select(actors).where(actors.c.handle == "zed")).first() is None


def test_a_state_that_is_not_this_browsers_is_refused(baton: Client, idp: Provider) -> None:
    idp.user("u-5", preferred_username="mira", groups=["Support Tier 1"])
    http = baton.app.test_client()
    back = idp.authorize(_start(http), "u-5")
    state = query_of(back)["state"]
    r = _callback(http, back.replace(f"state={state}", "state=forged"))
    assert r.status_code == 400 and "state mismatch" in r.text
    assert _records(baton, "dashboard-signed-in") == []


def test_a_nonce_that_is_not_this_browsers_is_refused(baton: Client, idp: Provider) -> None:
    idp.user("u-6", preferred_username="mira", groups=["Support Tier 1"])
    mine, theirs = baton.app.test_client(), baton.app.test_client()
    my_state = query_of(_start(mine))["state"]
    their_request = _start(theirs)  # their nonce, answered with my state
    forged = their_request.replace(f"state={query_of(their_request)['state']}",
                                   f"state={my_state}")
    r = _callback(mine, idp.authorize(forged, "u-6"))
    assert r.status_code == 401 and "could not be verified" in r.text and "nonce" in r.text
    assert _records(baton, "dashboard-signed-in") == []


def test_an_answer_without_the_pending_cookie_is_refused(baton: Client,
                                                        idp: Provider) -> None:
    idp.user("u-7", preferred_username="mira", groups=["Support Tier 1"])
    back = idp.authorize(_start(baton.app.test_client()), "u-7")
    r = _callback(baton.app.test_client(), back)  # another browser
    assert r.status_code == 400 and "not started in this browser" in r.text


def test_a_refusal_by_the_provider_is_a_page(baton: Client) -> None:
    http = baton.app.test_client()
    state = query_of(_start(http))["state"]
    r = http.get(f"/ui/sso/callback?error=access_denied&state={state}")
    assert r.status_code == 401 and "(access_denied)" in r.text


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_provider_out_of_reach_is_a_page(tmp_path: Path) -> None:
    down = signing_on_app(tmp_path, f"http://127.0.0.1:{_closed_port()}")
    r = down.app.test_client().get("/ui/sso/login")
    assert r.status_code == 503 and "could not reach the identity provider" in r.text
    login = down.app.test_client().get("/ui/login")
    assert "Sign in with single sign-on" in login.text


def test_without_an_issuer_there_is_no_button(tmp_path: Path) -> None:
    from tests.initialised_app import make_client  # noqa: PLC0415
    plain = make_client(tmp_path)
    assert "single sign-on" not in plain.app.test_client().get("/ui/login").text
    assert plain.app.test_client().get("/ui/sso/login").status_code == 404
