"""What a request may carry (issue 27, points 1, 2, 5, 6, 8, 9, 10): bodies read only after
authentication and within their limit, every JSON media type guarded, 415 for the others,
back-off on failed authentication, bounded form integers, security headers, and the
details of /healthz for operators only. On SQLite and PostgreSQL: nothing refused is
ever stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.initialised_app import OPEN, Client
from tests.integration.guarded_app import make, signed_in, written

JSON_TYPES = ["application/problem+json", "application/json-patch+json",
              "application/vnd.x+json", "application/merge-patch+json"]
HEADERS = {"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options",
           "Referrer-Policy"}


@pytest.fixture
def c(database_url: str, tmp_path: Path) -> Iterator[Client]:
    client = make(database_url, tmp_path)
    yield client
    client.app.extensions["baton"].engine.dispose()


def problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:300])
    assert r.mimetype == "application/problem+json", r.mimetype
    body: dict[str, Any] = r.json
    return body


def post_raw(c: Client, path: str, who: str | None, data: bytes | str, content_type: str,
             **headers: str) -> Any:
    return c.http.post(f"/api/v1{path}", data=data, content_type=content_type,
                       headers=c.h(who, **headers))


def test_anonymous_requests_are_refused_before_their_body_is_read(c: Client) -> None:
    # A NUL in the body used to answer 422 before the token was looked at.
    r = post_raw(c, "/escalations", None, '{"title": "\\u0000"}', "application/json")
    problem(r, 401)
    r = post_raw(c, "/escalations", "alice", b"[" + b"1," * 600_000 + b"1]",
                 "application/json")
    assert "1048576" in problem(r, 413)["detail"]
    assert problem(r, 413)["type"] == "urn:baton:problem:body-too-large"


def test_every_json_media_type_is_415_and_nothing_is_stored(c: Client) -> None:
    before = written(c)
    body = json.dumps({**OPEN, "customer": {"id": "c\u0000"}})
    for media_type in [*JSON_TYPES, "text/plain", "application/x-www-form-urlencoded",
                       "multipart/form-data; boundary=x", "application/xml", ""]:
        r = post_raw(c, "/escalations", "alice", body, media_type)
        assert problem(r, 415)["type"] == "urn:baton:problem:unsupported-media-type"
    assert written(c) == before


@pytest.mark.parametrize("body,status", [
    ({**OPEN, "customer": {"id": "c\u0000"}}, 422),
    ({**OPEN, "title": "\ud800"}, 422),
    ({**OPEN, "\u0000": 1}, 422),
    ({**OPEN, "amount": {"value": 10**30, "currency": "USD"}}, 422),
])
def test_nul_surrogates_and_huge_integers_are_4xx_and_never_stored(
        c: Client, body: dict[str, Any], status: int) -> None:
    before = written(c)
    text = json.dumps(body, ensure_ascii=True)
    problem(post_raw(c, "/escalations", "alice", text, "application/json"), status)
    assert written(c) == before


def test_deep_nesting_and_constants_are_400_never_500(c: Client) -> None:
    before = written(c)
    for text in ["[" * 100_000 + "]" * 100_000, '{"a":' * 40 + "1" + "}" * 40,
                 '{"title": NaN}', '{"title": 1.5e400}', '{"x": [-1e999]}', "{", "\xff"]:
        problem(post_raw(c, "/escalations", "alice", text.encode("utf-8", "surrogatepass")
                         if text != "\xff" else b"\xff", "application/json"), 400)
    assert written(c) == before


def test_forms_are_bounded_and_take_forms_only(c: Client) -> None:
    r = c.http.post("/ui/login", data=b"token=" + b"x" * 70_000,
                    content_type="application/x-www-form-urlencoded")
    assert r.status_code == 413 and r.mimetype == "text/html"
    r = c.http.post("/ui/login", data='{"token": "x"}', content_type="application/json")
    assert r.status_code == 415 and r.mimetype == "text/html"
    r = c.http.post("/feedback/x", data="{}", content_type="application/json")
    assert r.status_code == 415 and r.mimetype == "text/html"
    assert "type application/x-www-form-urlencoded" in r.get_data(as_text=True)


def test_the_back_off_slows_one_client_and_never_another(c: Client) -> None:
    attacker = {"REMOTE_ADDR": "203.0.113.7"}
    statuses = [c.http.get("/api/v1/escalations", environ_base=attacker,
                           headers={"Authorization": f"Bearer bt_guess{i}"}).status_code
                for i in range(30)]
    assert statuses[:10] == [401] * 10 and set(statuses[10:]) == {429}
    slowed = c.http.get("/api/v1/escalations", environ_base=attacker,
                        headers=c.h("alice"))
    assert problem(slowed, 429)["type"] == "urn:baton:problem:too-many-failures"
    assert 1 <= int(slowed.headers["Retry-After"]) <= 10
    # The right token from another client (another /64 for IPv6) is never slowed.
    for other in ("203.0.113.8", "2001:db8:1::1"):
        r = c.http.get("/api/v1/escalations", environ_base={"REMOTE_ADDR": other},
                       headers=c.h("alice"))
        assert r.status_code == 200
    # The sign-in form counts its failures alike and answers with a page.
    page = c.http.get("/ui/login", environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert page.status_code == 200
    csrf = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    answers = [c.http.post("/ui/login", environ_base={"REMOTE_ADDR": "198.51.100.9"},
                           data={"token": f"bt_guess{i}", "csrf_token": csrf})
               for i in range(12)]
    assert [a.status_code for a in answers[:10]] == [401] * 10
    assert answers[11].status_code == 429 and answers[11].mimetype == "text/html"
    assert "Retry-After" in answers[11].headers


def test_security_headers_on_pages_api_errors_and_static_files(c: Client) -> None:
    for path, who in (("/ui/login", None), ("/api/v1/escalations", "alice"),
                      ("/api/v1/escalations", None), ("/healthz", None),
                      ("/api/v1/docs", None), ("/feedback/nope", None),
                      ("/static/ui/baton.css", None), ("/api/v1/nowhere", "alice")):
        r = c.http.get(path, headers=c.h(who))
        r.close()  # a static file is sent from an open file
        assert HEADERS <= set(r.headers.keys()), (r.request.path, dict(r.headers))
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Referrer-Policy"] == "no-referrer"
        assert "unsafe-inline" not in r.headers["Content-Security-Policy"]


def test_health_details_are_for_operators(c: Client) -> None:
    for path in ("/healthz", "/api/v1/healthz"):
        for who in (None, "alice", "aud"):
            body = c.http.get(path, headers=c.h(who)).json
            assert set(body) <= {"status", "database", "signing", "worker"}, (who, body)
        c.open()
        c.app.extensions["baton"].settings["BATON_WORKER_POLL"] = 0.0
        body = c.http.get(path, headers=c.h("root")).json
        assert body["status"] in ("ok", "degraded")


def test_bad_numbers_in_dashboard_forms_are_pages_not_500(c: Client) -> None:
    eid = c.open()
    csrf = signed_in(c, "alice")
    before = written(c)
    for version in ("²", "9" * 5000, "٣", "-1", ""):
        r = c.http.post(f"/ui/escalations/{eid}/actions/acknowledge",
                        data={"csrf_token": csrf, "version": version, "note": "mine"})
        assert r.status_code in (200, 303, 400, 409, 422), r.status_code
    assert written(c)[0] == before[0] + 1  # one acknowledge; the rest refused or no-change
    for tier in ("²", "9" * 5000, "٣", "abc"):
        r = c.http.post(f"/ui/escalations/{eid}/actions/escalate",
                        data={"csrf_token": csrf, "reason": "r", "trigger": "authority",
                              "to_tier": tier})
        assert r.status_code in (303, 400, 422), r.status_code
    assert written(c)[0] == before[0] + 1


def test_bad_csat_on_the_feedback_page_is_a_page_not_500(c: Client) -> None:
    eid = c.open()
    c.act(eid, "alice", "acknowledge", {"note": "x"})
    c.act(eid, "alice", "resolve", {"summary": "s"})
    made = c.post(f"/escalations/{eid}/feedback-link", "alice", {})
    path = urlsplit(made.json["link"]).path
    before = written(c)
    for csat in ("²", "9" * 5000, "٣", "-1"):
        r = c.http.post(path, data={"confirmed": "true", "csat": csat})
        assert r.status_code == 422 and r.mimetype == "text/html", r.status_code
        assert r.headers["Referrer-Policy"] == "no-referrer"
    assert written(c) == before
    r = c.http.post(path, data={"confirmed": "true", "csat": "\u0000"})
    assert r.status_code == 422 and written(c) == before


def test_login_next_with_crlf_stays_on_the_dashboard(c: Client) -> None:
    page = c.http.get("/ui/login?next=/ui/%0d%0aSet-Cookie:%20x=1")
    assert page.status_code == 200
    csrf = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    r = c.http.post("/ui/login", data={"token": c.tokens["alice"], "csrf_token": csrf,
                                       "next": "/ui/\r\nSet-Cookie: x=1"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/ui/")
    assert "x=1" not in r.headers.get("Set-Cookie", "")


@pytest.mark.parametrize("target", ["/ui/../api/v1/audit/events", "/ui/%2e%2e/api/v1/access",
                                    "/ui/.%2E/healthz", "/ui/./../metrics"])
def test_login_next_never_climbs_out_of_the_dashboard(c: Client, target: str) -> None:
    page = c.http.get("/ui/login")
    csrf = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    r = c.http.post("/ui/login", data={"token": c.tokens["alice"], "csrf_token": csrf,
                                       "next": target})
    assert r.status_code == 303 and urlsplit(r.headers["Location"]).path == "/ui/"


@pytest.mark.parametrize("target", ["/ui/\r\nSet-Cookie: x=1", "/ui/../api/v1/audit/events"])
def test_the_time_zone_form_goes_back_only_to_a_dashboard_page(c: Client, target: str) -> None:
    csrf = signed_in(c, "alice")
    r = c.http.post("/ui/time-zone", data={"csrf_token": csrf, "zone": "UTC", "next": target})
    assert r.status_code == 303 and urlsplit(r.headers["Location"]).path == "/ui/"


@pytest.mark.parametrize("url", ["https://[::1", "https://hooks.example:99999/",
                                 "https://hooks.example:-1/", "https://hooks.example:abc/",
                                 "https://[::7f00:1]/", "https://[64:ff9b::a9fe:a9fe]/",
                                 "https://[2002:7f00:1::]/"])
def test_webhook_urls_that_cannot_be_used_are_422(c: Client, url: str) -> None:
    before = written(c)
    r = c.post("/webhooks", "root", {"url": url, "events": ["*"]})
    assert "url" in problem(r, 422)["errors"]
    assert written(c) == before
