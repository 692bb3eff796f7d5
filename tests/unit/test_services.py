"""The use cases against a fake unit of work: ownership, authority rules, replay."""

from __future__ import annotations

import pytest

from tests.unit.fakes import DEMO_ACTORS
from tests.unit.scenario import Driver
from workflow import services
from workflow.authority import decide
from workflow.errors import (
    AuthorityDenied,
    EscalationNotFound,
    InvalidTransition,
    PayloadInvalid,
    UnknownAction,
    VersionConflict,
)
from workflow.model import replay
from workflow.policy import Policy


@pytest.fixture
def d(policy: Policy) -> Driver:
    return Driver(policy)


def denied(d: Driver, who: str, action: str, payload: dict | None = None, **kw) -> str:
    before = list(d.uow.events)
    with pytest.raises(AuthorityDenied) as info:
        d.act(who, action, payload, **kw)
    assert d.uow.events == before, "a denied action changed nothing"
    return info.value.rule


def test_full_lifecycle_ownership_and_replay(d: Driver) -> None:
    opened = d.open()
    assert opened.escalation.state == "opened" and opened.escalation.owner is None
    assert opened.escalation.team == "frontline" and opened.escalation.governor == "sam"
    assert opened.event.rule == "role.actions" and opened.event.role == "agent"
    assert d.act("alice", "acknowledge").escalation.owner == "alice"
    esc = d.act("alice", "escalate").escalation
    assert (esc.state, esc.tier, esc.team) == ("escalated-tier-1", 1, "finance")
    assert esc.owner == "alice", "the old owner stays accountable until the new tier takes it"
    esc = d.act("fiona", "acknowledge").escalation
    assert esc.owner == "fiona" and "alice" in esc.watchers
    out = d.act("fiona", "resolve", {"summary": "refunded",
                                     "grant": {"kind": "refund",
                                               "amount": {"value": "1200", "currency": "USD"}}})
    assert out.escalation.state == "resolved" and out.event.rule == "owner.acts"
    assert d.act("alice", "reopen").escalation.state == "escalated-tier-1"
    assert d.get().reopen_count == 1
    d.act("fiona", "resolve")
    out = d.act("fay", "debrief")
    assert out.escalation.state == "debriefed"
    assert replay(d.uow.history("esc-1")) == d.get()
    assert [e.version for e in d.uow.history("esc-1")] == list(range(8))
    assert all(e.policy_version == d.policy.version for e in d.uow.events)


def test_warm_handoff_old_owner_stays_until_accepted(d: Driver) -> None:
    d.open(category="technical")
    d.act("alice", "acknowledge")
    esc = d.act("alice", "hand-off", {"to": "andy", "context": "customer prefers calls"}).escalation
    assert (esc.state, esc.owner, esc.proposed_owner) == ("handed-off", "alice", "andy")
    assert denied(d, "bob", "accept-handoff") == "handoff.proposed-only"
    esc = d.act("andy", "decline-handoff", {"reason": "on leave"}).escalation
    assert (esc.state, esc.owner, esc.proposed_owner) == ("acknowledged", "alice", None)
    d.act("alice", "hand-off", {"to": "andy", "context": "second try"})
    esc = d.act("andy", "accept-handoff", {}).escalation
    assert (esc.state, esc.owner, esc.watchers) == ("acknowledged", "andy", ["alice"])
    assert replay(d.uow.history("esc-1")) == esc


def test_handoff_target_must_be_eligible(d: Driver) -> None:
    d.open(category="technical")
    d.act("alice", "acknowledge")
    with pytest.raises(PayloadInvalid) as unknown:  # bad input, like add-watcher's
        d.act("alice", "hand-off", {"to": "nobody", "context": "x"})
    assert unknown.value.errors == {"to": "there is no active actor 'nobody'"}
    assert denied(d, "alice", "hand-off", {"to": "sam", "context": "x"}) == \
        "handoff.target-eligible"  # sam governs it
    assert denied(d, "alice", "hand-off", {"to": "aud", "context": "x"}) == \
        "handoff.target-eligible"
    assert denied(d, "alice", "hand-off", {"to": "alice", "context": "x"}) == \
        "handoff.target-eligible"


def test_acknowledge_rules(d: Driver) -> None:
    d.open(category="technical")
    d.act("alice", "acknowledge")
    d.act("alice", "escalate", {"reason": "deep bug", "trigger": "complexity"})
    assert denied(d, "andy", "acknowledge") == "acknowledge.tier"
    assert denied(d, "fiona", "acknowledge") == "acknowledge.team"
    out = d.act("bob", "acknowledge")
    assert out.event.rule == "acknowledge.eligible" and out.escalation.owner == "bob"
    with pytest.raises(InvalidTransition, match="already acknowledged"):
        d.act("bea", "acknowledge")


def test_governor_is_never_the_owner(d: Driver) -> None:
    d.open(category="technical")
    assert denied(d, "sam", "acknowledge") == "governance.separation"
    d.act("alice", "acknowledge")
    assert denied(d, "maria", "reassign", {"to": "sam", "reason": "x"}) == \
        "reassign.target-eligible"


def test_multi_tier_jumps_need_a_skipping_trigger_or_category(d: Driver) -> None:
    d.open(category="technical")
    d.act("alice", "acknowledge")
    assert denied(d, "alice", "escalate",
                  {"reason": "x", "trigger": "complexity", "to_tier": 3}) == "escalate.skip"
    esc = d.act("alice", "escalate",
                {"reason": "outage", "trigger": "time-sensitivity", "to_tier": 3}).escalation
    assert (esc.state, esc.tier, esc.team, esc.governor) == (
        "escalated-tier-3", 3, "management", "erin")
    d2 = Driver(d.policy)
    d2.open(category="regulatory")
    d2.act("alice", "acknowledge")
    esc = d2.act("alice", "escalate", {"reason": "GDPR complaint",
                                       "trigger": "complexity"}).escalation
    assert (esc.tier, esc.team) == (2, "legal"), "the category's path may skip to legal"
    assert d2.act("lee", "acknowledge").escalation.owner == "lee"


def test_escalate_past_the_top_and_downward_are_refused(d: Driver) -> None:
    d.open(category="technical")
    d.act("alice", "acknowledge")
    with pytest.raises(PayloadInvalid) as info:
        d.act("alice", "escalate", {"reason": "x", "trigger": "complexity", "to_tier": 4})
    assert "out of range" in info.value.errors["to_tier"]
    d.act("alice", "escalate", {"reason": "x", "trigger": "regulatory", "to_tier": 3})
    with pytest.raises(InvalidTransition):
        d.act("alice", "escalate", {"reason": "x", "trigger": "complexity"})


def test_owner_only_and_governance_override(d: Driver) -> None:
    d.open(category="technical")
    d.act("alice", "acknowledge")
    for action in ("escalate", "resolve", "update"):
        assert denied(d, "andy", action) == "owner.only"
    assert denied(d, "andy", "hand-off", {"to": "bob", "context": "x"}) == "owner.only"
    out = d.act("sam", "update")
    assert out.event.rule == "governance.override" and out.event.role == "supervisor"


def test_resolve_limits_exceptions_and_categories(d: Driver) -> None:
    d.open(category="billing")
    d.act("alice", "acknowledge")
    grant = {"kind": "refund", "amount": {"value": "1200.00", "currency": "USD"}}
    with pytest.raises(AuthorityDenied) as info:
        d.act("alice", "resolve", {"summary": "refund", "grant": grant})
    assert info.value.rule == "resolve.limit"
    assert info.value.reason == ("agent may resolve amounts up to 500 USD; 1,200 USD needs "
                                 "finance, supervisor, manager or executive")
    out = d.act("alice", "resolve", {"summary": "refund",
                                     "grant": {"kind": "credit",
                                               "amount": {"value": "500", "currency": "USD"}}})
    assert out.event.rule == "owner.acts"
    d.act("alice", "reopen")
    exc = {"kind": "policy-exception", "amount": {"value": "0", "currency": "USD"}}
    assert denied(d, "sam", "resolve", {"summary": "x", "grant": exc}) == "resolve.exception"
    assert d.act("maria", "resolve", {"summary": "x", "grant": exc}).event.role == "manager"
    d3 = Driver(d.policy)
    d3.open(category="regulatory")
    d3.act("alice", "acknowledge")
    assert denied(d3, "alice", "resolve") == "resolve.category"


def test_read_only_and_role_action_rules(d: Driver) -> None:
    d.open()
    assert denied(d, "aud", "acknowledge") == "role.read-only"
    d.act("alice", "acknowledge")
    d.act("alice", "resolve")
    assert denied(d, "alice", "debrief") == "role.actions"
    assert denied(d, "aud", "debrief") == "role.read-only"
    assert d.act("sam", "debrief").event.role == "supervisor"
    with pytest.raises(AuthorityDenied) as info:
        services.open_escalation(uow=d.uow, actor=DEMO_ACTORS["fay"], escalation_id="x",
                                 payload={}, policy=d.policy, now=d.now)
    assert info.value.rule == "role.actions"


def test_reassign_watchers_collaborators_liaison_hold(d: Driver) -> None:
    d.open(category="technical")
    assert denied(d, "alice", "reassign", {"to": "andy", "reason": "x"}) == "role.actions"
    assert denied(d, "lee", "reassign", {"to": "andy", "reason": "x"}) == "role.actions"
    esc = d.act("sam", "reassign", {"to": "andy", "reason": "alice is out"}).escalation
    # Naming an owner is no acknowledgment: the acknowledge clock runs on (issue 14).
    assert esc.owner == "andy" and esc.awaiting_ack and "acknowledge" in esc.deadlines
    assert esc.state == "opened"
    assert d.act("lia", "add-watcher", {"handle": "lia"}).event.rule == "watcher.self"
    assert denied(d, "bob", "add-watcher", {"handle": "alice"}) == "owner.only"
    assert d.act("andy", "add-collaborator", {"handle": "bob"}).escalation.collaborators == \
        ["bob"]
    # A liaison is named by governance; the liaison role no longer names itself (issue 27).
    assert denied(d, "lia", "assign-liaison", {"handle": "lia"}) == "role.actions"
    assert d.act("sam", "assign-liaison", {"handle": "lia"}).escalation.liaison == "lia"
    assert denied(d, "alice", "legal-hold", {"reason": "x"}) == "role.actions"
    assert d.act("lee", "legal-hold", {"reason": "litigation"}).escalation.legal_hold
    assert replay(d.uow.history("esc-1")) == d.get()


def test_nothing_happens_to_a_debriefed_escalation(d: Driver) -> None:
    d.open()
    d.act("alice", "acknowledge")
    d.act("alice", "resolve")
    d.act("fay", "debrief")
    for action in ("update", "reopen", "resolve", "add-watcher", "reassign", "note"):
        with pytest.raises(InvalidTransition) as info:
            d.act("lee", action, {"handle": "lee"} if action == "add-watcher" else None)
        assert info.value.state == "debriefed"
        # What this caller may do: a hold (there is none to release).
        assert info.value.allowed_actions == ["legal-hold"]


def test_invalid_transition_differs_from_denial_and_lists_possible_actions(d: Driver) -> None:
    d.open()
    with pytest.raises(InvalidTransition) as info:
        d.act("alice", "resolve")
    # Only what the caller may do (issue 14): alice may acknowledge; sam governs more.
    assert info.value.allowed_actions == ["acknowledge"]
    with pytest.raises(InvalidTransition) as info:
        d.act("sam", "resolve")
    assert info.value.allowed_actions == ["update", "note", "promise", "contact-customer",
                                          "reassign", "add-watcher", "add-collaborator",
                                          "assign-liaison"]
    with pytest.raises(UnknownAction) as unknown:
        d.act("alice", "fly")
    assert "withdraw-handoff" in unknown.value.known


def test_payload_and_template_validation(d: Driver) -> None:
    with pytest.raises(PayloadInvalid) as info:
        d.open(category="nope", severity=None, customer={"name": "x"},
               amount={"value": 1.5, "currency": "USD"})
    assert set(info.value.errors) == {"category", "severity", "customer.id", "amount"}
    assert "never floats" in info.value.errors["amount"]
    d.open()
    with pytest.raises(PayloadInvalid) as info:
        d.act("alice", "acknowledge", {})
    assert info.value.errors == {"note": "required by the acknowledge template"}
    d.act("alice", "acknowledge")
    with pytest.raises(PayloadInvalid) as info:
        d.act("alice", "escalate", {"trigger": "boredom", "colour": "red"})
    assert set(info.value.errors) == {"trigger", "colour", "reason"}


def test_version_conflict_and_missing_escalation(d: Driver) -> None:
    d.open()
    with pytest.raises(VersionConflict):
        d.act("alice", "acknowledge", expected_version=5)
    assert d.act("alice", "acknowledge", expected_version=1).escalation.version == 2
    with pytest.raises(EscalationNotFound):
        d.act("alice", "acknowledge", escalation_id="nope")


def test_allowed_actions_are_per_caller(d: Driver) -> None:
    d.open(category="technical")
    d.act("alice", "acknowledge")
    esc = d.get()
    assert "resolve" in services.allowed_actions(esc, DEMO_ACTORS["alice"], d.policy)
    assert "resolve" not in services.allowed_actions(esc, DEMO_ACTORS["andy"], d.policy)
    assert services.allowed_actions(esc, DEMO_ACTORS["aud"], d.policy) == []
    assert decide(DEMO_ACTORS["aud"], "update", esc, None, d.policy).rule == "role.read-only"


def test_an_owner_escalating_into_a_team_they_govern_gets_the_next_governor(d: Driver) -> None:
    d.open(category="regulatory")
    d.act("alice", "acknowledge")
    d.act("sam", "reassign", {"to": "maria", "reason": "manager takes it"})
    esc = d.act("maria", "escalate", {"reason": "legal", "trigger": "regulatory"}).escalation
    assert (esc.team, esc.owner) == ("legal", "maria")
    assert esc.governor == "erin", "maria governs legal but owns this case"


def test_sla_deadlines_start_and_stop_with_the_lifecycle(d: Driver) -> None:
    from workflow import sla

    esc = d.open(severity="urgent").escalation
    assert esc.deadlines == {"acknowledge": "2026-03-02T09:11:00.000000Z",
                             "resolve": "2026-03-02T11:01:00.000000Z"}
    esc = d.act("alice", "acknowledge").escalation
    assert esc.deadlines == {"update": "2026-03-02T09:32:00.000000Z",
                             "resolve": "2026-03-02T11:01:00.000000Z"}
    status = sla.status(esc, d.now.replace(hour=10))
    assert status["breached"] == ["update"] and status["acknowledge_by"] is None
    esc = d.act("alice", "resolve").escalation
    # Every clock stops; the customer's follow-up window starts (issue 18).
    assert esc.deadlines == {"follow_up": "2026-03-03T09:03:00.000000Z"}
    esc = d.act("alice", "reopen").escalation
    assert set(esc.deadlines) == {"update", "resolve"}
