"""A `notified` event for the events that ask someone to act (an arrival at a team, a
hand-off, a declined hand-off), on each backend: it names by channel the handles the
outbox mailed in the same transaction, never an address, and is folded into the
escalation like any event."""

from __future__ import annotations

import json

from audit.store import actor_emails, policy_refs
from tests.integration.conftest import Ledger
from tests.integration.notifying import subscribe
from tests.unit.fakes import DEMO_ACTORS
from tests.unit.scenario import OPEN
from workflow import notify, services


def _with_addresses(led: Ledger, *handles: str) -> None:
    with led.uow() as uow:
        for handle in handles:
            actor_emails.set_email(uow.conn, handle, f"{handle}@example.org")
        uow.commit()


def _notices(led: Ledger, escalation_id: str) -> list[dict]:  # type: ignore[type-arg]
    with led.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT body FROM ledger WHERE action = 'notified' AND escalation_id = "
            f"'{escalation_id}' ORDER BY seq").all()
        return policy_refs.records(conn, [r[0] for r in rows])


def test_an_arrival_and_a_hand_off_record_who_was_mailed(led: Ledger) -> None:
    _with_addresses(led, "andy", "sue", "sam")
    webhook_id = subscribe(led, "https://hooks.example/x")["id"]
    with led.uow() as uow:
        out = services.open_escalation(uow=uow, actor=DEMO_ACTORS["alice"],
                                       escalation_id="e1", payload=OPEN, policy=led.policy,
                                       now=led.tick())
        notify.announce(uow=uow, escalation=out.escalation, event=out.event, seq=out.seq)
        uow.commit()
    led.act("e1", "alice", "acknowledge")
    led.act("e1", "alice", "escalate")
    led.act("e1", "fiona", "acknowledge")
    with led.uow() as uow:
        out = services.act(uow=uow, actor=DEMO_ACTORS["fiona"], escalation_id="e1",
                           action="hand-off", payload={"to": "sue", "context": "c"},
                           policy=led.policy, now=led.tick())
        notify.announce(uow=uow, escalation=out.escalation, event=out.event, seq=out.seq)
        uow.commit()
    arrival, handoff = (n["payload"] for n in _notices(led, "e1"))
    assert arrival["about"] == "open" and arrival["team"] == "frontline"
    assert arrival["channels"] == {"email": ["andy"], "webhook": [webhook_id]}
    assert handoff["about"] == "hand-off" and handoff["channels"]["email"] == ["sue"]
    assert all("example.org" not in json.dumps(n) for n in _notices(led, "e1"))
    with led.engine.connect() as conn:  # the messages the notices name are in the outbox
        mailed = conn.exec_driver_sql(
            "SELECT seq, target FROM outbox WHERE channel = 'email' ORDER BY seq").all()
    assert [(s, t) for s, t in mailed] == [(arrival["about_seq"], "andy"),
                                          (handoff["about_seq"], "sue")]
    with led.uow() as uow:
        stored = uow.escalations.get("e1")
    assert stored is not None and stored.version == len(
        [a for _, e, a in _actions(led) if e == "e1"]), "each notice is folded in"


def _actions(led: Ledger) -> list[tuple[int, str | None, str]]:
    with led.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT seq, escalation_id, action FROM ledger").all()
    return [(r[0], r[1], r[2]) for r in rows]
