"""Who reads what (issue 27, point 3): every route of app.url_map, with every role of the
default policy, against a table written here by hand of what each role may read; refusals
are 403 problems naming the rule. The customer reads nothing but its feedback page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from werkzeug.routing import Rule

from api.read_access import OWN_DOOR, PUBLIC, ROUTES
from audit.store import actors
from tests.initialised_app import LIFECYCLE, Client, make_client
from workflow import authority, policy_loader
from workflow.errors import PolicyError

STAFF = {"escalations", "timelines", "debrief-packs", "action-items", "trails", "metrics",
         "policy", "proofs"}
# What each role of the default policy reads, as the README's access table says.
EXPECTED: dict[str, set[str]] = {
    **{role: STAFF for role in ("agent", "specialist", "finance", "supervisor", "legal",
                                "manager", "executive", "liaison", "facilitator")},
    "auditor": STAFF | {"prometheus", "audit-log"},
    "admin": STAFF | {"prometheus", "audit-log", "webhooks", "delivery-log"},
    "customer": set(),
}
HOLDERS = {"agent": "alice", "specialist": "bob", "finance": "fiona", "supervisor": "sam",
           "legal": "lee", "manager": "maria", "executive": "erin", "liaison": "lia",
           "facilitator": "fay", "auditor": "aud", "admin": "root", "customer": "cust"}


def _client(tmp_path: Path, database_url: str | None = None) -> tuple[Client, str]:
    c = make_client(tmp_path, database_url=database_url)
    baton = c.app.extensions["baton"]
    with baton.uow() as uow:
        c.tokens["cust"] = actors.add(uow.conn, "cust", ["customer"], None, baton.now())
        uow.commit()
    eid = c.open()
    for who, action, body in LIFECYCLE:
        assert c.act(eid, who, action, body).status_code == 200, action
    return c, eid


def _path(rule: Rule, eid: str, version: str) -> str:
    values = {"escalation_id": eid, "handle": "alice", "version": version,
              "webhook_id": "wh_0000", "delivery_id": "1", "action": "note",
              "token": "x", "path": "0/000"}
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: values[m.group(1)], rule.rule)


def _walk(c: Client, eid: str, roles: dict[str, str], only: set[str] | None = None
          ) -> int:
    version = policy_loader.default().version
    checked = 0
    for rule in c.app.url_map.iter_rules():
        if rule.endpoint in PUBLIC or rule.endpoint in OWN_DOOR or (
                only is not None and rule.endpoint not in only):
            continue
        if rule.endpoint.startswith("ui."):
            continue  # the dashboard's pages: test_every_page_with_every_role
        path = _path(rule, eid, version)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for role, who in roles.items():
                r = c.http.open(path, method=method, headers=c.h(who),
                                json={} if method != "GET" else None)
                granted = set(ROUTES[rule.endpoint]) <= EXPECTED[role]
                where = (role, method, path, r.status_code, r.get_data(as_text=True)[:200])
                assert r.status_code < 500, where
                if granted:
                    body = r.get_json(silent=True) or {}
                    assert not (r.status_code == 403 and str(body.get("rule", "")).startswith(
                        ("read.", "permission.read-audit"))), where
                else:
                    assert r.status_code == 403, where
                    assert r.mimetype == "application/problem+json", where
                    assert r.json["rule"].startswith(("read.", "permission.")), where
                    assert r.json["detail"], where
                checked += 1
    return checked


def test_every_role_of_the_default_policy_is_walked() -> None:
    policy = policy_loader.default()
    assert set(policy.roles) - {"system"} == set(EXPECTED) == set(HOLDERS)
    # Baton's own role is held by no token: nobody can walk the routes in it.
    assert not authority.assignable("system", policy).allowed
    assert {r: set(g) for r, g in policy.reads.items()} == {
        r: reads - {"audit-log", "webhooks", "delivery-log"}
        for r, reads in EXPECTED.items() if reads}


def test_every_route_is_in_the_read_table(tmp_path: Path) -> None:
    c = make_client(tmp_path)
    endpoints = {rule.endpoint for rule in c.app.url_map.iter_rules()}
    unlisted = endpoints - set(ROUTES) - PUBLIC - OWN_DOOR
    assert not unlisted
    assert not (set(ROUTES) | PUBLIC | OWN_DOOR) - endpoints  # no stale entry
    c.app.extensions["baton"].engine.dispose()


def test_every_route_with_every_role_on_sqlite(tmp_path: Path) -> None:
    c, eid = _client(tmp_path)
    assert _walk(c, eid, {role: HOLDERS[role] for role in EXPECTED}) > 500
    c.app.extensions["baton"].engine.dispose()


def test_the_customer_reads_nothing_and_the_auditor_reads_the_audit_log(
        tmp_path: Path) -> None:
    c, eid = _client(tmp_path)
    for path in ("/escalations?limit=200", f"/escalations/{eid}", f"/escalations/{eid}/timeline",
                 f"/escalations/{eid}/debrief-pack", f"/escalations/{eid}/ownership",
                 "/metrics/escalations", "/policy", "/audit/events"):
        refused = c.get(path, "cust")
        assert refused.status_code == 403, path
        assert "Ada Lovelace" not in refused.get_data(as_text=True)
    assert c.http.get("/metrics", headers=c.h("cust")).json["rule"] == "read.prometheus"
    events = c.get("/audit/events", "aud")
    assert events.status_code == 200 and events.json["items"]
    refused = c.get("/audit/events", "alice")
    assert refused.status_code == 403 and refused.json["rule"] == "permission.read-audit"
    c.app.extensions["baton"].engine.dispose()


def test_a_policy_decides_the_reads(tmp_path: Path) -> None:
    text = policy_loader.default_text().replace(
        '\nfacilitator = ["escalations", ', '\nfacilitator = ["timelines", "escalations_", ')
    with pytest.raises(PolicyError, match="unknown read 'escalations_'"):
        policy_loader.loads(text)
    text = policy_loader.default_text().replace(
        '\nfacilitator = ["escalations", "timelines", ', '\nfacilitator = [')
    c = make_client(tmp_path, policy_text=text)
    eid = c.open()
    assert c.get(f"/escalations/{eid}/timeline", "alice").status_code == 200
    refused = c.get(f"/escalations/{eid}/timeline", "fay")
    assert refused.status_code == 403 and refused.json["rule"] == "read.timelines"
    assert "fay holds facilitator" in refused.json["detail"]
    assert c.get(f"/escalations/{eid}/debrief-pack", "fay").status_code == 200
    c.app.extensions["baton"].engine.dispose()


def test_policy_validation_of_the_read_table() -> None:
    base = policy_loader.default_text()
    without_auditor = re.sub(r"\nauditor = \[[^\n]*\]", "", base, count=1)
    cases = {
        'stranger = ["escalations"]': "unknown role 'stranger'",
        'auditor = ["audit-log"]': "granted by the 'read-audit' permission",
        'auditor = "escalations"': "must be a list of reads",
        'auditor = ["policy", "policy"]': "duplicate read 'policy'",
    }
    for line, message in cases.items():
        text = without_auditor.replace("\n[reads]\n", f"\n[reads]\n{line}\n", 1)
        with pytest.raises(PolicyError, match=re.escape(message)):
            policy_loader.loads(text)
    # A policy without the table (written before read grants): everyone but the customer
    # reads what is not a permission's.
    legacy = policy_loader.loads(re.sub(r"\n\[reads\]\n(?:[a-z]+ = \[[^\n]*\]\n)+", "\n",
                                        base))
    assert "customer" not in legacy.reads and legacy.reads["agent"] >= STAFF
    assert legacy.version != policy_loader.default().version


def test_a_route_sample_on_postgresql(tmp_path: Path, pg_cluster: Any) -> None:
    c, eid = _client(tmp_path, pg_cluster.new_database())
    sample = {"escalations.Escalations", "escalations.Timeline", "reads.AuditEvents",
              "reads.CurrentPolicy", "metrics_root", "webhooks.Webhooks",
              "customer.DebriefPack"}
    roles = {r: HOLDERS[r] for r in ("customer", "agent", "auditor", "admin")}
    assert _walk(c, eid, roles, only=sample) >= 30
    c.app.extensions["baton"].engine.dispose()
