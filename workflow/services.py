"""The use cases: open an escalation, act on one. They never commit: the caller does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workflow import payloads, sla
from workflow.authority import Decision, decide
from workflow.errors import (
    AuthorityDenied,
    EscalationNotFound,
    InvalidTransition,
    PayloadInvalid,
    VersionConflict,
)
from workflow.lifecycle import OPENED, lifecycle
from workflow.model import Actor, Escalation, Event
from workflow.policy import Policy
from workflow.ports import UnitOfWork


@dataclass(frozen=True)
class Outcome:
    """What an accepted action produced: the new state, its event, the ledger seq."""

    escalation: Escalation
    event: Event
    seq: int


def _context(esc: Escalation, to_tier: int | None = None) -> dict[str, Any]:
    return {"to_tier": to_tier, "return_to": esc.return_to, "awaiting_ack": esc.awaiting_ack}


def possible_actions(esc: Escalation, policy: Policy) -> list[str]:
    """Actions the lifecycle allows from the escalation's state, whoever asks."""
    machine = lifecycle(policy.max_tier)
    found = []
    for action in machine.triggers(esc.state):
        if action == "escalate":
            ok = esc.tier < policy.max_tier
        else:
            ok = machine.fire(esc.state, action, **_context(esc)) is not None
        if ok:
            found.append(action)
    return found


def allowed_actions(esc: Escalation, actor: Actor, policy: Policy) -> list[str]:
    """Actions this actor may take now (payload-dependent limits aside)."""
    return [a for a in possible_actions(esc, policy)
            if decide(actor, a, esc, None, policy).allowed]


def _raise_if_denied(decision: Decision) -> None:
    if not decision.allowed:
        raise AuthorityDenied(decision.rule, decision.reason)


def open_escalation(*, uow: UnitOfWork, actor: Actor, escalation_id: str,
                    payload: dict[str, Any], policy: Policy, now: datetime) -> Outcome:
    """Open a new escalation at tier 0 (not committed: the caller commits)."""
    decision = decide(actor, "open", None, None, policy)
    _raise_if_denied(decision)
    data = payloads.clean_open(payload, policy)
    team = policy.team_for(data["category"], 0)
    data["team"] = team
    data["governor"] = policy.teams[team].governor
    data["deadlines"] = sla.started(policy, data["severity"], "open", now)
    event = Event(
        escalation_id=escalation_id, version=0, action="open", actor=actor.handle,
        role=decision.role or "", at=now, from_state=None, to_state=OPENED,
        from_owner=None, to_owner=None, tier=0, payload=data,
        policy_version=policy.version, rule=decision.rule,
    )
    escalation = Escalation(id=escalation_id, state=OPENED)
    escalation.apply(event)
    seq = uow.record(escalation, event)
    return Outcome(escalation, event, seq)


def act(*, uow: UnitOfWork, actor: Actor, escalation_id: str, action: str,
        payload: dict[str, Any] | None, policy: Policy, now: datetime,
        expected_version: int | None = None) -> Outcome:
    """Take `action` on an escalation if the lifecycle and the policy allow it."""
    esc = uow.escalations.get(escalation_id)
    if esc is None:
        raise EscalationNotFound(escalation_id)
    if expected_version is not None and expected_version != esc.version:
        raise VersionConflict(escalation_id, expected_version, esc.version)
    if action not in payloads.FIELDS:
        raise InvalidTransition(action, esc.state, possible_actions(esc, policy),
                                "no such action")
    machine = lifecycle(policy.max_tier)
    if action not in machine.triggers(esc.state) or (
            action == "escalate" and esc.tier >= policy.max_tier):
        raise InvalidTransition(action, esc.state, possible_actions(esc, policy))
    data = payloads.clean(action, payload, policy)
    to_tier = None
    if action == "escalate":
        to_tier = payloads.escalation_target(esc, data, policy)
        data["to_tier"] = to_tier
        data["from_tier"] = esc.tier
        data["team"] = policy.team_for(esc.category, to_tier)
        governor = policy.governor_for(data["team"], esc.owner)
        if governor is None:
            raise AuthorityDenied("governance.separation",
                                  f"no governor other than the owner {esc.owner} exists for "
                                  f"team {data['team']}")
        data["governor"] = governor
    to_state = machine.fire(esc.state, action, **_context(esc, to_tier))
    if to_state is None:
        why = "already acknowledged at this tier" if action == "acknowledge" else ""
        raise InvalidTransition(action, esc.state, possible_actions(esc, policy), why)
    target = None
    handle = data.get("to") or (data.get("handle") if action != "add-watcher" else None)
    if handle is not None:
        target = uow.actors.get(handle)
        if target is None and action in ("add-collaborator", "assign-liaison"):
            raise PayloadInvalid({"handle": f"there is no active actor {handle!r}"})
    elif action == "add-watcher" and uow.actors.get(data["handle"]) is None:
        raise PayloadInvalid({"handle": f"there is no active actor {data['handle']!r}"})
    decision = decide(actor, action, esc, data, policy, target=target)
    _raise_if_denied(decision)
    deadlines = sla.started(policy, esc.severity, action, now)
    if deadlines:
        data["deadlines"] = deadlines
    to_owner = esc.owner
    if action in ("acknowledge", "accept-handoff"):
        to_owner = actor.handle
    elif action == "reassign":
        to_owner = data["to"]
    event = Event(
        escalation_id=esc.id, version=esc.version, action=action, actor=actor.handle,
        role=decision.role or "", at=now, from_state=esc.state, to_state=to_state,
        from_owner=esc.owner, to_owner=to_owner, tier=to_tier if to_tier else esc.tier,
        payload=data, policy_version=policy.version, rule=decision.rule,
    )
    esc.apply(event)
    seq = uow.record(esc, event)
    return Outcome(esc, event, seq)
