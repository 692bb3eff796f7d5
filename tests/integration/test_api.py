"""The HTTP API in-process: statuses, problem details, idempotency, If-Match, roles."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from api import create_app
from audit.log import merkle, signed_note
from tests.initialised_app import OPEN, Client, make_client
from workflow.catalogue import ACTION_ROUTES, CATALOGUE
from workflow.lifecycle import ACTIONS


@pytest.fixture
def c(tmp_path: Path) -> Client:
    client = make_client(tmp_path)
    yield client
    client.app.extensions["baton"].engine.dispose()


def assert_problem(r, status: int, slug: str) -> dict:
    assert r.status_code == status, r.get_json()
    assert r.content_type == "application/problem+json"
    body = r.get_json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert body["type"] == (f"urn:baton:problem:{slug}" if slug else "about:blank")
    return body


def test_open_read_and_list(c: Client) -> None:
    r = c.post("/escalations", "alice", OPEN)
    assert r.status_code == 201
    eid = r.json["id"]
    assert r.headers["Location"] == f"/api/v1/escalations/{eid}"
    assert r.headers["ETag"] == '"1"'
    assert r.json["customer"] == {"id": "cust-42", "name": "Ada Lovelace", "contact": None,
                                  "value": "strategic"}
    assert (r.json["state"], r.json["team"], r.json["governor"]) == ("opened", "frontline",
                                                                     "sam")
    assert r.json["sla"]["acknowledge_by"] and r.json["sla"]["breached"] == []
    got = c.get(f"/escalations/{eid}", "bob")
    assert got.status_code == 200 and got.json["title"] == "Card charged twice"
    assert got.json["allowed_actions"] == []  # bob is tier 1 specialist; tier 0 frontline case
    assert c.get(f"/escalations/{eid}", "alice").json["allowed_actions"] == ["acknowledge"]


def test_list_filters_and_cursor_pagination(c: Client) -> None:
    ids = [c.open(severity=s) for s in ("high", "low", "high", "urgent", "high")]
    c.act(ids[0], "alice", "acknowledge", {"note": "mine"})
    page = c.get("/escalations?severity=high&limit=2", "aud").json
    assert [i["id"] for i in page["items"]] == [ids[0], ids[2]]
    c.open(severity="high")  # a write between pages does not disturb the cursor
    page2 = c.get(f"/escalations?severity=high&limit=2&cursor={page['next_cursor']}",
                  "aud").json
    assert [i["id"] for i in page2["items"]][0] == ids[4]
    assert [i["id"] for i in c.get("/escalations?owner=alice", "aud").json["items"]] == \
        [ids[0]]
    assert c.get("/escalations?state=acknowledged&tier=0", "aud").json["items"][0]["id"] == \
        ids[0]
    assert c.get("/escalations?breached=true", "aud").json["items"] == []
    assert_problem(c.get("/escalations?cursor=%%%", "aud"), 422, "validation")
    assert_problem(c.get("/escalations?limit=0", "aud"), 422, "validation")


def test_error_statuses(c: Client) -> None:
    eid = c.open()
    r = c.http.post("/api/v1/escalations", data="{not json", headers=c.h(
        "alice", **{"Content-Type": "application/json"}))
    assert_problem(r, 400, "malformed")
    assert_problem(c.get("/escalations", None), 401, "unauthenticated")
    r = c.http.get("/api/v1/escalations", headers={"Authorization": "Bearer nope"})
    assert_problem(r, 401, "unauthenticated")
    body = assert_problem(c.act(eid, "aud", "acknowledge", {"note": "x"}), 403,
                          "authority-denied")
    assert body["rule"] == "role.read-only"
    assert_problem(c.get("/escalations/nope", "alice"), 404, "not-found")
    body = assert_problem(c.act(eid, "alice", "resolve", {"summary": "x"}), 409,
                          "invalid-transition")
    assert body["state"] == "opened" and "acknowledge" in body["allowed_actions"]
    body = assert_problem(c.act(eid, "alice", "acknowledge", {"note": "x"},
                                **{"If-Match": '"7"'}), 412, "precondition-failed")
    body = assert_problem(c.post("/escalations", "alice", {**OPEN, "category": "gardening",
                                                           "colour": "red"}), 422,
                          "validation")
    assert set(body["errors"]) == {"colour"}
    body = assert_problem(c.post("/escalations", "alice", {**OPEN, "category": "gardening"}),
                          422, "validation")
    assert "unknown category" in body["errors"]["category"]
    body = assert_problem(c.act(eid, "alice", "acknowledge", {}), 422, "validation")
    assert body["errors"] == {"note": "required by the acknowledge template"}
    assert_problem(c.http.delete("/api/v1/escalations", headers=c.h("alice")), 405, "")
    assert_problem(c.get("/nothing-here", "alice"), 404, "")
    assert c.get(f"/escalations/{eid}", "alice").json["version"] == 1, "nothing was written"


def test_if_match_and_etag(c: Client) -> None:
    eid = c.open()
    etag = c.get(f"/escalations/{eid}", "alice").headers["ETag"]
    r = c.act(eid, "alice", "acknowledge", {"note": "x"}, **{"If-Match": etag})
    assert r.status_code == 200 and r.headers["ETag"] == '"2"'
    r = c.act(eid, "alice", "update", {"note": "a", "next_steps": "b"}, **{"If-Match": etag})
    assert_problem(r, 412, "precondition-failed")
    assert c.get(f"/escalations/{eid}", "alice").json["version"] == 2


def test_idempotent_retries(c: Client) -> None:
    r1 = c.post("/escalations", "alice", OPEN, **{"Idempotency-Key": "k-1"})
    r2 = c.post("/escalations", "alice", OPEN, **{"Idempotency-Key": "k-1"})
    assert r1.status_code == r2.status_code == 201
    assert r1.json == r2.json and r2.headers["Idempotent-Replayed"] == "true"
    assert len(c.get("/escalations", "aud").json["items"]) == 1
    body = assert_problem(c.post("/escalations", "alice", {**OPEN, "title": "other"},
                                 **{"Idempotency-Key": "k-1"}), 422, "idempotency-key-reused")
    assert "Idempotency-Key" in body["errors"]
    eid = r1.json["id"]
    a1 = c.act(eid, "alice", "acknowledge", {"note": "x"}, **{"Idempotency-Key": "k-2"})
    a2 = c.act(eid, "alice", "acknowledge", {"note": "x"}, **{"Idempotency-Key": "k-2"})
    assert a1.json == a2.json and a1.json["seq"] == a2.json["seq"]
    events = c.get(f"/audit/events?escalation={eid}", "aud").json["items"]
    assert [e["action"] for e in events] == ["open", "acknowledge"]
    # the same key from another actor is another request
    assert c.post("/escalations", "andy", OPEN, **{"Idempotency-Key": "k-1"}).status_code == 201


def test_every_route_but_health_and_docs_needs_a_token(c: Client) -> None:
    public = {"/api/v1/healthz", "/healthz", "/api/v1/openapi.json", "/api/v1/docs"}
    checked = 0
    for rule in c.app.url_map.iter_rules():
        # Pages are not the API: the dashboard signs in with a cookie (tests/browser), and
        # the customer's feedback page is opened with its one-time link (test_customer).
        # The log's tiles are public by design, but for entry bundles (test_log_tiles).
        if rule.endpoint == "static" or str(rule) in public or str(rule).startswith(
                ("/ui/", "/feedback/", "/log/")):
            continue  # the dashboard's pages send signed-out visits to sign in (tests/browser)
        path = str(rule)
        for arg in rule.arguments:
            path = path.replace(f"<string:{arg}>", "x").replace(f"<{arg}>", "x")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            r = c.http.open(path, method=method, json={})
            assert r.status_code == 401, (method, path, r.status_code)
            checked += 1
    assert checked >= 25
    assert c.http.get("/healthz").json == {"status": "ok", "database": "ok", "signing": "ok",
                                            "worker": "ok"}
    assert c.http.get("/healthz", headers=c.h("root")).json == {
        "status": "ok", "database": "ok", "signing": "ok", "worker": "ok",
        "workers_alive": 0, "deadline_lag_seconds": 0.0}  # the details: for an operator
    assert c.http.get("/api/v1/healthz").status_code == 200


@pytest.mark.parametrize("who", ["aud"])
def test_read_only_roles_change_nothing(c: Client, who: str) -> None:
    eid = c.open()
    c.act(eid, "alice", "acknowledge", {"note": "x"})
    bodies = {"acknowledge": {"note": "x"}, "escalate": {"reason": "r", "trigger": "authority"},
              "hand-off": {"to": "andy", "context": "c"}, "accept-handoff": {},
              "decline-handoff": {"reason": "r"}, "resolve": {"summary": "s"},
              "reopen": {"reason": "r"}, "debrief": {"what_worked": "a"},
              "update": {"note": "a", "next_steps": "b"}, "reassign": {"to": "andy",
                                                                     "reason": "r"},
              "add-watcher": {"handle": who}, "add-collaborator": {"handle": "bob"},
              "assign-liaison": {"handle": who}, "legal-hold": {"reason": "r"},
              "release-hold": {"reason": "r"}, "withdraw-handoff": {"reason": "r"},
              "note": {"note": "n"}, "promise": {"kind": "callback", "within": "1h"},
              "contact-customer": {"channel": "phone", "summary": "s"},
              "issue-feedback-link": {}, "confirm-resolution": {"confirmed": True},
              "complete-action": {"item": "a1.1"}}
    assert set(bodies) == set(ACTIONS) - {"open"}
    for action, body in bodies.items():
        r = c.post(f"/escalations/{eid}/feedback-link", who, body) \
            if CATALOGUE[action].own_route else c.act(eid, who, action, body)
        assert r.status_code in (403, 409), (action, r.status_code)
    assert_problem(c.post("/escalations", who, OPEN), 403, "authority-denied")
    assert_problem(c.post("/admin/erasures", who, {"customer_id": "cust-42"}), 403,
                   "authority-denied")
    assert c.get(f"/escalations/{eid}", who).json["version"] == 2
    assert c.get(f"/escalations/{eid}", who).json["allowed_actions"] == []


def test_audit_routes_proofs_and_public_key(c: Client) -> None:
    for _ in range(5):
        eid = c.open()
        c.act(eid, "alice", "acknowledge", {"note": "x"})
    assert_problem(c.get("/audit/events", "alice"), 403, "authority-denied")
    events = c.get("/audit/events?limit=3", "aud").json
    assert [e["seq"] for e in events["items"]] == [0, 1, 2] and events["next_after"] == 2
    more = c.get(f"/audit/events?after={events['next_after']}&action=acknowledge", "aud").json
    assert {e["action"] for e in more["items"]} == {"acknowledge"}
    vkey = c.get("/audit/public-key", "alice").json["verifier_key"]
    c.open()  # a 12th event, past the checkpoint signed every 10 (at 11)
    cp = c.get("/audit/checkpoint", "alice").json
    checked = signed_note.open_note(cp["note"], vkey)
    # Issue 15: the checkpoint served covers every event committed before the request
    # (signed on request), no longer the last one signed every 10 events (it said 11).
    # Issue 28: the two reads of the events above are audit-read events (12 + 2).
    assert checked.size == cp["size"] == 14
    size = checked.size
    proof = c.get(f"/audit/proof/inclusion?seq=0&size={size}", "aud").json
    merkle.verify_inclusion(0, size, base64.b64decode(proof["leaf_hash"]),
                            [base64.b64decode(p) for p in proof["proof"]], checked.root)
    cons = c.get(f"/audit/proof/consistency?from=3&to={size}", "aud").json
    merkle.verify_consistency(3, size, base64.b64decode(cons["from_root"]), checked.root,
                              [base64.b64decode(p) for p in cons["proof"]])
    assert_problem(c.get("/audit/proof/inclusion?seq=5&size=999", "aud"), 404,
                   "proof-unavailable")


def test_policy_routes(c: Client) -> None:
    current = c.get("/policy", "alice").json
    assert len(current["version"]) == 64 and current["name"] == "baton-default"
    assert current["content"]["roles"]["agent"]["limit"] == "500"
    assert c.get(f"/policy/{current['version']}", "alice").json["text"] == current["text"]
    assert_problem(c.get("/policy/deadbeef", "alice"), 404, "")


def test_openapi_document_and_offline_docs(c: Client) -> None:
    spec = c.http.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    for action in ACTION_ROUTES:
        op = paths[f"/api/v1/escalations/{{escalation_id}}/actions/{action}"]["post"]
        assert "requestBody" in op, action
    ref = paths["/api/v1/escalations/{escalation_id}/actions/escalate"]["post"][
        "requestBody"]["content"]["application/json"]["schema"]["$ref"]
    escalate = spec["components"]["schemas"][ref.split("/")[-1]]
    assert set(escalate["properties"]) == {"reason", "trigger", "to_tier"}
    assert "application/problem+json" in spec["components"]["responses"]["DEFAULT_ERROR"][
        "content"]
    assert "erased" in spec["info"]["description"]
    page = c.http.get("/api/v1/docs").get_data(as_text=True)
    assert "/api/v1/escalations/{escalation_id}/actions/hand-off" in page
    assert "<script" not in page and "cdn" not in page.lower()


def test_admin_erasure_route(c: Client) -> None:
    eid = c.open()
    assert_problem(c.post("/admin/erasures", "alice", {"customer_id": "cust-42"}), 403,
                   "authority-denied")
    r = c.post("/admin/erasures", "root", {"customer_id": "cust-42"})
    assert r.status_code == 200 and list(r.json["events"]) == [eid]
    # the opening's title, description and customer name (it gave no contact)
    assert r.json["fields"] == 3 and r.json["held"] == []
    got = c.get(f"/escalations/{eid}", "alice").json
    assert got["title"] is None and got["customer"]["name"] is None
    assert got["erased"]["title"]["by"] == "root"
    assert got["customer"]["id"] == "cust-42"


def test_uninitialised_database_is_a_503_problem(tmp_path: Path) -> None:
    app = create_app({"BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}",
                      "BATON_SIGNING_KEY": str(tmp_path / "k")})
    r = app.test_client().get("/api/v1/escalations", headers={"Authorization": "Bearer x"})
    assert_problem(r, 503, "not-initialised")


def test_metrics_routes(c: Client) -> None:
    eid = c.open(category="technical")
    c.act(eid, "alice", "acknowledge", {"note": "x"})
    c.open(category="billing")
    body = c.get("/metrics/escalations?group_by=category", "aud").json
    groups = {g["key"]: g for g in body["groups"]}
    assert groups["technical"]["opened"] == 1 and groups["billing"]["opened"] == 1
    assert groups["technical"]["time_to_first_response"]["n"] == 1
    assert_problem(c.get("/metrics/escalations?group_by=colour", "aud"), 422, "validation")
    text = c.http.get("/metrics", headers=c.h("aud")).get_data(as_text=True)
    assert 'baton_escalations{state="acknowledged",tier="0"} 1.0' in text
    assert "baton_time_to_acknowledge_seconds_count 1.0" in text
    assert "# TYPE baton_sla_breaches gauge" in text


def _documented(schema, data: dict) -> None:
    """`data` has exactly the schema's fields, and dumping it changes nothing."""
    from marshmallow import fields as f

    assert set(data) == set(schema.fields), set(data) ^ set(schema.fields)
    assert schema.dump(data) == data
    for name, field in schema.fields.items():
        if isinstance(field, f.Nested) and data[name] is not None:
            _documented(field.schema, data[name])
        if isinstance(field, f.Dict) and isinstance(field.value_field, f.Nested):
            for value in data[name].values():
                _documented(field.value_field.schema, value)


def test_write_responses_are_the_documented_shape(c: Client) -> None:
    # Writes send their representation without a marshmallow dump: hold them to the
    # schema the OpenAPI document shows, and to what a read of the same state returns.
    from api.schemas import ActionResultSchema, EscalationSchema

    opened = c.post("/escalations", "alice", OPEN)
    _documented(EscalationSchema(), opened.json)
    eid = opened.json["id"]
    assert opened.json == c.get(f"/escalations/{eid}", "alice").json
    c.post("/admin/erasures", "root", {"customer_id": "cust-42"})
    for who, action, body in [("alice", "acknowledge", {"note": "x"}),
                              ("alice", "add-watcher", {"handle": "bob"}),
                              ("alice", "escalate", {"reason": "r", "trigger": "authority"})]:
        r = c.act(eid, who, action, body)
        assert r.status_code == 200, r.json
        _documented(ActionResultSchema(), r.json)
        assert r.json["escalation"] == c.get(f"/escalations/{eid}", who).json
    assert r.json["escalation"]["erased"]["title"]["by"] == "root"
    # Several escalations at once (the list) take the other path to the same texts.
    c.open(title="another")
    listed = {e["id"]: e for e in c.get("/escalations", "alice").json["items"]}
    assert len(listed) == 2 and listed[eid] == c.get(f"/escalations/{eid}", "alice").json
    replayed = c.act(eid, "fiona", "acknowledge", {"note": "n"}, **{"Idempotency-Key": "k"})
    again = c.act(eid, "fiona", "acknowledge", {"note": "n"}, **{"Idempotency-Key": "k"})
    assert replayed.status_code == 200, replayed.json
    assert replayed.json == again.json and again.headers["Idempotent-Replayed"] == "true"
    _documented(ActionResultSchema(), again.json)
