"""Issue 25's rules on the fake: an accepted hand-off is the eligible receiver's
acknowledgment; allowed_actions lists only what the actions route takes; the API and the
page refuse with one decision; action items have owners; one error per wrong field and no
duplicate promise; a feedback link dies with its use or a reopen."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.unit.fakes import DEMO_ACTORS, FakeUnitOfWork
from tests.unit.scenario import Driver
from tests.unit.test_properties import payload_for
from workflow import payload_validation, policy_loader, services, sla, sla_sweep
from workflow.authority import customer_actor
from workflow.catalogue import ACTION_ROUTES, CATALOGUE
from workflow.errors import AuthorityDenied, NothingToChange, PayloadInvalid
from workflow.model import replay
from workflow.policy import Policy


@pytest.fixture
def d(policy: Policy) -> Driver:
    return Driver(policy, FakeUnitOfWork(policy=policy))


def handed_to_fiona_at_tier_1(d: Driver) -> None:
    """The issue's repro up to the offer: billing, acknowledged, escalated to finance
    (tier 1, awaiting its acknowledgment), offered to fiona."""
    d.open(category="billing")
    d.act("alice", "acknowledge")
    d.act("alice", "escalate", {"reason": "refund", "trigger": "authority"})
    d.act("alice", "hand-off", {"to": "fiona", "context": "refund of 1,200 USD"})


# --- 1: an accepted hand-off is an acknowledgment --------------------------------------

def test_an_eligible_receiver_accepting_stops_the_tiers_acknowledge_clock(d: Driver) -> None:
    handed_to_fiona_at_tier_1(d)
    assert "acknowledge" in d.get().deadlines
    out = d.act("fiona", "accept-handoff", {"note": "mine"})
    assert out.event.payload["acknowledges"] is True
    esc = d.get()
    assert esc.owner == "fiona" and esc.state == "escalated-tier-1"
    assert "acknowledge" not in esc.deadlines and not esc.awaiting_ack
    assert sla.status(esc, d.now)["acknowledge_by"] is None
    allowed = services.allowed_actions(esc, DEMO_ACTORS["fiona"], d.policy)
    assert "acknowledge" not in allowed and allowed[0] != "acknowledge"
    assert replay(d.uow.history("esc-1")) == esc
    # Long after the acknowledge deadline, the sweep finds nothing of it to breach.
    sla_sweep.sweep(uow_factory=lambda: d.uow, now=d.now + timedelta(days=30))
    assert not [e for e in d.uow.events
                if e.action == "sla-breached" and e.payload["clock"] == "acknowledge"]


def test_an_accepted_hand_off_clears_an_acknowledge_breach_and_its_cover(d: Driver) -> None:
    handed_to_fiona_at_tier_1(d)
    sla_sweep.sweep(uow_factory=lambda: d.uow, now=d.now + timedelta(hours=3))
    assert d.get().breached.get("acknowledge") and d.get().acting_owner
    d.act("fiona", "accept-handoff", {})
    assert d.get().acting_owner is None
    assert d.uow.events[-1].action == "acting-owner-released"
    assert sla.outstanding(d.get()) == []


def test_accepting_where_nothing_awaits_acknowledgment_says_so(d: Driver) -> None:
    d.open()
    d.act("alice", "acknowledge")
    d.act("alice", "hand-off", {"to": "andy", "context": "shift ends"})
    out = d.act("andy", "accept-handoff", {})
    assert out.event.payload["acknowledges"] is False
    assert replay(d.uow.history("esc-1")) == d.get()


def test_a_receiver_not_eligible_to_acknowledge_leaves_the_clock_running(
        policy: Policy) -> None:
    # Finance may accept hand-offs here but not acknowledge: its clock must run on.
    text = policy_loader.default_text()
    start = text.index("[roles.finance]")
    actions = text.index('actions = ["open", "acknowledge", ', start)
    text = text[:actions] + text[actions:].replace('"acknowledge", ', "", 1)
    ours = policy_loader.loads(text)
    assert "acknowledge" not in ours.roles["finance"].actions
    d = Driver(ours, FakeUnitOfWork(policy=ours))
    handed_to_fiona_at_tier_1(d)
    out = d.act("fiona", "accept-handoff", {})
    assert out.event.payload["acknowledges"] is False
    assert "acknowledge" in d.get().deadlines and d.get().awaiting_ack


def test_nobody_can_claim_an_acknowledgment_in_the_payload(d: Driver) -> None:
    handed_to_fiona_at_tier_1(d)
    with pytest.raises(PayloadInvalid) as info:
        d.act("fiona", "accept-handoff", {"acknowledges": True})
    assert info.value.errors == {"acknowledges": "unknown field"}


# --- 3: allowed_actions is what POST …/actions/{action} takes ----------------------------

def test_an_action_with_a_route_of_its_own_is_listed_apart(d: Driver) -> None:
    d.open()
    d.act("alice", "acknowledge")
    d.act("alice", "resolve")
    alice = DEMO_ACTORS["alice"]
    allowed = services.allowed_actions(d.get(), alice, d.policy)
    assert "issue-feedback-link" not in allowed
    assert set(allowed) <= set(ACTION_ROUTES)
    assert services.allowed_operations(d.get(), alice, d.policy) == [
        ("issue-feedback-link", "feedback-link")]
    # Someone who may not issue one is offered no operation.
    assert services.allowed_operations(d.get(), DEMO_ACTORS["bob"], d.policy) == []


# --- 4: one decision for the API and the page -------------------------------------------

def test_lee_is_refused_release_hold_for_the_same_reason_everywhere(d: Driver) -> None:
    d.open()
    lee = DEMO_ACTORS["lee"]
    shown = dict(services.refusals(d.get(), lee, d.policy))
    assert isinstance(shown["release-hold"], NothingToChange)
    assert shown["release-hold"].rule == "hold.none"
    with pytest.raises(NothingToChange) as info:
        d.act("lee", "release-hold", {"reason": "done"})
    assert (info.value.rule, info.value.reason) == (shown["release-hold"].rule,
                                                    shown["release-hold"].reason)
    assert "release-hold" not in services.allowed_actions(d.get(), lee, d.policy)


JOURNEY = [("alice", "acknowledge", None), ("alice", "escalate", None),
           ("alice", "hand-off", {"to": "fiona", "context": "c"}),
           ("fiona", "accept-handoff", {}), ("fiona", "resolve", None)]


def _payload(action: str, actor: str) -> dict[str, Any]:
    return payload_for(action, "bob" if actor == "bea" else "bea", None, "authority", "10.00")


def test_every_refusal_shown_is_the_one_the_action_answers(d: Driver) -> None:
    """At each step of a journey, for every actor, each refused action refuses with the
    same rule when taken (with a payload about someone else)."""
    d.open(category="billing")
    checked = 0
    for step in [None, *JOURNEY]:
        if step is not None:
            d.act(step[0], step[1], step[2])
        for handle, actor in DEMO_ACTORS.items():
            for action, shown in services.refusals(d.get(), actor, d.policy):
                with pytest.raises((AuthorityDenied, NothingToChange)) as info:
                    services.act(uow=d.uow,
                                 actor=actor, escalation_id="esc-1", action=action,
                                 payload=_payload(action, handle), policy=d.policy, now=d.now)
                assert info.value.rule == shown.rule, (handle, action)
                checked += 1
            for action in services.allowed_actions(d.get(), actor, d.policy):
                assert CATALOGUE[action].own_route is None
    assert checked > 50


# --- 15: an action item always has an owner ----------------------------------------------

def test_a_plain_text_action_item_is_refused_with_how_to_name_its_owner(d: Driver) -> None:
    d.open()
    d.act("alice", "acknowledge")
    d.act("alice", "resolve")
    body = {"what_worked": "a", "what_did_not": "b", "root_cause": "c", "lessons": ["l"]}
    with pytest.raises(PayloadInvalid) as plain:
        d.act("fay", "debrief", {**body, "actions": ["fix the retry"]})
    said = plain.value.errors["actions"]
    assert "names no owner" in said and '"owner": "<handle>"' in said
    with pytest.raises(PayloadInvalid) as ownerless:
        d.act("fay", "debrief", {**body, "actions": [{"what": "fix the retry"}]})
    assert "names its owner" in ownerless.value.errors["actions"]
    with pytest.raises(PayloadInvalid) as nobody:
        d.act("fay", "debrief", {**body, "actions": [{"what": "fix", "owner": "ghost"}]})
    assert "no active actor 'ghost'" in nobody.value.errors["actions"]
    assert d.get().state == "resolved"
    out = d.act("fay", "debrief", {**body, "actions": [{"what": "fix", "owner": "bob"}]})
    item = next(iter(out.escalation.action_items))
    assert d.act("bob", "complete-action", {"item": item}).escalation.action_items[item][
        "completed_at"]


# --- 16: one error per wrong field; the same promise twice ------------------------------

def test_a_wrong_duration_answers_one_error_that_lists_the_forms(d: Driver) -> None:
    d.open()
    d.act("alice", "acknowledge")
    with pytest.raises(PayloadInvalid) as info:
        d.act("alice", "promise", {"kind": "callback", "within": "1 hour"})
    assert list(info.value.errors) == ["within"]
    for form in ("90s", "10m", "2h", "1d", "1h30m", "no spaces"):
        assert form in info.value.errors["within"]


def test_a_missing_trigger_lists_the_valid_ones(policy: Policy) -> None:
    with pytest.raises(PayloadInvalid) as info:
        payload_validation.clean("escalate", {"reason": "r"}, policy)
    said = info.value.errors["trigger"]
    assert said.startswith("required")
    assert all(name in said for name in policy.triggers)


def test_the_same_promise_twice_while_the_first_runs_is_refused(d: Driver) -> None:
    d.open()
    d.act("alice", "acknowledge")
    due = (d.now + timedelta(hours=2)).isoformat()
    first = d.act("alice", "promise", {"kind": "callback", "by": due})
    with pytest.raises(NothingToChange) as info:
        d.act("alice", "promise", {"kind": "callback", "by": due})
    assert info.value.rule == "promise.duplicate"
    assert first.event.payload["promise_id"] in info.value.reason
    assert len(d.get().promises) == 1
    # Another kind, another time, or once the first is kept: a promise of its own.
    d.act("alice", "promise", {"kind": "update", "by": due})
    d.act("alice", "contact-customer", {"channel": "phone", "summary": "called",
                                        "promise": first.event.payload["promise_id"]})
    d.act("alice", "promise", {"kind": "callback", "by": due})
    assert len(d.get().promises) == 3


# --- 19: a feedback link is void once used or once the case reopens ---------------------

def test_a_link_issued_before_a_reopen_is_void_after_it(d: Driver) -> None:
    d.open()
    d.act("alice", "acknowledge")
    d.act("alice", "resolve")
    link = d.act("alice", "issue-feedback-link", {}).event.payload["link"]
    d.act("alice", "reopen")
    assert d.get().feedback_links[link] == "void"
    d.act("alice", "resolve")
    customer = customer_actor(d.get().customer_id)
    with pytest.raises(PayloadInvalid) as info:
        services.act(uow=d.uow, actor=customer, escalation_id="esc-1",
                     action="confirm-resolution", payload={"confirmed": True, "link": link},
                     policy=d.policy, now=d.tick())
    assert "reopened" in info.value.errors["link"]
    fresh = d.act("alice", "issue-feedback-link", {}).event.payload["link"]
    with d.uow:
        services.act(uow=d.uow, actor=customer, escalation_id="esc-1",
                     action="confirm-resolution", payload={"confirmed": True, "link": fresh},
                     policy=d.policy, now=d.tick())
        d.uow.commit()
    assert d.get().feedback_links == {link: "void", fresh: "used"}
    assert replay(d.uow.history("esc-1")) == d.get()
