"""Issue 14's rules, at the level where they live: cover is never the governor's, a
pending hand-off cannot get stuck, naming an owner is no acknowledgment, resolving is for
the tier it sits at, liaisons and collaborators can work, and nothing empty is recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.fakes import DEMO_ACTORS, FakeUnitOfWork
from tests.unit.scenario import Driver
from workflow import policy_loader, services, sla_sweep
from workflow.errors import AuthorityDenied, NothingToChange
from workflow.model import replay
from workflow.policy import Policy


@pytest.fixture
def d(policy: Policy) -> Driver:
    return Driver(policy, FakeUnitOfWork(policy=policy))


def refused(d: Driver, who: str, action: str, payload: dict | None = None) -> str:
    before = list(d.uow.events)
    with pytest.raises(AuthorityDenied) as info:
        d.act(who, action, payload)
    assert d.uow.events == before
    return info.value.rule


def unchanged(d: Driver, who: str, action: str, payload: dict) -> str:
    before = (list(d.uow.events), d.get().version)
    with pytest.raises(NothingToChange) as info:
        d.act(who, action, payload)
    assert (list(d.uow.events), d.get().version) == before, "nothing written"
    return info.value.rule


def breaches(d: Driver) -> list:
    return [e for e in d.uow.events if e.action == "sla-breached"]


def test_a_breach_never_makes_the_governor_the_acting_owner(d: Driver) -> None:
    d.open(category="billing")
    d.act("alice", "acknowledge")
    d.act("alice", "escalate", {"reason": "refund", "trigger": "authority"})
    d.act("fiona", "acknowledge")  # finance, governed by sam
    sla_sweep.sweep(uow_factory=lambda: d.uow, now=d.now + timedelta(hours=3))
    covered = breaches(d)[0].payload["acting_owner"]
    assert covered not in ("sam", "fiona") and covered == "sue"
    assert d.get().acting_owner == "sue"


def test_with_nobody_to_cover_the_breach_is_recorded_and_says_why(policy: Policy) -> None:
    text = policy_loader.default_text().replace('fallback = ["andy", "alice"]',
                                                'fallback = ["alice"]')
    ours = policy_loader.loads(text)
    d = Driver(ours, FakeUnitOfWork(policy=ours))
    d.open()
    d.act("alice", "acknowledge")
    sla_sweep.sweep(uow_factory=lambda: d.uow, now=d.now + timedelta(hours=3))
    breach = breaches(d)[0]
    assert "acting_owner" not in breach.payload and d.get().acting_owner is None
    assert breach.payload["cover_refused"]["rule"] == "cover.none"
    assert "neither owns nor governs" in breach.payload["cover_refused"]["reason"]


def test_the_owner_withdraws_a_pending_handoff_with_a_reason(d: Driver) -> None:
    d.open()
    d.act("alice", "acknowledge")
    d.act("alice", "hand-off", {"to": "andy", "context": "shift ends"})
    assert refused(d, "andy", "withdraw-handoff", {"reason": "x"}) == "owner.only"
    with pytest.raises(Exception, match="reason"):
        d.act("alice", "withdraw-handoff", {})
    esc = d.act("alice", "withdraw-handoff", {"reason": "stayed late"}).escalation
    assert esc.state == "acknowledged" and esc.owner == "alice"
    assert esc.proposed_owner is None and "handoff" not in esc.deadlines


def test_governance_reassigns_out_of_a_stuck_handoff(d: Driver) -> None:
    d.open()
    d.act("alice", "acknowledge")
    d.act("alice", "hand-off", {"to": "andy", "context": "shift ends"})
    esc = d.act("sam", "reassign", {"to": "andy", "reason": "alice is off"}).escalation
    assert esc.state == "acknowledged" and esc.owner == "andy" and esc.proposed_owner is None
    assert "handoff" not in esc.deadlines
    assert replay(d.uow.history("esc-1")) == d.get()


def test_an_unanswered_handoff_is_a_breach(d: Driver) -> None:
    d.open(severity="urgent")
    d.act("alice", "acknowledge")
    started = d.act("alice", "hand-off", {"to": "andy", "context": "c"}).event.at
    esc = d.get()
    assert esc.deadlines["handoff"] == (started + timedelta(minutes=15)).isoformat(
        timespec="microseconds").replace("+00:00", "Z")
    sla_sweep.sweep(uow_factory=lambda: d.uow, now=started + timedelta(minutes=16))
    assert [b.payload["clock"] for b in breaches(d)] == ["handoff"]
    d.act("andy", "accept-handoff", {})
    assert d.get().acting_owner is None, "the answer clears the blocker"


def test_reassigning_an_opened_escalation_is_no_acknowledgment(d: Driver) -> None:
    opened = d.open().escalation
    d.act("sam", "reassign", {"to": "andy", "reason": "alice is out"})
    esc = d.get()
    assert esc.state == "opened" and esc.owner == "andy"
    assert esc.deadlines["acknowledge"] == opened.deadlines["acknowledge"]
    assert d.act("andy", "acknowledge").escalation.state == "acknowledged"
    assert "acknowledge" not in d.get().deadlines


def test_resolving_needs_a_role_of_the_tier_it_sits_at(d: Driver) -> None:
    d.open(category="technical", amount={"value": "100.00", "currency": "USD"})
    d.act("alice", "acknowledge")
    d.act("alice", "escalate", {"reason": "deep", "trigger": "time-sensitivity",
                                "to_tier": 3})
    assert d.get().owner == "alice" and d.get().tier == 3
    assert refused(d, "alice", "resolve", {"summary": "refunded"}) == "resolve.tier"
    assert "resolve" not in services.allowed_actions(d.get(), DEMO_ACTORS["alice"], d.policy)
    d.act("maria", "acknowledge")  # a manager of the management team (erin governs it)
    assert d.act("maria", "resolve", {"summary": "done"}).escalation.state == "resolved"


def test_a_category_that_may_skip_tiers_lets_its_escalations_skip(d: Driver) -> None:
    d.open(category="outage")
    d.act("alice", "acknowledge")
    esc = d.act("alice", "escalate", {"reason": "all down", "trigger": "complexity",
                                      "to_tier": 3}).escalation
    assert esc.tier == 3
    d.open(escalation_id="esc-2", category="technical")
    d.act("alice", "acknowledge", escalation_id="esc-2")
    with pytest.raises(AuthorityDenied) as info:
        d.act("alice", "escalate", {"reason": "x", "trigger": "complexity", "to_tier": 3},
              escalation_id="esc-2")
    assert info.value.rule == "escalate.skip" and "category 'technical'" in info.value.reason


def test_the_liaison_and_collaborators_can_work_the_escalation(d: Driver) -> None:
    d.open()
    d.act("alice", "acknowledge")
    d.act("sam", "assign-liaison", {"handle": "lia"})
    assert d.act("lia", "update", {"note": "n", "next_steps": "s"}).event.rule == \
        "liaison.acts"
    assert d.act("lia", "add-watcher", {"handle": "bob"}).event.rule == "liaison.acts"
    assert d.act("lia", "note", {"note": "told finance"}).event.rule == "liaison.acts"
    d.act("alice", "add-collaborator", {"handle": "bea"})
    assert d.act("bea", "note", {"note": "checked logs"}).event.rule == "collaborator.acts"
    assert d.act("alice", "note", {"note": "thanks"}).event.rule == "owner.acts"
    assert d.act("sam", "note", {"note": "watching"}).event.rule == "governance.override"
    assert refused(d, "andy", "note", {"note": "me too"}) == "involved.only"
    before = dict(d.get().deadlines)
    d.act("alice", "note", {"note": "no clock moves"})
    assert d.get().deadlines == before


def test_actions_that_would_change_nothing_are_refused_and_write_nothing(d: Driver) -> None:
    d.open()
    d.act("alice", "acknowledge")
    d.act("bob", "add-watcher", {"handle": "bob"})
    assert unchanged(d, "bob", "add-watcher", {"handle": "bob"}) == "watcher.already"
    d.act("alice", "add-collaborator", {"handle": "bea"})
    assert unchanged(d, "alice", "add-collaborator", {"handle": "bea"}) == \
        "collaborator.already"
    d.act("sam", "assign-liaison", {"handle": "lia"})
    assert unchanged(d, "sam", "assign-liaison", {"handle": "lia"}) == "liaison.already"
    assert unchanged(d, "lee", "release-hold", {"reason": "none"}) == "hold.none"
    d.act("lee", "legal-hold", {"reason": "litigation"})
    assert unchanged(d, "lee", "legal-hold", {"reason": "again"}) == "hold.already"
    may = services.allowed_actions(d.get(), DEMO_ACTORS["lee"], d.policy)
    assert "legal-hold" not in may and "release-hold" in may
