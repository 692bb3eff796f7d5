"""Bad input is a 4xx problem on both databases, never a 500, and writes nothing (issue
15): NUL bytes and lone surrogates, JSON nested thousands deep, integers of thousands of
digits, oversized or out-of-range cursors and `after`, amounts in other digits or with a
newline, concurrent retries with one Idempotency-Key, and what gunicorn refuses itself."""

from __future__ import annotations

import base64
import json
import socket
import threading
from typing import Any
from urllib.parse import urlparse

import pytest
import requests
from sqlalchemy import text

from audit.store import db
from tests.e2e.conftest import Server
from tests.initialised_app import OPEN
from tests.threads import run_together
from workflow.catalogue import ACTION_ROUTES, CATALOGUE, HANDLE, REF, TEXT, TEXTS


def written(server: Server) -> tuple[int, int, int]:
    """Ledger rows, content rows, idempotency rows."""
    engine = db.make_engine(server.env["BATON_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return tuple(int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
                         for t in ("ledger", "content", "idempotency"))  # type: ignore[return-value]
    finally:
        engine.dispose()


def assert_problem(r: requests.Response, statuses: tuple[int, ...] = (422,)) -> Any:
    assert r.status_code in statuses, (r.status_code, r.text[:300])
    assert r.headers["Content-Type"].startswith("application/problem+json"), r.text[:300]
    return r.json()


def raw_post(server: Server, path: str, body: bytes, **headers: str) -> requests.Response:
    return requests.post(f"{server.url}{path}", data=body, timeout=10, headers={
        "Authorization": f"Bearer {server.tokens['alice']}",
        "Content-Type": "application/json", **headers})


def test_text_that_no_field_may_hold_is_refused_and_nothing_is_written(
        server: Server) -> None:
    alice, aud = server.session("alice"), server.session("aud")
    before = written(server)
    for title in ("a\x00b", "\ud800 alone", "tail \udfff"):
        body = json.dumps({**OPEN, "title": title}).encode()  # ensure_ascii: \u escapes
        problem = assert_problem(raw_post(server, "/api/v1/escalations", body))
        assert "title" in problem["errors"]
    customer = {**OPEN, "customer": {**OPEN["customer"], "name": "Ada\x00"}}
    assert "customer.name" in assert_problem(
        alice.post(f"{server.url}/api/v1/escalations", json=customer, timeout=10))["errors"]
    for path in ("/api/v1/escalations?owner=al%00ice", "/api/v1/escalations?team=%00",
                 "/api/v1/escalations/e%00x", "/api/v1/audit/events?escalation=%00"):
        assert_problem(aud.get(f"{server.url}{path}", timeout=10))
    assert written(server) == before


def test_no_text_field_of_any_action_takes_a_nul_or_a_lone_surrogate(server: Server) -> None:
    alice = server.session("alice")
    eid = alice.post(f"{server.url}/api/v1/escalations", json=OPEN, timeout=10).json()["id"]
    before = written(server)
    tried = 0
    for name in ACTION_ROUTES:
        for field, kind in CATALOGUE[name].fields.items():
            if kind not in (TEXT, TEXTS, HANDLE, REF):
                continue
            for bad in ("x\x00y", "\udc00"):
                value: Any = [bad] if kind == TEXTS else bad
                body = json.dumps({field: value}).encode()
                r = raw_post(server, f"/api/v1/escalations/{eid}/actions/{name}", body)
                errors = assert_problem(r)["errors"]
                assert (field if kind != TEXTS else f"{field}.0") in errors, (name, errors)
                tried += 1
    assert tried > 40
    assert written(server) == before


def test_json_nested_deep_and_integers_of_thousands_of_digits(server: Server) -> None:
    before = written(server)
    deep = b'{"title": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    assert assert_problem(raw_post(server, "/api/v1/escalations", deep),
                          (400,))["type"].endswith("malformed")
    nested = json.dumps({**OPEN, "title": json.loads("[" * 40 + "]" * 40)}).encode()
    assert_problem(raw_post(server, "/api/v1/escalations", nested), (400,))
    for digits in (25, 4000, 5000):
        huge = json.dumps(OPEN)[:-1].encode() + b', "tier": ' + b"9" * digits + b"}"
        assert_problem(raw_post(server, "/api/v1/escalations", huge))
    assert written(server) == before


def test_cursors_and_after_out_of_range(server: Server) -> None:
    aud = server.session("aud")
    far = base64.urlsafe_b64encode(b"9" * 30).decode()
    for query in ("cursor=" + "QUJD" * 250, f"cursor={far}", "cursor=%00",
                  "sort=next_due&cursor=" + base64.urlsafe_b64encode(b"x\x00|1").decode()):
        assert_problem(aud.get(f"{server.url}/api/v1/escalations?{query}", timeout=10))
    for after in (2**64, 2**63, -(2**64), int("9" * 40)):
        assert_problem(aud.get(f"{server.url}/api/v1/audit/events?after={after}",
                               timeout=10))
    assert_problem(aud.get(f"{server.url}/api/v1/audit/proof/inclusion?seq={2**70}&size=1",
                           timeout=10))


@pytest.mark.parametrize("value", ["\u0661\u0660\u0660", "100\n", "１００", "1e3", " 100"])
def test_amounts_take_ascii_digits_only(server: Server, value: str) -> None:
    before = written(server)
    r = server.session("alice").post(f"{server.url}/api/v1/escalations", timeout=10,
                                     json={**OPEN, "amount": {"value": value,
                                                              "currency": "USD"}})
    assert_problem(r)
    assert written(server) == before


def test_concurrent_retries_with_one_key_write_once(server: Server) -> None:
    alice = server.session("alice")
    key = {"Idempotency-Key": f"race-{server.url}"}
    before = written(server)

    answers: list[requests.Response] = []
    gate = threading.Barrier(6)

    def post() -> None:
        gate.wait()
        answers.append(alice.post(f"{server.url}/api/v1/escalations", json=OPEN,
                                  headers=key, timeout=30))

    run_together([post] * 6)
    assert [r.status_code for r in answers] == [201] * 6, [r.text[:200] for r in answers]
    assert sum("Idempotent-Replayed" not in r.headers for r in answers) == 1
    assert len({r.json()["id"] for r in answers}) == 1
    assert written(server)[2] == before[2] + 1


def _raw(server: Server, request: bytes) -> tuple[int, str, bytes]:
    address = urlparse(server.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    ctype = next((ln.split(":", 1)[1].strip() for ln in lines
                  if ln.lower().startswith("content-type:")), "")
    return int(lines[0].split()[1]), ctype, body


def test_what_gunicorn_refuses_is_problem_json_too(server: Server) -> None:
    long_line = f"GET /api/v1/escalations?x={'a' * 5000} HTTP/1.1\r\nHost: x\r\n\r\n"
    many = "".join(f"X-H{i}: v\r\n" for i in range(101))
    cases = {
        414: long_line.encode(),
        431: f"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {'b' * 9000}\r\n\r\n".encode(),
        400: b"NOT A REQUEST LINE\r\n\r\n",
    }
    for status, request in cases.items():
        got, ctype, body = _raw(server, request)
        assert (got, ctype) == (status, "application/problem+json"), (status, body[:200])
        assert json.loads(body)["status"] == status
    got, ctype, _ = _raw(server, f"GET /healthz HTTP/1.1\r\nHost: x\r\n{many}\r\n".encode())
    assert (got, ctype) == (431, "application/problem+json")
