"""The OpenAPI document states what the server accepts: the active policy's vocabularies
(followed when the policy changes), exactly-one rules, header and cursor shapes; and what
it states, the server accepts (any well-formed cursor is a page, never a refusal)."""

from __future__ import annotations

import base64
import re
import struct
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from api.openapi_doc import NUL_FREE
from api.request_guard import DEFAULT_BODY_BYTES
from tests.initialised_app import Client, make_client
from workflow import policy_change, policy_loader
from workflow.authority import Actor
from workflow.catalogue import ACTION_ROUTES


def _doc(c: Client) -> dict[str, Any]:
    r = c.app.test_client().get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc: dict[str, Any] = r.get_json()
    return doc


def _param(doc: dict[str, Any], path: str, method: str, name: str) -> dict[str, Any]:
    found = [p for p in doc["paths"][path][method].get("parameters", []) if p["name"] == name]
    assert found, f"{method} {path} documents no {name}"
    schema: dict[str, Any] = found[0]["schema"]
    return schema


def test_the_policy_vocabularies_are_enumerated_and_follow_a_policy_change(
        tmp_path: Path) -> None:
    c = make_client(tmp_path)
    doc = _doc(c)
    schemas = doc["components"]["schemas"]
    create = schemas["EscalationCreate"]["properties"]
    assert create["category"]["enum"] == ["technical", "billing", "account", "regulatory",
                                          "outage"]
    assert create["severity"]["enum"] == ["urgent", "high", "normal", "low"]
    assert schemas["Amount"]["properties"]["currency"]["enum"] == ["USD"]
    assert schemas["CustomerIn"]["properties"]["value"]["enum"] == ["standard", "high",
                                                                    "strategic"]
    listing = "/api/v1/escalations"
    assert _param(doc, listing, "get", "tier")["enum"] == [0, 1, 2, 3]
    assert "escalated-tier-3" in _param(doc, listing, "get", "state")["enum"]
    assert "finance" in _param(doc, listing, "get", "team")["enum"]
    assert schemas["Escalation"]["properties"]["allowed_actions"]["items"]["enum"] == \
        list(ACTION_ROUTES)

    text = policy_loader.default_text().replace('[categories.outage]',
                                                '[categories.privacy]\ndescription = "Data '
                                                'requests"\nteam = "legal"\ntier = 2\n\n'
                                                '[categories.outage]', 1)
    baton = c.app.extensions["baton"]
    with baton.uow() as uow:
        policy_change.apply_policy(uow=uow, actor=Actor("root", ("admin",)), text=text,
                                   now=baton.now())
        uow.commit()
    after = _doc(c)["components"]["schemas"]["EscalationCreate"]["properties"]
    assert "privacy" in after["category"]["enum"]
    created = c.post("/escalations", "alice", {
        "title": "t", "category": "privacy", "severity": "high", "customer": {"id": "c1"}})
    assert created.status_code == 201, created.json


def test_rules_the_schemas_cannot_say_alone_are_stated(tmp_path: Path) -> None:
    doc = _doc(make_client(tmp_path))
    promise = doc["components"]["schemas"]["Promise"]
    assert promise["oneOf"] == [{"required": ["by"]}, {"required": ["within"]}]
    made = doc["components"]["schemas"]["Acknowledge"]["properties"]["promise_made"]
    assert made["oneOf"] == [{"required": ["by"]}, {"required": ["within"]}]
    action = "/api/v1/escalations/{escalation_id}/actions/acknowledge"
    if_match = _param(doc, action, "post", "If-Match")
    key = _param(doc, action, "post", "Idempotency-Key")
    assert re.fullmatch(if_match["pattern"], 'W/"3"') and not re.search(if_match["pattern"],
                                                                        "")
    assert not re.search(key["pattern"], "") and not re.search(key["pattern"], "a b")
    assert _param(doc, "/api/v1/escalations", "post", "Idempotency-Key") == key
    # Every string the server takes says what it takes, a NUL never among it.
    strings = 0
    stack: list[Any] = [doc["paths"], {k: v for k, v in doc["components"]["schemas"].items()
                                       if k != "Problem"}]  # Problem: responses only
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "string":
                strings += 1
                assert {"pattern", "enum", "format", "anyOf"} & node.keys(), node
                if "pattern" in node:
                    assert not re.search(node["pattern"], "a\x00b"), node
            stack.extend(v for k, v in node.items() if k != "responses")  # what is sent
        elif isinstance(node, list):
            stack.extend(node)
    assert strings > 100
    assert NUL_FREE


def test_the_server_refuses_malformed_headers_with_a_400(tmp_path: Path) -> None:
    c = make_client(tmp_path)
    eid = c.open()
    version = c.get(f"/escalations/{eid}", "alice").json["version"]
    r = c.act(eid, "alice", "acknowledge", {"note": "x"}, **{"If-Match": "seven"})
    assert r.status_code == 400 and r.json["errors"] == {"If-Match": 'an ETag such as "3", or *'}
    r = c.act(eid, "alice", "acknowledge", {"note": "x"}, **{"Idempotency-Key": "a b"})
    assert r.status_code == 400 and "Idempotency-Key" in r.json["errors"]
    assert c.get(f"/escalations/{eid}", "alice").json["version"] == version  # no write
    ok = c.act(eid, "alice", "acknowledge", {"note": "x"}, **{"If-Match": f'W/"{version}"'})
    assert ok.status_code == 200, ok.json


_CLIENT: list[Client] = []


@settings(max_examples=60, deadline=None, database=None)
@given(due=st.integers(-(2**63), 2**63 - 1), pk=st.integers(0, 2**64 - 1),
       sort=st.sampled_from(["opened", "next_due"]))
def test_any_well_formed_cursor_is_a_page(tmp_path_factory: Any, due: int, pk: int,
                                          sort: str) -> None:
    if not _CLIENT:
        _CLIENT.append(make_client(tmp_path_factory.mktemp("cursor")))
        for _ in range(3):
            _CLIENT[0].open()
    c = _CLIENT[0]
    cursor = base64.urlsafe_b64encode(struct.pack(">qQ", due, pk)).decode().rstrip("=")
    r = c.get(f"/escalations?sort={sort}&cursor={cursor}", "sam")
    assert r.status_code == 200, r.json
    if pk >= 2**63 - 1 or (sort == "opened" and pk >= 3):
        assert r.json["items"] == []


def test_a_cursor_walks_every_escalation_once_in_either_order(tmp_path: Path) -> None:
    c = make_client(tmp_path)
    opened = [c.open() for _ in range(5)]
    for sort in ("opened", "next_due"):
        seen: list[str] = []
        url = f"/escalations?sort={sort}&limit=2"
        while url:
            page = c.get(url, "sam").json
            seen += [e["id"] for e in page["items"]]
            url = (f"/escalations?sort={sort}&limit=2&cursor={page['next_cursor']}"
                   if page["next_cursor"] else "")
        assert sorted(seen) == sorted(opened) and len(seen) == 5


def test_the_timeline_documents_its_csv_and_markdown_forms(tmp_path: Path) -> None:
    c = make_client(tmp_path)
    doc = _doc(c)
    content = doc["paths"]["/api/v1/escalations/{escalation_id}/timeline"]["get"][
        "responses"]["200"]["content"]
    assert {"application/json", "text/csv", "text/markdown"} <= set(content)
    assert _param(doc, "/api/v1/escalations/{escalation_id}/timeline", "get",
                  "format")["enum"] == ["json", "csv", "markdown"]
    eid = c.open()
    for form, media in (("csv", "text/csv"), ("markdown", "text/markdown")):
        got = c.get(f"/escalations/{eid}/timeline?format={form}", "alice")
        assert got.status_code == 200 and got.mimetype == media


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in doc["paths"].items()
            for method, op in item.items() if isinstance(op, dict) and "responses" in op]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def test_the_guards_answers_are_documented_where_the_server_gives_them(
        tmp_path: Path) -> None:
    c = make_client(tmp_path)
    doc = _doc(c)
    http = c.app.test_client()
    bodies = [(p, m, op) for p, m, op in _operations(doc) if m in ("post", "put", "patch",
                                                                     "delete")]
    assert len(bodies) > 25
    oversized = b" " * (DEFAULT_BODY_BYTES + 1)
    for path, method, op in bodies:
        assert {"413", "415"} <= op["responses"].keys(), (method, path)
        headers = c.h("root")
        wrong = http.open(_concrete(path), method=method.upper(), data="x",
                          headers={**headers, "Content-Type": "text/plain"})
        assert wrong.status_code == 415, (method, path, wrong.status_code)
        big = http.open(_concrete(path), method=method.upper(), data=oversized,
                        headers={**headers, "Content-Type": "application/json"})
        assert big.status_code == 413, (method, path, big.status_code)
    reads = [(p, m, op) for p, m, op in _operations(doc) if m == "get"]
    assert not any({"413", "415"} & op["responses"].keys() for _, _, op in reads)

    for _ in range(12):  # past the free failures: this client is slowed
        assert http.get("/api/v1/escalations",
                        headers={"Authorization": "Bearer wrong"}).status_code in (401, 429)
    for path, method, op in _operations(doc):
        answer = http.open(_concrete(path), method=method.upper(), headers=c.h("root"))
        if op.get("security") == []:
            assert "429" not in op["responses"] and answer.status_code != 429, path
            continue
        assert answer.status_code == 429, (method, path, answer.status_code)
        assert "429" in op["responses"], (method, path)
        documented = op["responses"]["429"]
        assert "Retry-After" in documented["headers"]
        assert int(answer.headers["Retry-After"]) >= 1
        assert answer.get_json()["type"] == "urn:baton:problem:too-many-failures"
    assert sum("429" in op["responses"] for _, _, op in _operations(doc)) > 40
