"""Random actors and actions: the invariants of the lifecycle hold whatever happens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.unit.fakes import DEMO_ACTORS, FakeUnitOfWork
from tests.unit.scenario import PAYLOADS, Driver
from workflow import policy_loader, sla_sweep
from workflow.catalogue import INFORMATIONAL, REQUESTABLE
from workflow.errors import WorkflowError
from workflow.model import Escalation, replay

POLICY = policy_loader.default()
HANDLES = sorted(DEMO_ACTORS)
# Every action the API takes, from the catalogue (so a new one is exercised at once).
ACTIONS = list(REQUESTABLE)
# What an escalation is, apart from the bookkeeping every event moves.
BOOKKEEPING = ("version", "updated_at")


def payload_for(action: str, other: str, to_tier: int | None, trigger: str,
                amount: str) -> dict[str, Any]:
    if action == "escalate":
        body: dict[str, Any] = {"reason": "r", "trigger": trigger}
        if to_tier is not None:
            body["to_tier"] = to_tier
        return body
    if action == "resolve":
        return {"summary": "s", "grant": {"kind": "refund",
                                          "amount": {"value": amount, "currency": "USD"}}}
    if action == "hand-off":
        return {"to": other, "context": "c"}
    if action == "reassign":
        return {"to": other, "reason": "r"}
    if action in ("add-watcher", "add-collaborator", "assign-liaison"):
        return {"handle": other}
    if action in ("decline-handoff", "withdraw-handoff", "legal-hold", "release-hold"):
        return {"reason": "r"}
    if action == "note":
        return {"note": "n"}
    if action == "promise":
        return {"kind": "callback", "within": "45m"}
    if action == "contact-customer":
        return {"channel": "phone", "summary": "called back"}
    if action == "confirm-resolution":
        return {"confirmed": amount != "0", "csat": 3}
    if action == "debrief":
        return {**PAYLOADS["debrief"], "actions": [
            {"what": "fix the retry", "owner": other, "due": "2026-03-20"},
            {"what": "watch it", "owner": "fay"}]}
    return dict(PAYLOADS.get(action, {}))


class Lifecycle(RuleBasedStateMachine):
    @initialize(category=st.sampled_from(sorted(POLICY.categories)))
    def open(self, category: str) -> None:
        self.d = Driver(POLICY, FakeUnitOfWork(policy=POLICY))
        self.d.open(category=category)
        self.acknowledged = False

    @rule(who=st.sampled_from(HANDLES), action=st.sampled_from(ACTIONS),
          other=st.sampled_from(HANDLES), to_tier=st.one_of(st.none(), st.integers(0, 4)),
          trigger=st.sampled_from(sorted(POLICY.triggers)),
          amount=st.sampled_from(["0", "400", "900", "4000", "20000", "90000"]))
    def act(self, who: str, action: str, other: str, to_tier: int | None, trigger: str,
            amount: str) -> None:
        before = self.d.get()
        events_before = list(self.d.uow.events)
        body = payload_for(action, other, to_tier, trigger, amount)
        if action == "complete-action":
            body = {"item": next(iter(before.action_items), "a0.1")}
        try:
            out = self.d.act(who, action, body)
        except WorkflowError:
            assert self.d.get() == before, "a refused action changed the state"
            assert self.d.uow.events == events_before, "a refused action wrote an event"
            return
        assert before.state != "debriefed" or action in ("legal-hold", "release-hold")
        assert out.event.version == before.version
        if action not in INFORMATIONAL:
            assert _essence(before) != _essence(out.escalation), f"{action} changed nothing"
        if action == "acknowledge":
            self.acknowledged = True

    @rule(minutes=st.sampled_from([5, 20, 90, 600, 3000]))
    def time_passes_and_the_sweeper_runs(self, minutes: int) -> None:
        self.d.now += timedelta(minutes=minutes)
        count = len(self.d.uow.events)
        sla_sweep.sweep(uow_factory=lambda: self.d.uow, now=self.d.now)
        for event in self.d.uow.events[count:]:
            # (an unconfirmed resolution whose follow-up window closed reopens)
            assert event.action in ("sla-warning", "sla-breached", "notified",
                                    "acting-owner-released",
                                    "reopen")

    @invariant()
    def no_event_changes_nothing_but_those_that_inform(self) -> None:
        events = self.d.uow.history("esc-1")
        folded = replay(events[:1])
        for event in events[1:]:
            before = _essence(folded)
            folded.apply(event)
            if event.action not in INFORMATIONAL:
                assert _essence(folded) != before, f"{event.action} changed nothing"

    @invariant()
    def state_equals_replay(self) -> None:
        assert replay(self.d.uow.history("esc-1")) == self.d.get()

    @invariant()
    def owner_never_empty_after_first_acknowledgment(self) -> None:
        esc = self.d.get()
        if self.acknowledged:
            assert esc.owner
        assert esc.owner != esc.governor
        assert esc.acting_owner is None or esc.acting_owner != esc.governor

    @invariant()
    def every_event_names_a_rule_and_policy(self) -> None:
        for e in self.d.uow.events:
            assert e.rule and e.role and e.policy_version == POLICY.version


def _essence(esc: Escalation) -> dict[str, Any]:
    snap = esc.snapshot()
    return {k: v for k, v in snap.items() if k not in BOOKKEEPING}


TestLifecycle = Lifecycle.TestCase
TestLifecycle.settings = settings(max_examples=150, stateful_step_count=40, deadline=None,
                                  suppress_health_check=[HealthCheck.too_slow])
