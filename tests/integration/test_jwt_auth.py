"""Machines' JWTs: minted with joserfc, checked by Baton against a JWKS served over real
HTTP by a small issuer in the test. Every failed check is a 401 problem naming it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy import select

from api.jwt_auth import Keys
from audit.store import policy_refs
from audit.store.schema import ledger
from tests.initialised_app import Client
from tests.oidc_provider import CLIENT_ID, signing_on_app


class Issuer:
    """An issuer's discovery document and JWKS, served on a free port; `keys` may be
    changed while it runs (a rotation)."""

    def __init__(self) -> None:
        self.keys: list[Any] = [RSAKey.generate_key(2048, parameters={"kid": "k1"})]
        self.fetches: list[str] = []
        issuer = self
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                issuer.fetches.append(self.path)
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks"}
                else:
                    body = KeySet(issuer.keys).as_dict(private=False)
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: Any) -> None:
                pass
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def token(self, key: Any = None, alg: str = "RS256", **claims: Any) -> str:
        """A signed JWT with sensible claims, changed by `claims` (None drops one)."""
        now = int(time.time())
        body = {"iss": self.url, "aud": CLIENT_ID, "sub": "svc-1", "exp": now + 300,
                "iat": now, "preferred_username": "billing-bot", "groups": ["Finance"]}
        body.update(claims)
        key = key or self.keys[0]
        header = {"alg": alg, "kid": key.kid} if key.kid else {"alg": alg}
        return jwt.encode(header, {k: v for k, v in body.items() if v is not None}, key,
                          algorithms=[alg])


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    served = Issuer()
    thread = threading.Thread(target=served.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        served.server.shutdown()
        thread.join(timeout=10)
        served.server.server_close()


@pytest.fixture
def baton(tmp_path: Path, issuer: Issuer) -> Client:
    return signing_on_app(tmp_path, issuer.url)


def _get(baton: Client, token: str) -> Any:
    return baton.app.test_client().get("/api/v1/escalations",
                                       headers={"Authorization": f"Bearer {token}"})


def _refused(baton: Client, token: str, check: str) -> None:
    r = _get(baton, token)
    assert r.status_code == 401, r.text
    assert r.json["check"] == check and r.json["type"] == "urn:baton:problem:unauthenticated"
    assert r.headers["Content-Type"] == "application/problem+json"


def test_a_valid_token_acts_as_its_mapped_actor(baton: Client, issuer: Issuer) -> None:
    token = issuer.token()
    assert _get(baton, token).status_code == 200
    eid = baton.open("alice")
    assert baton.act(eid, "alice", "acknowledge", {"note": "mine"}).status_code == 200
    assert baton.act(eid, "alice", "escalate",
                     {"reason": "refund", "trigger": "authority"}).status_code == 200
    r = baton.app.test_client().post(
        f"/api/v1/escalations/{eid}/actions/acknowledge", json={"note": "bot"},
        headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    with baton.app.extensions["baton"].engine.connect() as conn:
        body = policy_refs.record(conn, conn.execute(select(ledger.c.body).where(
            ledger.c.action == "acknowledge", ledger.c.escalation_id == eid)
            .order_by(ledger.c.seq.desc())).scalars().first())
    assert (body["actor"], body["role"], body["via"]) == ("billing-bot", "finance",
                                                          "sso:Finance")


@pytest.mark.parametrize(("change", "check"), [
    ({"iss": "https://evil.example"}, "iss"), ({"aud": "someone-else"}, "aud"),
    ({"exp": int(time.time()) - 3600}, "exp"), ({"exp": None}, "exp"),
    ({"aud": None}, "aud"), ({"sub": None}, "sub")])
def test_claims_that_fail_a_check(baton: Client, issuer: Issuer, change: dict[str, Any],
                                  check: str) -> None:
    _refused(baton, issuer.token(**change), check)


def test_an_unknown_kid_is_refused(baton: Client, issuer: Issuer) -> None:
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k9"})
    _refused(baton, issuer.token(key=stranger), "kid")


def test_no_kid_is_refused(baton: Client, issuer: Issuer) -> None:
    _refused(baton, issuer.token(key=RSAKey.generate_key(2048)), "kid")


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_alg_none_is_refused(baton: Client, issuer: Issuer) -> None:
    claims = jwt.decode(issuer.token(), issuer.keys[0]).claims
    unsigned = f"{_b64({'alg': 'none', 'kid': 'k1'})}.{_b64(claims)}."
    _refused(baton, unsigned, "alg")


def test_hs256_with_the_public_key_as_secret_is_refused(baton: Client,
                                                        issuer: Issuer) -> None:
    # The classic confusion: the RSA public key (which anyone has) as an HMAC secret.
    public_pem = issuer.keys[0].as_pem(private=False)
    claims = jwt.decode(issuer.token(), issuer.keys[0]).claims
    signing_input = f"{_b64({'alg': 'HS256', 'kid': 'k1'})}.{_b64(claims)}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    _refused(baton, forged, "alg")


def test_a_tampered_signature_is_refused(baton: Client, issuer: Issuer) -> None:
    head, body, sig = issuer.token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    forged = _b64({**claims, "groups": ["Baton Auditors"]})
    _refused(baton, f"{head}.{forged}.{sig}", "signature")


def test_es256_is_accepted(baton: Client, issuer: Issuer) -> None:
    issuer.keys.append(ECKey.generate_key("P-256", parameters={"kid": "e1"}))
    assert _get(baton, issuer.token(key=issuer.keys[-1], alg="ES256")).status_code == 200


def test_unmapped_groups_are_forbidden(baton: Client, issuer: Issuer) -> None:
    r = _get(baton, issuer.token(groups=["Marketing"]))
    assert r.status_code == 403 and r.json["check"] == "no-role"


def test_a_rotated_key_is_fetched_once(baton: Client, issuer: Issuer) -> None:
    assert _get(baton, issuer.token()).status_code == 200
    new = RSAKey.generate_key(2048, parameters={"kid": "k2"})
    issuer.keys = [new]
    keys: Keys = baton.app.extensions["baton_jwt_keys"]
    keys._fetched_at = (keys._fetched_at or 0) - 61  # noqa: SLF001 - a minute passed
    assert _get(baton, issuer.token(key=new)).status_code == 200
    jwks = [p for p in issuer.fetches if p == "/jwks"]
    assert len(jwks) == 2
    # Another unknown kid within the minute: refused, and the keys are not fetched again.
    _refused(baton, issuer.token(key=RSAKey.generate_key(2048, parameters={"kid": "k3"})),
             "kid")
    assert len([p for p in issuer.fetches if p == "/jwks"]) == 2


def test_keys_are_refetched_at_most_once_a_minute() -> None:
    now = [0.0]
    served = {"keys": [RSAKey.generate_key(2048, parameters={"kid": "a"}).as_dict(
        private=False)]}
    calls: list[str] = []

    def fetch(url: str) -> dict[str, Any]:
        calls.append(url)
        if url.endswith("openid-configuration"):
            return {"issuer": "https://idp.example", "jwks_uri": "https://idp.example/k"}
        return served

    keys = Keys("https://idp.example", fetch=fetch, clock=lambda: now[0])
    assert keys.key("a") is not None and keys.fetches == 1
    assert keys.key("b") is None and keys.fetches == 1  # fetched just now
    now[0] = 59.0
    assert keys.key("b") is None and keys.fetches == 1
    now[0] = 60.0
    assert keys.key("b") is None and keys.fetches == 2
    assert keys.key("a") is not None and keys.fetches == 2  # known: no fetch


def test_a_provider_out_of_reach_is_503(tmp_path: Path, issuer: Issuer) -> None:
    token = issuer.token()
    issuer.server.shutdown()
    issuer.server.server_close()
    down = signing_on_app(tmp_path, issuer.url)
    r = _get(down, token)
    assert r.status_code == 503 and r.json["type"].endswith("identity-provider-unavailable")


def test_baton_tokens_still_work(baton: Client) -> None:
    assert baton.get("/escalations", "alice").status_code == 200
