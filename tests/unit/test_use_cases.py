"""The use cases besides open and act, against the fake unit of work: erasure, retention,
applying a policy, the SLA sweep loop, and the permissions each needs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.fakes import DEMO_ACTORS, FakeUnitOfWork
from tests.unit.scenario import Driver
from workflow import erasure, policy_change, policy_loader, sla_sweep
from workflow.authority import permit
from workflow.errors import AuthorityDenied
from workflow.model import SYSTEM, Actor
from workflow.policy import Policy


@pytest.fixture
def d(policy: Policy) -> Driver:
    return Driver(policy, FakeUnitOfWork(policy=policy))


def test_erasure_needs_the_erase_permission_and_keeps_legal_holds(d: Driver) -> None:
    d.open(escalation_id="esc-1")
    d.open(escalation_id="esc-2")
    d.act("lee", "legal-hold", {"reason": "litigation"}, escalation_id="esc-2")
    before = len(d.uow.events)
    with d.uow, pytest.raises(AuthorityDenied) as refused:
        erasure.erase_customer(uow=d.uow, actor=DEMO_ACTORS["aud"], customer_id="cust-42",
                               policy=d.policy, now=d.tick())
    assert refused.value.rule == "permission.erase"
    assert "admin" in refused.value.reason and len(d.uow.events) == before
    with d.uow:
        done = erasure.erase_customer(uow=d.uow, actor=DEMO_ACTORS["root"],
                                      customer_id="cust-42", policy=d.policy, now=d.tick())
        d.uow.commit()
    assert list(done.events) == ["esc-1"] and done.held == ["esc-2"]
    event = d.uow.events[done.events["esc-1"]]
    assert event.action == "content-erased" and event.rule == "erasure.request"
    assert event.role == "admin" and "0:title" in event.payload["fields"]
    assert d.uow.content.fields_of("esc-1") == []
    assert d.uow.content.fields_of("esc-2") != []


def test_retention_erases_closed_escalations_past_their_period(policy: Policy) -> None:
    text = policy_loader.default_text().replace(
        'description = "Invoices, charges, refunds and credits"',
        'description = "Invoices, charges, refunds and credits"\nretention = "30d"')
    kept = policy_loader.loads(text)
    d = Driver(kept, FakeUnitOfWork(policy=kept))
    d.open(escalation_id="old")
    d.act("alice", "acknowledge", escalation_id="old")
    d.act("alice", "resolve", escalation_id="old")
    d.open(escalation_id="open")
    with d.uow:
        early = erasure.retention_sweep(uow=d.uow, policy=kept,
                                        now=d.now + timedelta(days=29))
        late = erasure.retention_sweep(uow=d.uow, policy=kept,
                                       now=d.now + timedelta(days=31))
        d.uow.commit()
    assert early.events == {} and list(late.events) == ["old"]
    erased = d.uow.events[late.events["old"]]
    assert erased.actor == SYSTEM.handle and erased.rule == "erasure.retention"


def test_applying_a_policy_is_permitted_by_the_policy_in_force(policy: Policy) -> None:
    uow = FakeUnitOfWork(policy=None)
    text = policy_loader.default_text()
    # The first policy bootstraps Baton: nobody's permission exists yet.
    with uow:
        first, seq = policy_change.apply_policy(uow=uow, actor=SYSTEM, text=text,
                                                now=Driver(policy).now)
    assert seq == 0 and first.version == policy.version
    with uow:
        same, seq = policy_change.apply_policy(uow=uow, actor=DEMO_ACTORS["root"],
                                               text=text, now=Driver(policy).now)
    assert seq is None, "an unchanged policy writes nothing"
    changed = text.replace('name = "baton-default"', 'name = "ours"')
    for who in ("sam", "aud"):
        with uow, pytest.raises(AuthorityDenied) as refused:
            policy_change.apply_policy(uow=uow, actor=DEMO_ACTORS[who], text=changed,
                                       now=Driver(policy).now)
        assert refused.value.rule == "permission.apply-policy"
    with uow:
        applied, seq = policy_change.apply_policy(uow=uow, actor=DEMO_ACTORS["root"],
                                                  text=changed, now=Driver(policy).now)
    assert seq == 1 and applied.name == "ours" and uow.policies.applied[-1][1] == "root"


def test_permissions_come_from_the_policy_not_from_role_names(policy: Policy) -> None:
    assert permit(DEMO_ACTORS["aud"], "read-audit", policy).allowed
    assert not permit(DEMO_ACTORS["alice"], "read-audit", policy).allowed
    text = policy_loader.default_text().replace(
        'description = "Runs post-mortems and writes the debrief"',
        'description = "Runs post-mortems and writes the debrief"\n'
        'permissions = ["read-audit"]')
    ours = policy_loader.loads(text)
    granted = permit(Actor("fay", ("facilitator",)), "read-audit", ours)
    assert granted.allowed and granted.rule == "permission.read-audit"
    assert granted.role == "facilitator"


def test_a_read_only_role_may_hold_only_read_permissions() -> None:
    text = policy_loader.default_text().replace(
        'permissions = ["read-audit"]', 'permissions = ["read-audit", "erase"]', 1)
    with pytest.raises(Exception, match="read-only role cannot be granted 'erase'"):
        policy_loader.loads(text)


def test_a_policy_without_permissions_keeps_the_former_grants() -> None:
    text = "\n".join(line for line in policy_loader.default_text().splitlines()
                     if not line.startswith("permissions ="))
    legacy = policy_loader.loads(text)
    assert permit(Actor("a", ("auditor",)), "read-audit", legacy).allowed
    assert permit(Actor("r", ("admin",)), "erase", legacy).allowed
    assert not permit(Actor("a", ("auditor",)), "erase", legacy).allowed


def test_the_sweep_loop_records_each_breach_once(d: Driver) -> None:
    d.open(escalation_id="esc-1")
    d.open(escalation_id="esc-2")
    later = d.now + timedelta(hours=1)
    first = sla_sweep.sweep(uow_factory=lambda: d.uow, now=later)
    again = sla_sweep.sweep(uow_factory=lambda: d.uow, now=later)
    assert first.escalations == 2 and first.events == 4 and again.events == 0
    breaches = [e for e in d.uow.events if e.action == "sla-breached"]
    assert sorted(e.escalation_id for e in breaches) == ["esc-1", "esc-2"]
