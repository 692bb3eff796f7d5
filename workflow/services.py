"""The use cases: open an escalation, act on one. They never commit: the caller does."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workflow import payload_validation, sla
from workflow.authority import Decision, decide, permit
from workflow.catalogue import ACTOR_OWNS, CATALOGUE, TARGET_OWNS
from workflow.errors import (
    AuthorityDenied,
    EscalationNotFound,
    InvalidTransition,
    PayloadInvalid,
    VersionConflict,
)
from workflow.lifecycle import lifecycle
from workflow.model import Actor, Escalation, Event, parse_rfc3339
from workflow.policy import Policy
from workflow.ports import UnitOfWork
from workflow.states import OPENED


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
    return list(_possible(policy.max_tier, esc.state, esc.tier, esc.return_to,
                          esc.awaiting_ack))


@functools.lru_cache(maxsize=1024)
def _possible(max_tier: int, state: str, tier: int, return_to: str | None,
              awaiting_ack: bool) -> tuple[str, ...]:
    # The lifecycle is a pure function of these: every API response asks, so remember.
    machine = lifecycle(max_tier)
    context = {"to_tier": None, "return_to": return_to, "awaiting_ack": awaiting_ack}
    found = []
    for action in machine.triggers(state):
        if action == "escalate":
            ok = tier < max_tier
        else:
            ok = machine.fire(state, action, **context) is not None
        if ok:
            found.append(action)
    return tuple(found)


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
    data = payload_validation.clean_open(payload, policy)
    team = policy.team_for(data["category"], 0)
    data["team"] = team
    data["governor"] = policy.teams[team].governor
    data["deadlines"] = sla.started(policy, data["severity"], team, "open", now)
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
    spec = CATALOGUE.get(action)
    if spec is None or not spec.requestable:
        raise InvalidTransition(action, esc.state, possible_actions(esc, policy),
                                "no such action")
    machine = lifecycle(policy.max_tier)
    if action not in machine.triggers(esc.state) or (
            action == "escalate" and esc.tier >= policy.max_tier):
        raise InvalidTransition(action, esc.state, possible_actions(esc, policy))
    data = payload_validation.clean(action, payload, policy)
    to_tier = None
    if action == "escalate":
        to_tier = payload_validation.escalation_target(esc, data, policy)
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
    # The actor an action names: the proposed or new owner ("to") or a person looped in
    # ("handle"). Unknown owners are an authority question; unknown others bad input.
    handle = data.get(spec.names_actor) if spec.names_actor else None
    target = uow.actors.get(handle) if handle is not None else None
    if target is None and spec.names_actor == "handle":
        raise PayloadInvalid({"handle": f"there is no active actor {handle!r}"})
    decision = decide(actor, action, esc, data, policy, target=target)
    _raise_if_denied(decision)
    deadlines = sla.started(policy, esc.severity, data.get("team", esc.team), action, now)
    if deadlines:
        data["deadlines"] = deadlines
    to_owner = esc.owner
    if spec.owner == ACTOR_OWNS:
        to_owner = actor.handle
    elif spec.owner == TARGET_OWNS:
        to_owner = data["to"]
    event = Event(
        escalation_id=esc.id, version=esc.version, action=action, actor=actor.handle,
        role=decision.role or "", at=now, from_state=esc.state, to_state=to_state,
        from_owner=esc.owner, to_owner=to_owner, tier=to_tier if to_tier else esc.tier,
        payload=data, policy_version=policy.version, rule=decision.rule,
    )
    esc.apply(event)
    seq = uow.record(esc, event)
    if esc.acting_owner and not sla.outstanding(esc):
        release_acting_owner(uow=uow, escalation=esc, policy=policy, now=now,
                             cleared_by=event.action)
    return Outcome(esc, event, seq)


SYSTEM = Actor("system", ("system",), None)


def _system_event(esc: Escalation, action: str, payload: dict[str, Any], policy: Policy,
                  now: datetime, rule: str) -> Event:
    return Event(
        escalation_id=esc.id, version=esc.version, action=action, actor=SYSTEM.handle,
        role="system", at=now, from_state=esc.state, to_state=esc.state,
        from_owner=esc.owner, to_owner=esc.owner, tier=esc.tier, payload=payload,
        policy_version=policy.version, rule=rule,
    )


def release_acting_owner(*, uow: UnitOfWork, escalation: Escalation, policy: Policy,
                         now: datetime, cleared_by: str) -> int:
    """The blocker cleared: the temporary owner steps back, on the record."""
    event = _system_event(escalation, "acting-owner-released",
                          {"acting_owner": escalation.acting_owner, "cleared_by": cleared_by},
                          policy, now, "sla.cleared")
    escalation.apply(event)
    return uow.record(escalation, event)


def choose_acting_owner(esc: Escalation, policy: Policy, uow: UnitOfWork) -> str:
    """The first free fallback of the team (active, neither owner nor governor), else
    the governor."""
    team = policy.teams.get(esc.team)
    for handle in team.fallback if team else ():
        if handle not in (esc.owner, esc.governor) and uow.actors.get(handle) is not None:
            return handle
    return esc.governor


def sweep_escalation(*, uow: UnitOfWork, escalation_id: str, policy: Policy,
                     now: datetime) -> list[int]:
    """Record each breach now due on one escalation, once: the breach, the temporary
    owner it brings, and who was notified. Returns the ledger seqs written."""
    esc = uow.escalations.get(escalation_id)
    if esc is None:
        return []
    written = []
    for clock, deadline in sla.due(esc, now):
        late = int((now - parse_rfc3339(deadline)).total_seconds())
        payload: dict[str, Any] = {
            "clock": clock, "deadline": deadline, "late_by_seconds": late,
            "target_seconds": policy.severities[esc.severity].sla[clock],
            "severity": esc.severity,
        }
        if not esc.acting_owner:
            payload["acting_owner"] = choose_acting_owner(esc, policy, uow)
        event = _system_event(esc, "sla-breached", payload, policy, now,
                              f"sla.{esc.severity}.{clock}")
        esc.apply(event)
        written.append(uow.record(esc, event))
        recipients = [h for h in dict.fromkeys(
            [esc.owner, esc.acting_owner, esc.governor, *esc.watchers]) if h]
        notice = _system_event(esc, "notified",
                               {"about": "sla-breached", "clock": clock,
                                "recipients": recipients}, policy, now, "sla.notify")
        esc.apply(notice)
        written.append(uow.record(esc, notice))
    return written


def require_permission(*, actor: Actor, permission: str, policy: Policy) -> Decision:
    """The decision allowing `permission` to `actor`; raises AuthorityDenied otherwise."""
    decision = permit(actor, permission, policy)
    _raise_if_denied(decision)
    return decision
