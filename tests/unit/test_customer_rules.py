"""Issue 18's rules on the fake: who may promise, contact, confirm and complete; a kept
promise clears its clock, a missed one breaches once; follow-up and repeats."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.fakes import FakeUnitOfWork
from tests.unit.scenario import Driver
from workflow import policy_loader, services, sla_sweep
from workflow.authority import customer_actor
from workflow.errors import AuthorityDenied, PayloadInvalid
from workflow.policy import Policy


@pytest.fixture
def d(policy: Policy) -> Driver:
    return Driver(policy, FakeUnitOfWork(policy=policy))


def refused(d: Driver, who: str, action: str, payload: dict) -> str:
    with pytest.raises(AuthorityDenied) as info:
        d.act(who, action, payload)
    return info.value.rule


def test_who_may_promise_and_contact(d: Driver) -> None:
    d.open()
    d.act("alice", "acknowledge")
    assert refused(d, "andy", "promise", {"kind": "callback", "within": "1h"}) == \
        "involved.only"
    d.act("alice", "add-collaborator", {"handle": "bob"})
    assert d.act("bob", "promise", {"kind": "update", "within": "1h"}).event.rule == \
        "collaborator.acts"
    d.act("sam", "assign-liaison", {"handle": "lia"})
    assert d.act("lia", "contact-customer", {"channel": "email", "summary": "s"}
                 ).event.rule == "liaison.acts"
    with pytest.raises(PayloadInvalid) as both:
        d.act("alice", "promise", {"kind": "callback", "within": "1h",
                                   "by": "2099-01-01T00:00:00Z"})
    assert "exactly one" in both.value.errors["by"]
    with pytest.raises(PayloadInvalid):
        d.act("alice", "promise", {"kind": "callback", "by": "2020-01-01T00:00:00Z"})


def test_a_kept_promise_clears_its_clock_and_a_missed_one_breaches_once(d: Driver) -> None:
    d.open()
    d.act("alice", "acknowledge")
    kept = d.act("alice", "promise", {"kind": "callback", "within": "30m"}).escalation
    first = next(iter(kept.promises))
    missed = d.act("alice", "promise", {"kind": "resolution", "within": "45m"}).escalation
    second = [p for p in missed.promises if p != first][0]
    esc = d.act("alice", "contact-customer", {"channel": "phone", "summary": "called"}
                ).escalation
    assert f"promise-{first}" not in esc.deadlines, "the callback is kept"
    assert f"promise-{second}" in esc.deadlines, "a resolution promise is not a contact's"
    later = d.now + timedelta(hours=1)
    sla_sweep.sweep(uow_factory=lambda: d.uow, now=later)
    sla_sweep.sweep(uow_factory=lambda: d.uow, now=later + timedelta(minutes=5))
    breached = [e.payload["clock"] for e in d.uow.events if e.action == "sla-breached"]
    assert breached.count(f"promise-{second}") == 1
    assert f"promise-{first}" not in breached


def test_confirmation_by_the_owner_or_the_customer_and_nobody_else(d: Driver) -> None:
    d.open()
    d.act("alice", "acknowledge")
    esc = d.act("alice", "resolve").escalation
    assert "follow_up" in esc.deadlines
    assert refused(d, "andy", "confirm-resolution", {"confirmed": True}) == "owner.only"
    other = customer_actor("someone-else")
    with d.uow, pytest.raises(AuthorityDenied) as info:
        services.act(uow=d.uow, actor=other, escalation_id="esc-1",
                     action="confirm-resolution", payload={"confirmed": True, "link": "x"},
                     policy=d.policy, now=d.tick())
    assert info.value.rule == "customer.own-only"
    done = d.act("alice", "confirm-resolution", {"confirmed": True, "csat": 4}).escalation
    assert done.confirmed is True and "follow_up" not in done.deadlines


def test_an_unconfirmed_resolution_reopens_as_a_repeat(d: Driver) -> None:
    d.open()
    d.act("alice", "acknowledge")
    d.act("alice", "resolve")
    sla_sweep.sweep(uow_factory=lambda: d.uow, now=d.now + timedelta(days=3))
    esc = d.get()
    assert esc.state == "acknowledged" and esc.reopen_count == 1
    assert d.uow.events[-1].rule == "follow-up.not-confirmed-in-time"


def test_only_an_items_owner_completes_it_once(d: Driver) -> None:
    d.open()
    d.act("alice", "acknowledge")
    d.act("alice", "resolve")
    esc = d.act("fay", "debrief", {
        "what_worked": "a", "what_did_not": "b", "root_cause": "c", "lessons": ["l"],
        "actions": [{"what": "plain", "owner": "alice"},
                    {"what": "fix", "owner": "bob", "due": "2026-04-01"}]}
    ).escalation
    items = list(esc.action_items)
    assert esc.action_items[items[1]]["owner"] == "bob"
    assert refused(d, "alice", "complete-action", {"item": items[1]}) == "item.owner-only"
    assert d.act("bob", "complete-action", {"item": items[1]}).escalation.action_items[
        items[1]]["completed_at"]
    with pytest.raises(Exception, match="completed already"):
        d.act("bob", "complete-action", {"item": items[1]})


def test_an_escalation_of_the_same_customer_soon_after_is_a_repeat(d: Driver) -> None:
    d.open(escalation_id="first")
    d.act("alice", "acknowledge", escalation_id="first")
    d.act("alice", "resolve", escalation_id="first")
    assert d.open(escalation_id="second").escalation.repeat_of == "first"
    d.now += timedelta(days=40)
    assert d.open(escalation_id="third").escalation.repeat_of is None


def test_the_policy_may_require_a_promise_at_acknowledgment(policy: Policy) -> None:
    text = policy_loader.default_text().replace(
        'definition = "High impact: a core function is impaired, a partial workaround exists"',
        'definition = "High impact: a core function is impaired, a partial workaround exists"'
        '\npromise_at_acknowledge = true')
    ours = policy_loader.loads(text)
    assert ours.severities["high"].promise_at_acknowledge
    assert not ours.severities["low"].promise_at_acknowledge
    d = Driver(ours, FakeUnitOfWork(policy=ours))
    d.open(severity="high")
    with pytest.raises(PayloadInvalid) as missing:
        d.act("alice", "acknowledge", {"note": "on it"})
    assert "promise_made" in missing.value.errors
    esc = d.act("alice", "acknowledge", {"note": "on it", "promise_made": {
        "kind": "callback", "within": "2h"}}).escalation
    (promise_id, promise), = esc.promises.items()
    assert promise["kind"] == "callback" and f"promise-{promise_id}" in esc.deadlines
    kept = d.act("alice", "contact-customer", {"channel": "phone", "summary": "s"})
    assert f"promise-{promise_id}" not in kept.escalation.deadlines
    d.open(escalation_id="calm", severity="low")
    assert d.act("alice", "acknowledge", {"note": "x"}, escalation_id="calm")

