"""A fuzz test over every route, page and form (issue 27): the app's own URL map walked,
each route sent malformed input of every kind (wrong types, NUL, lone surrogates, huge and
Unicode digits, deep nesting, CR/LF, bad ports and hosts, every media type) in its path,
query, headers and body. On SQLite and PostgreSQL: no 5xx, no HTML from the API, and
nothing written to the ledger."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from audit.store.schema import ledger
from tests.initialised_app import Client
from tests.integration.guarded_app import make, signed_in, written

VALUES: list[Any] = [
    "\x00", "a\x00b", "\ud800", "x\udfffy", "²", "٣", "௫", "9" * 5000, "-1", "1e999",
    "\r\nX-Injected: 1", "/ui/\r\nSet-Cookie: x=1", "https://[::1", "https://h.example:99999/",
    "https://h.example:-1/", "https://h.example:abc/", "https://[::7f00:1]/", "", " ",
    "null", "../../etc/passwd", "A" * 5000, "0x10", "NaN", "Infinity", "\u202e\u2066",
    10**30, -(10**30), 1.5e308, True, None, [], {}, [[[[]]]], {"a": {"b": {"c": "\x00"}}},
]
FIELDS = ["title", "description", "category", "severity", "customer", "customer_id", "note",
          "reason", "trigger", "to_tier", "to", "handle", "summary", "amount", "url",
          "events", "item", "kind", "within", "channel", "confirmed", "csat", "text",
          "version", "token", "next", "grace_seconds", "description"]
QUERY = ["limit", "after", "cursor", "format", "since", "until", "seq", "size", "first",
         "second", "tree_size", "customer_id", "team", "state", "leaf_index", "owner"]
MEDIA = ["application/json", "application/problem+json", "application/merge-patch+json",
         "application/json-patch+json", "application/vnd.x+json", "text/plain",
         "application/x-www-form-urlencoded", "multipart/form-data; boundary=zz",
         "application/xml", "text/html", "application/octet-stream", "", "application/json; "
         "charset=utf-16", "*/*"]
STRUCTURES = ["[" * 50_000 + "]" * 50_000, '{"a":' * 100 + "1" + "}" * 100, "[]", "1",
              "null", '"x"', "{", "\xff\xfe", '{"\\u0000": 1}', '{"a": 1' + "0" * 5000 + "}",
              '{"title": "\\ud800"}', '{"a": NaN}', "[" + "1," * 10_000 + "1]"]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _segment(value: Any) -> str:
    return quote(_text(value).encode("utf-8", "surrogatepass"), safe="")


def _body(value: Any) -> bytes:
    return json.dumps({f: value for f in FIELDS}).encode()


def _encoded(fields: dict[str, Any]) -> bytes:
    return "&".join(f"{k}={_segment(v)}" for k, v in fields.items()).encode()


def _form(value: Any, csrf: str) -> bytes:
    text = _segment(value)
    return ("&".join(f"{f}={text}" for f in FIELDS) + f"&csrf_token={csrf}").encode()


def _fill(rule: str, known: dict[str, str], value: Any) -> str:
    """The rule's path with the variables Baton can name filled in (`known`), the others
    with the malformed value."""
    def one(match: re.Match[str]) -> str:
        return known.get(match[1], _segment(value))
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", one, rule)


def requests_for(rules: list[Any], known: dict[str, str], csrf: str
                 ) -> Iterator[dict[str, Any]]:
    """Every route, each with malformed path variables, queries, headers and bodies; the
    values rotate over the routes so that each value meets many kinds of route."""
    values = itertools.cycle(VALUES)
    media = itertools.cycle(MEDIA)
    structures = itertools.cycle(STRUCTURES)
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for _ in range(3):
                value = next(values)
                path = _fill(rule.rule, {"escalation_id": known["escalation_id"]}, value)
                yield {"method": method, "path": path, "query": "&".join(
                    f"{q}={_segment(value)}" for q in QUERY), "value": value}
                garbled = re.sub(r"<[^>]+>", _segment(next(values)), rule.rule)
                yield {"method": method, "path": garbled, "query": "", "value": value}
            if method == "GET":
                continue
            for _ in range(3):
                form = rule.rule.startswith(("/ui/", "/feedback/"))
                value = next(values)
                body = _form(value, csrf if "logout" not in rule.rule else "x") if form \
                    else _body(value)
                yield {"method": method, "path": _fill(rule.rule, known, value),
                       "query": "", "value": value, "data": body, "content_type":
                       "application/x-www-form-urlencoded" if form else "application/json"}
            yield {"method": method, "path": _fill(rule.rule, known, ""), "query": "",
                   "value": "structure", "data": next(structures).encode("utf-8",
                                                                         "surrogatepass"),
                   "content_type": next(media)}


def form_fields(known: dict[str, str], csrf: str) -> Iterator[dict[str, Any]]:
    """Forms that are valid but for one malformed field, which each page must parse
    before it refuses the form (so a parser's exception would show as a 5xx)."""
    eid, token = known["escalation_id"], known["token"]
    for value in (v for v in VALUES if isinstance(v, str) and v.strip()):
        for action in ("reopen", "escalate"):  # not possible now; no reason: no write
            yield {"path": f"/ui/escalations/{eid}/actions/{action}", "value": value,
                   "data": {"csrf_token": csrf, "version": value, "to_tier": value}}
        yield {"path": f"/feedback/{token}", "value": value,
               "data": {"confirmed": "true", "csat": value}}


def _headers(c: Client, request: dict[str, Any]) -> dict[str, str]:
    headers = c.h("root")
    value = _text(request["value"])
    if value.isprintable() and value.isascii() and len(value) < 200:
        headers.update({"If-Match": value, "Idempotency-Key": value})
    return headers


def _writes(c: Client) -> int:
    """Ledger rows but audit-reads: a read of the audit log that succeeds despite a header
    or body it ignores is recorded as a read (issue 28), and is no write of the input."""
    with c.app.extensions["baton"].engine.connect() as conn:
        reads = conn.execute(select(func.count()).select_from(ledger).where(
            ledger.c.action == "audit-read")).scalar_one()
    return written(c)[0] - int(reads)


@pytest.fixture
def c(database_url: str, tmp_path: Path) -> Iterator[Client]:
    client = make(database_url, tmp_path, BATON_AUTH_FAILURE_BURST=1000)
    yield client
    client.app.extensions["baton"].engine.dispose()


def test_no_route_answers_malformed_input_with_a_5xx_html_or_a_write(c: Client) -> None:
    eid = c.open()
    c.act(eid, "alice", "acknowledge", {"note": "mine"})
    resolved = c.open()
    c.act(resolved, "alice", "acknowledge", {"note": "mine"})
    c.act(resolved, "alice", "resolve", {"summary": "done"})
    link = c.post(f"/escalations/{resolved}/feedback-link", "alice", {}).json["link"]
    known = {"escalation_id": eid, "token": link.rsplit("/", 1)[1], "action": "reopen"}
    bad = []
    for value in VALUES:  # signing in with the right token and a malformed next=
        page = c.http.get("/ui/login")
        form = page.get_data(as_text=True).split('name="csrf_token" value="')[1]
        r = c.http.post("/ui/login", data=_encoded({
            "token": c.tokens["alice"], "next": value, "csrf_token": form.split('"')[0]}),
            content_type="application/x-www-form-urlencoded")
        location = r.headers.get("Location", "/ui/")
        if r.status_code >= 500 or not location.startswith("/ui/") or "\n" in location:
            bad.append(("login next=", repr(value)[:40], r.status_code))
    csrf = signed_in(c, "alice")
    rules = sorted(c.app.url_map.iter_rules(), key=lambda r: r.rule)
    before = _writes(c)
    sent = 0
    for request in form_fields(known, csrf):
        r = c.http.post(request["path"], data=_encoded(request["data"]),
                        content_type="application/x-www-form-urlencoded")
        sent += 1
        if r.status_code >= 500:
            bad.append(("POST", request["path"][:60], repr(request["value"])[:40],
                        r.status_code))
    for request in requests_for(rules, known, csrf):
        r = c.http.open(f"{request['path']}?{request['query']}", method=request["method"],
                        data=request.get("data"), content_type=request.get("content_type"),
                        headers=_headers(c, request))
        r.close()
        sent += 1
        api = request["path"].startswith(("/api/", "/metrics", "/healthz"))
        html_error = api and r.status_code >= 400 and r.mimetype == "text/html"
        if r.status_code >= 500 or html_error:
            bad.append((request["method"], request["path"][:80], repr(request["value"])[:40],
                        request.get("content_type"), r.status_code))
    assert not bad, bad[:20]
    assert sent >= 300, sent
    assert _writes(c) == before, "malformed input wrote to the ledger"
