"""Signed webhooks from the outbox, against a real receiver on loopback that verifies
every signature with the standardwebhooks library."""

from __future__ import annotations

import json

import pytest

from audit.store import policy_refs, webhooks
from audit.store.deflated import unpack
from audit.store.webhooks import SqlWebhooks
from tests.integration.conftest import Ledger
from tests.integration.notifying import (
    ledger_actions,
    running,
    subscribe,
    worker_for,
)
from tests.unit.fakes import DEMO_ACTORS
from tests.unit.scenario import OPEN
from tests.webhook_receiver import Received, Receiver
from workflow import services, webhook_admin
from workflow.notify import event_type


def _hooked(led: Ledger, receiver: Receiver, events: tuple[str, ...] = ("*",)) -> str:
    created = subscribe(led, receiver.url, events)
    receiver.secrets.append(created["secret"])
    return str(created["id"])


def test_the_lifecycle_arrives_signed_in_ledger_order(led: Ledger, receiver: Receiver) -> None:
    _hooked(led, receiver)
    led.lifecycle("e1")
    led.lifecycle("e2")
    worker = worker_for(led)
    worker.run(once=True)
    assert receiver.bad_signatures == 0 and receiver.got
    by_escalation: dict[str, list[tuple[int, str]]] = {}
    for r in receiver.got:
        body = r.json
        assert set(body) == {"type", "timestamp", "data"}
        data = body["data"]
        by_escalation.setdefault(data["escalation_id"], []).append((data["seq"], body["type"]))
        assert data["links"]["escalation"] == (
            f"https://baton.example/api/v1/escalations/{data['escalation_id']}")
        assert data["links"]["timeline"].endswith("/timeline")
    for eid in ("e1", "e2"):
        expected = [(seq, event_type(action)) for seq, e, action in ledger_actions(led)
                    if e == eid]
        assert by_escalation[eid] == expected, "every event, once, in ledger order"
    assert len({r.msg_id for r in receiver.got}) == len(receiver.got)


def test_only_the_subscribed_types_are_sent(led: Ledger, receiver: Receiver) -> None:
    _hooked(led, receiver, ("escalation.hand_off", "escalation.resolve"))
    led.lifecycle("e1")
    worker_for(led).run(once=True)
    assert [r.json["type"] for r in receiver.got] == ["escalation.hand_off",
                                                      "escalation.resolve"]
    assert receiver.got[0].json["data"]["proposed_owner"] == "sue"


def test_a_receiver_that_fails_twice_gets_the_same_bytes_on_schedule(
        led: Ledger, receiver: Receiver) -> None:
    receiver.script = lambda r, before: (500, {}) if before < 2 else (204, {})
    _hooked(led, receiver, ("escalation.open",))
    led.open("e1")
    with running(worker_for(led, BATON_WEBHOOK_RETRY_SCHEDULE="0s,0.3s,0.6s")):
        receiver.wait(lambda: len(receiver.got) == 3)
    first, second, third = receiver.got
    assert [r.status for r in receiver.got] == [500, 500, 204]
    assert first.body == second.body == third.body
    assert first.msg_id == second.msg_id == third.msg_id
    assert 0.3 <= second.at - first.at < 1.0, "the second attempt waits 0.3 s (+ jitter)"
    assert 0.6 <= third.at - second.at < 1.4, "the third waits 0.6 s (+ jitter)"
    with led.engine.connect() as conn:
        log = webhooks.message_log(conn, receiver_target(led))
    assert [a["status_code"] for a in log[0]["attempts"]] == [500, 500, 204]
    assert log[0]["status"] == "delivered"


def receiver_target(led: Ledger) -> str:
    with led.engine.connect() as conn:
        return str(webhooks.listing(conn)[0]["id"])


def test_410_disables_the_subscription_on_the_record(led: Ledger,
                                                     receiver: Receiver) -> None:
    receiver.script = lambda r, before: (410, {})
    webhook_id = _hooked(led, receiver, ("escalation.open",))
    led.open("e1")
    worker_for(led).run(once=True)
    led.open("e2")
    worker_for(led).run(once=True)
    assert len(receiver.got) == 1, "nothing more goes to a gone endpoint"
    with led.engine.connect() as conn:
        shown = webhooks.find(conn, webhook_id)
    assert shown is not None and shown["disabled"] and shown["disabled_at"]
    actions = [a for _, e, a in ledger_actions(led) if e is None]
    assert actions[-2:] == ["webhook-disabled", "notification-failed"]


def test_retry_after_is_honoured(led: Ledger, receiver: Receiver) -> None:
    receiver.script = lambda r, before: (503, {"Retry-After": "1"}) if before == 0 else (
        200, {})
    _hooked(led, receiver, ("escalation.open",))
    led.open("e1")
    with running(worker_for(led, BATON_WEBHOOK_RETRY_SCHEDULE="0s,0s,0s")):
        receiver.wait(lambda: len(receiver.got) == 2)
    assert receiver.got[1].at - receiver.got[0].at >= 1.0


def test_the_last_failed_attempt_is_on_the_record(led: Ledger,
                                                  receiver: Receiver) -> None:
    receiver.script = lambda r, before: (500, {})
    webhook_id = _hooked(led, receiver, ("escalation.open",))
    led.open("e1")
    with running(worker_for(led, BATON_WEBHOOK_RETRY_SCHEDULE="0s,0.1s")):
        receiver.wait(lambda: len(receiver.got) == 2)
        receiver.wait(lambda: ledger_actions(led)[-1][2] == "notification-failed")
    with led.engine.connect() as conn:
        body = conn.exec_driver_sql(
            "SELECT body FROM ledger ORDER BY seq DESC LIMIT 1").scalar_one()
    payload = json.loads(unpack(body))["payload"]
    assert payload["target"] == webhook_id and payload["attempts"] == 2
    assert payload["event_type"] == "escalation.open" and payload["last_status"] == 500


def test_a_rolled_back_write_sends_nothing(led: Ledger, receiver: Receiver) -> None:
    _hooked(led, receiver)
    with led.uow() as uow:
        services.open_escalation(uow=uow, actor=DEMO_ACTORS["alice"], escalation_id="gone",
                                 payload=OPEN, policy=led.policy, now=led.now)
        uow.rollback()
    with led.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM outbox").scalar() == 0
    worker_for(led).run(once=True)
    assert receiver.got == []


def test_a_retry_holds_back_its_escalation_only(led: Ledger,
                                                receiver: Receiver) -> None:
    def script(r: Received, before: int) -> tuple[int, dict[str, str]]:
        slow = r.json["data"]["escalation_id"] == "slow" and r.json["type"] == "escalation.open"
        return (500, {}) if slow and before == 0 else (200, {})

    receiver.script = script
    _hooked(led, receiver)
    led.open("slow")
    led.act("slow", "alice", "acknowledge")
    led.open("fast")
    with running(worker_for(led, BATON_WEBHOOK_RETRY_SCHEDULE="0s,0.5s")):
        receiver.wait(lambda: len(receiver.delivered()) == 3)
    order = [(r.json["data"]["escalation_id"], r.json["type"], r.status) for r in receiver.got]
    assert order.index(("fast", "escalation.open", 200)) < order.index(
        ("slow", "escalation.open", 200)), "the other escalation was not held back"
    slow = [(t, s) for e, t, s in order if e == "slow"]
    assert slow == [("escalation.open", 500), ("escalation.open", 200),
                    ("escalation.acknowledge", 200)], "a later event never overtakes"


def test_two_workers_deliver_each_message_once(led: Ledger, receiver: Receiver) -> None:
    _hooked(led, receiver)
    for i in range(6):
        led.lifecycle(f"e{i}")
    expected = sum(1 for _, e, _ in ledger_actions(led) if e is not None)
    with running(worker_for(led), worker_for(led)):
        receiver.wait(lambda: len(receiver.got) >= expected, timeout=30)
    assert len(receiver.got) == expected
    assert len({r.msg_id for r in receiver.got}) == expected, "each once"
    assert receiver.bad_signatures == 0


def test_a_rotated_secret_signs_beside_the_old_one(sqlite_led: Ledger,
                                                   receiver: Receiver) -> None:
    webhook_id = _hooked(sqlite_led, receiver, ("escalation.open",))
    with sqlite_led.uow() as uow:
        rotated = webhook_admin.rotate_secret(
            store=SqlWebhooks(uow), actor=DEMO_ACTORS["root"], webhook_id=webhook_id,
            secret=webhooks.new_secret(), grace_seconds=60, policy=sqlite_led.policy,
            now=sqlite_led.now)
        uow.commit()
    receiver.secrets.append(rotated["secret"])
    sqlite_led.open("e1")
    worker_for(sqlite_led).run(once=True)
    (got,) = receiver.got
    assert got.verified_with == [0, 1], "both the old and the new secret verify it"
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    with sqlite_led.engine.connect() as conn:
        bodies = [r[0] for r in conn.exec_driver_sql(
            "SELECT body FROM ledger WHERE escalation_id IS NULL").all()]
        audited = policy_refs.records(conn, bodies)
    assert [a["action"] for a in audited][-2:] == ["webhook-subscribed",
                                                   "webhook-secret-rotated"]
    for secret in receiver.secrets:
        assert all(secret.encode() not in bytes(b) for b in bodies), "never the secret"


@pytest.mark.parametrize("url,private,insecure,problem", [
    ("https://127.0.0.1/x", False, False, "non-public"),
    ("https://10.0.0.8/x", False, False, "non-public"),
    ("https://169.254.169.254/x", False, False, "non-public"),
    ("https://[::1]/x", False, False, "non-public"),
    ("http://93.184.216.34/x", True, False, "https"),
    ("https://93.184.216.34/x", False, False, None),
    ("https://127.0.0.1/x", True, False, None),
    ("ftp://93.184.216.34/x", True, True, "https"),
])
def test_targets_refused_unless_allowed(url: str, private: bool, insecure: bool,
                                        problem: str | None) -> None:
    host = url.split("//")[1].split("/")[0].strip("[]")
    found = webhook_admin.target_problem(url, [host], allow_insecure=insecure,
                                         allow_private=private)
    assert (found is None) if problem is None else (found is not None and problem in found)
