"""/api/v1/webhooks: subscribe, list, read, rotate, the delivery log, retry, remove; who
may; which targets are refused."""

from __future__ import annotations

import json
from pathlib import Path

from api.worker import Worker
from audit.store import policy_refs
from audit.store.schema import ledger
from tests.initialised_app import make_client
from tests.webhook_receiver import Receiver


def test_subscriptions_over_http(tmp_path: Path) -> None:
    c = make_client(tmp_path)
    hook = {"url": "https://127.0.0.1:9/hook", "events": ["escalation.open"]}
    assert c.post("/webhooks", "alice", hook).status_code == 403, "admins only, by policy"
    r = c.post("/webhooks", "root", hook)
    assert r.status_code == 422 and "non-public" in r.json["errors"]["url"]
    r = c.post("/webhooks", "root", {**hook, "url": "http://example.org/x"})
    assert r.status_code == 422 and "https" in r.json["errors"]["url"]
    c.app.config["BATON_WEBHOOK_ALLOW_PRIVATE"] = True
    r = c.post("/webhooks", "root", {**hook, "events": ["escalation.nonsense"]})
    assert r.status_code == 422 and "events" in r.json["errors"]
    r = c.post("/webhooks", "root", hook)
    assert r.status_code == 201 and r.json["secret"].startswith("whsec_")
    webhook_id, secret = r.json["id"], r.json["secret"]
    listed = c.get("/webhooks", "root").json["items"]
    assert [w["id"] for w in listed] == [webhook_id] and "secret" not in listed[0]
    assert c.get(f"/webhooks/{webhook_id}", "root").json["disabled"] is False
    rotated = c.post(f"/webhooks/{webhook_id}/rotate-secret", "root", {"grace_seconds": 60})
    assert rotated.status_code == 200 and rotated.json["secret"] != secret
    c.open()
    log = c.get(f"/webhooks/{webhook_id}/deliveries", "root").json["items"]
    assert [(d["event_type"], d["status"]) for d in log] == [("escalation.open", "pending")]
    retried = c.post(f"/webhooks/{webhook_id}/deliveries/{log[0]['id']}/retry", "root")
    assert retried.status_code == 202
    assert c.post(f"/webhooks/{webhook_id}/deliveries/999/retry", "root").status_code == 404
    assert c.http.delete(f"/api/v1/webhooks/{webhook_id}",
                         headers=c.h("root")).status_code == 204
    assert c.get(f"/webhooks/{webhook_id}", "root").status_code == 404
    engine = c.app.extensions["baton"].engine
    with engine.connect() as conn:
        rows = conn.execute(ledger.select().where(ledger.c.escalation_id.is_(None))).all()
        audited = policy_refs.records(conn, [r.body for r in rows])
    assert [a["action"] for a in audited][-3:] == [
        "webhook-subscribed", "webhook-secret-rotated", "webhook-removed"]
    assert all(a["actor"] == "root" and a["role"] == "admin" for a in audited[-3:])
    assert not any(secret in json.dumps(a) or rotated.json["secret"] in json.dumps(a)
                   for a in audited), "never a secret in the ledger"
    engine.dispose()


def test_a_subscription_made_over_http_receives_signed_events(tmp_path: Path) -> None:
    c = make_client(tmp_path)
    c.app.config.update(BATON_WEBHOOK_ALLOW_PRIVATE=True, BATON_WEBHOOK_ALLOW_INSECURE=True)
    receiver = Receiver()
    try:
        r = c.post("/webhooks", "root", {"url": receiver.url, "events": ["*"]})
        receiver.secrets.append(r.json["secret"])
        eid = c.open()
        Worker(c.app.extensions["baton"]).run(once=True)
        assert [x.json["type"] for x in receiver.got] == ["escalation.open"]
        assert receiver.got[0].json["data"]["escalation_id"] == eid
        assert receiver.bad_signatures == 0
    finally:
        receiver.close()
        c.app.extensions["baton"].engine.dispose()
