"""What the use cases queue in the outbox, against the fake unit of work's in-memory
outbox: who is told of which event, by which channel, and nothing from a rolled-back
write or of one's own action."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.unit.fakes import DEMO_ACTORS, FakeUnitOfWork
from tests.unit.scenario import OPEN, Driver
from workflow import notify, services, sla_sweep
from workflow.policy import Policy


@pytest.fixture
def d(policy: Policy) -> Driver:
    uow = FakeUnitOfWork(policy=policy)
    uow.outbox.addresses = {"alice", "andy", "bob", "fiona", "sam", "sue"}
    return Driver(policy, uow)


def queued(d: Driver, kind: str, channel: str = "email") -> list[str]:
    return [m.target for m in d.uow.outbox.messages
            if m.event_type == kind and m.channel == channel]


def test_each_event_queues_mail_for_whom_the_domain_names(d: Driver) -> None:
    d.open()  # billing arrives at frontline: andy is told, not alice who opened it
    assert queued(d, "escalation.open") == ["andy"]
    d.act("alice", "acknowledge")
    assert queued(d, "escalation.acknowledge") == [], "nobody asked to act"
    d.act("alice", "add-watcher", {"handle": "bob"})
    d.act("alice", "escalate")
    assert queued(d, "escalation.escalate") == ["bob", "fiona"], "finance, and the watcher"
    d.act("fiona", "acknowledge")
    d.act("fiona", "hand-off", {"to": "sue", "context": "over to you"})
    watchers = sorted(d.get().watchers)
    assert "sue" not in watchers and "fiona" not in watchers
    assert queued(d, "escalation.hand_off") == sorted(["sue", *watchers])
    d.act("sue", "decline-handoff", {"reason": "not mine"})
    assert queued(d, "escalation.decline_handoff") == sorted(["sam", *watchers]), (
        "the governor (and the watchers: the state changed)")
    message = next(m for m in d.uow.outbox.messages if m.event_type == "escalation.hand_off")
    assert message.data["proposed_owner"] == "sue" and "context" not in message.data
    assert message.seq == next(i for i, e in enumerate(d.uow.events)
                               if e.action == "hand-off")


def test_webhooks_are_queued_for_the_types_subscribed(d: Driver) -> None:
    d.uow.outbox.subscriptions = {"wh_all": ["*"], "wh_breach": ["escalation.sla_breached"]}
    d.open()
    d.act("alice", "acknowledge")
    assert queued(d, "escalation.open", "webhook") == ["wh_all"]
    assert queued(d, "escalation.acknowledge", "webhook") == ["wh_all"]
    sla_sweep.sweep(uow_factory=lambda: d.uow, now=d.now + timedelta(days=3))
    breaches = [i for i, e in enumerate(d.uow.events) if e.action == "sla-breached"]
    assert breaches and queued(d, "escalation.sla_breached", "webhook") == [
        "wh_all", "wh_breach"] * len(breaches)
    notices = [e for e in d.uow.events if e.action == "notified"]
    assert len(notices) >= len(breaches), "each breach has its notice"
    assert queued(d, "escalation.notified", "webhook") == ["wh_all"] * len(notices)


def test_a_rolled_back_write_queues_nothing(d: Driver) -> None:
    with d.uow:
        services.open_escalation(uow=d.uow, actor=DEMO_ACTORS["alice"],
                                 escalation_id="gone", payload=OPEN, policy=d.policy,
                                 now=d.tick())
    assert d.uow.events == [] and d.uow.outbox.messages == []


def test_a_breach_names_by_channel_who_its_mail_goes_to(d: Driver) -> None:
    d.open()
    d.act("alice", "acknowledge")
    d.uow.outbox.subscriptions = {"wh_breach": ["escalation.sla_breached"]}
    sla_sweep.sweep(uow_factory=lambda: d.uow, now=d.now + timedelta(days=3))
    seq = next(i for i, e in enumerate(d.uow.events) if e.action == "notified"
               and e.payload["about"] == "sla-breached")
    assert d.uow.events[seq - 1].action == "sla-breached", "told right after the breach"
    told = d.uow.events[seq].payload
    mailed = [m.target for m in d.uow.outbox.messages
              if m.seq == seq - 1 and m.channel == "email"]
    assert mailed == sorted(told["channels"]["email"]), "the record says who was mailed"
    assert "alice" in told["channels"]["email"], "the owner has an address"
    assert told["channels"]["webhook"] == ["wh_breach"]
    assert set(told["channels"]["email"]) <= set(told["recipients"])


def _act_and_announce(d: Driver, who: str, action: str,
                      payload: dict[str, Any] | None = None) -> int | None:
    """act and announce in one transaction (announce writes nothing more when the use
    case has announced already); the seq of the notice about the action, or None."""
    with d.uow:
        out = services.act(uow=d.uow, actor=DEMO_ACTORS[who], escalation_id="esc-1",
                           action=action, payload=payload or {}, policy=d.policy,
                           now=d.tick())
        notify.announce(uow=d.uow, escalation=out.escalation, event=out.event, seq=out.seq)
        d.uow.commit()
    return next((i for i, e in enumerate(d.uow.events) if e.action == "notified"
                 and e.payload.get("about_seq") == out.seq), None)


def test_who_is_mailed_to_act_is_on_the_record(d: Driver) -> None:
    d.open()
    d.act("alice", "acknowledge")
    d.act("alice", "escalate", {"reason": "limit", "trigger": "authority"})
    d.act("fiona", "acknowledge")
    assert _act_and_announce(d, "fiona", "update", {"note": "n", "next_steps": "m"}) is None, (
        "asks nobody to act")
    seq = _act_and_announce(d, "fiona", "hand-off", {"to": "sue", "context": "yours"})
    assert seq is not None
    notice = d.uow.events[seq]
    assert (notice.action, notice.actor, notice.rule) == ("notified", "system",
                                                          "notify.hand-off")
    assert notice.payload["about"] == "hand-off" and notice.payload["about_seq"] == seq - 1
    assert notice.payload["recipients"][0] == "sue"
    assert "sue" in notice.payload["channels"]["email"]
    assert d.get().version == len(d.uow.history("esc-1")), "folded like any event"
    seq = _act_and_announce(d, "sue", "decline-handoff", {"reason": "no"})
    assert seq is not None and "sam" in d.uow.events[seq].payload["channels"]["email"]


def test_nothing_is_recorded_when_nobody_is_mailed(d: Driver) -> None:
    d.uow.outbox.addresses = set()
    d.uow.outbox.subscriptions = {"wh_all": ["*"]}  # tools are told; no person is mailed
    d.open()
    d.act("alice", "acknowledge")
    before = len(d.uow.events)
    assert _act_and_announce(d, "alice", "hand-off", {"to": "andy", "context": "c"}) is None
    assert len(d.uow.events) == before + 1, "the hand-off alone"
