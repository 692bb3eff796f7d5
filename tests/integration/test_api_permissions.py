"""Reading the audit log and erasing over HTTP are the policy's permissions, decided by
workflow.authority with the rule that decided: no role name is fixed in the API."""

from __future__ import annotations

from pathlib import Path

from tests.initialised_app import make_client
from workflow import policy_loader


def _policy_moving_permissions() -> str:
    """The default policy, with reading the audit log taken from the auditor and erasing
    given to legal."""
    text = policy_loader.default_text()
    before, after = text.split("[roles.auditor]\n")
    section, rest = after.split("\n\n", 1)
    assert 'permissions = ["read-audit"]' in section
    section = section.replace('\npermissions = ["read-audit"]', "")
    changed = f"{before}[roles.auditor]\n{section}\n\n{rest}"
    changed = changed.replace("[roles.legal]\n", '[roles.legal]\npermissions = ["erase"]\n')
    assert changed.count("permissions =") == text.count("permissions =")
    return changed


def test_default_grants_decided_with_a_permission_rule(tmp_path: Path) -> None:
    c = make_client(tmp_path)
    refused = c.get("/audit/events", "alice")
    assert refused.status_code == 403 and refused.json["rule"] == "permission.read-audit"
    assert c.get("/audit/events", "aud").status_code == 200
    erase = c.post("/admin/erasures", "lee", {"customer_id": "cust-42"})
    assert erase.status_code == 403 and erase.json["rule"] == "permission.erase"
    c.app.extensions["baton"].engine.dispose()


def test_the_policy_decides_who_reads_the_audit_log_and_erases(tmp_path: Path) -> None:
    c = make_client(tmp_path, policy_text=_policy_moving_permissions())
    eid = c.open()
    refused = c.get("/audit/events", "aud")
    assert refused.status_code == 403 and refused.json["rule"] == "permission.read-audit"
    assert c.get("/audit/events", "root").status_code == 200
    done = c.post("/admin/erasures", "lee", {"customer_id": "cust-42"})
    assert done.status_code == 200 and list(done.json["events"]) == [eid]
    events = c.get(f"/audit/events?escalation={eid}", "root").json["items"]
    erased = [e for e in events if e["action"] == "content-erased"]
    assert [(e["actor"], e["role"]) for e in erased] == [("lee", "legal")]
    c.app.extensions["baton"].engine.dispose()
