"""The use cases: open an escalation, act on one. They never commit: the caller does."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from workflow import notify, payload_validation, sla, sla_sweep, sla_warnings
from workflow.authority import Decision, decide, enforce, governor, permit, reachable
from workflow.catalogue import (
    ACKNOWLEDGMENT,
    ACTION_ROUTES,
    ACTOR_OWNS,
    CATALOGUE,
    REOPENS_UNLESS_CONFIRMED,
    REQUESTABLE,
    TARGET_OWNS,
    ActionSpec,
)
from workflow.errors import (
    AuthorityDenied,
    EscalationNotFound,
    InvalidTransition,
    NothingToChange,
    PayloadInvalid,
    UnknownAction,
    VersionConflict,
)
from workflow.field_kinds import ITEMS
from workflow.lifecycle import lifecycle
from workflow.model import Actor, Escalation, Event
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
        if CATALOGUE[action].targets_tier:
            ok = tier < max_tier
        else:
            ok = machine.fire(state, action, **context) is not None
        if ok:
            found.append(action)
    return tuple(found)


def refusal(*, actor: Actor, action: str, escalation: Escalation,
            payload: dict[str, Any] | None, policy: Policy,
            target: Actor | None = None) -> AuthorityDenied | NothingToChange | None:
    """Why `actor` may not take a possible `action` now (the error `act` raises), or None:
    the one decision behind the API's answer, `allowed_actions` and the dashboard's
    refusals. Authority first, then whether it would change anything; payload None asks
    about any payload (limits that depend on the payload aside)."""
    return _verdict(actor, action, escalation, payload, policy, target)[1]


def _verdict(actor: Actor, action: str, esc: Escalation, payload: dict[str, Any] | None,
             policy: Policy, target: Actor | None
             ) -> tuple[Decision, AuthorityDenied | NothingToChange | None]:
    """The authority's decision, and the refusal it comes to (see `refusal`)."""
    decision = decide(actor, action, esc, payload, policy, target=target)
    if not decision.allowed:
        return decision, AuthorityDenied(decision.rule, decision.reason)
    unchanged = CATALOGUE[action].unchanged
    nothing = unchanged(esc, payload or {}) if unchanged is not None else None
    if nothing is not None:
        return decision, NothingToChange(*nothing, esc.state)
    return decision, None


def refusals(esc: Escalation, actor: Actor,
             policy: Policy) -> list[tuple[str, AuthorityDenied | NothingToChange]]:
    """Each action the lifecycle allows now that this actor may not take, with the
    refusal `act` would answer (its rule and sentence)."""
    found = []
    for action in possible_actions(esc, policy):
        refused = refusal(actor=actor, action=action, escalation=esc, payload=None,
                          policy=policy)
        if refused is not None:
            found.append((action, refused))
    return found


def allowed_actions(esc: Escalation, actor: Actor, policy: Policy) -> list[str]:
    """Actions this actor may take now at POST …/actions/{action} that would change
    something (limits that depend on the payload aside)."""
    reach = reachable(actor, policy)
    return [a for a in possible_actions(esc, policy) if not CATALOGUE[a].own_route
            and a in reach and refusal(actor=actor, action=a, escalation=esc,
                                       payload=None, policy=policy) is None]


def allowed_operations(esc: Escalation, actor: Actor, policy: Policy) -> list[tuple[str, str]]:
    """(action, its route under the escalation) of each action this actor may take now
    that is served on a route of its own (issue-feedback-link: feedback-link)."""
    reach = reachable(actor, policy)
    return [(a, route) for a in possible_actions(esc, policy)
            if (route := CATALOGUE[a].own_route) and a in reach
            and refusal(actor=actor, action=a, escalation=esc, payload=None,
                        policy=policy) is None]


def open_escalation(*, uow: UnitOfWork, actor: Actor, escalation_id: str,
                    payload: dict[str, Any], policy: Policy, now: datetime) -> Outcome:
    """Open a new escalation at tier 0 (not committed: the caller commits)."""
    decision = decide(actor, "open", None, None, policy)
    enforce(decision)
    data = payload_validation.clean_open(payload, policy)
    team = policy.team_for(data["category"], 0)
    data["team"] = team
    data["governor"] = policy.teams[team].governor
    data["deadlines"] = sla.started(policy, data["severity"], team, "open", now)
    sla_warnings.attach(policy, data["severity"], team, data, now)
    if policy.repeat_window_seconds is not None:
        since = now - timedelta(seconds=policy.repeat_window_seconds)
        earlier = uow.escalations.resolved_for_customer(data["customer_id"], since)
        if earlier is not None:
            data["repeat_of"] = earlier
    event = Event(
        escalation_id=escalation_id, version=0, action="open", actor=actor.handle,
        role=decision.role or "", at=now, from_state=None, to_state=OPENED,
        from_owner=None, to_owner=None, tier=0, payload=data,
        policy_version=policy.version, rule=decision.rule,
    )
    escalation = Escalation(id=escalation_id, state=OPENED)
    escalation.apply(event)
    seq = uow.record(escalation, event)
    notify.announce(uow=uow, escalation=escalation, event=event, seq=seq)
    return Outcome(escalation, event, seq)


def _routed(esc: Escalation, spec: ActionSpec, data: dict[str, Any],
            policy: Policy) -> int | None:
    """The tier an action that moves up a tier goes to, with its team and governor put in
    the payload (None for any other action)."""
    if not spec.targets_tier:
        return None
    to_tier = payload_validation.escalation_target(esc, data, policy)
    data["to_tier"] = to_tier
    data["from_tier"] = esc.tier
    data["team"] = policy.team_for(esc.category, to_tier)
    chosen = governor(data["team"], esc.owner, policy)
    enforce(chosen)
    data["governor"] = chosen.who
    return to_tier


def _target(uow: UnitOfWork, spec: ActionSpec, data: dict[str, Any]) -> Actor | None:
    """The actor an action names (a new owner, someone looped in): it must exist, bad
    input otherwise. Whether they may own it is authority's question."""
    if spec.names_actor is None:
        return None
    handle = data[spec.names_actor]
    target = uow.actors.get(handle)
    if target is None:
        raise PayloadInvalid({spec.names_actor: f"there is no active actor {handle!r}"})
    return target


def _item_owners(uow: UnitOfWork, spec: ActionSpec, data: dict[str, Any]) -> None:
    """Each action item's owner must be an active actor: nobody else could complete it."""
    for key, kind in spec.fields.items():
        for item in data.get(key, []) if kind == ITEMS else ():
            if uow.actors.get(item["owner"]) is None:
                raise PayloadInvalid({key: f"there is no active actor {item['owner']!r} to "
                                           f"own an action item"})


def _acknowledges(actor: Actor, esc: Escalation, policy: Policy) -> bool:
    """Whether taking it now is the actor's acknowledgment too: the tier awaits one and
    they are eligible to give it (as `acknowledge` would decide)."""
    return esc.awaiting_ack and decide(actor, ACKNOWLEDGMENT, esc, None, policy).allowed


def _prepared(esc: Escalation, spec: ActionSpec, data: dict[str, Any], policy: Policy,
              now: datetime) -> None:
    """Complete an action's payload (the clocks it starts, what its catalogue entry
    prepares)."""
    deadlines = sla.started(policy, esc.severity, data.get("team", esc.team), spec.name, now)
    if spec.prepare is not None:
        spec.prepare(esc, data, policy, now)
    if deadlines:
        data["deadlines"] = {**deadlines, **data.get("deadlines", {})}
    sla_warnings.attach(policy, esc.severity, data.get("team", esc.team), data, now)


def _after(*, uow: UnitOfWork, esc: Escalation, spec: ActionSpec, data: dict[str, Any],
           policy: Policy, now: datetime, seq: int) -> None:
    """What follows a recorded action: its catalogue entry's after-effect, and the acting
    owner's release once no clock is outstanding."""
    if spec.after == REOPENS_UNLESS_CONFIRMED and not data["confirmed"]:
        sla_sweep.reopen_as_repeat(uow=uow, escalation=esc, policy=policy, now=now,
                                   cause="not-confirmed", confirmation_seq=seq)
    if esc.acting_owner and not sla.outstanding(esc):
        sla_sweep.release_acting_owner(uow=uow, escalation=esc, policy=policy, now=now,
                                       cleared_by=spec.name)


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
        raise UnknownAction(action, REQUESTABLE)
    machine = lifecycle(policy.max_tier)
    if action not in machine.triggers(esc.state) or (
            spec.targets_tier and esc.tier >= policy.max_tier):
        raise InvalidTransition(action, esc.state, allowed_actions(esc, actor, policy))
    data = payload_validation.clean(action, payload, policy)
    to_tier = _routed(esc, spec, data, policy)
    to_state = machine.fire(esc.state, action, **_context(esc, to_tier))
    if to_state is None:
        raise InvalidTransition(action, esc.state, allowed_actions(esc, actor, policy),
                                spec.refused_why)
    decision, refused = _verdict(actor, action, esc, data, policy, _target(uow, spec, data))
    if refused is not None:
        raise refused
    _item_owners(uow, spec, data)
    if spec.acknowledges:
        data["acknowledges"] = _acknowledges(actor, esc, policy)
    _prepared(esc, spec, data, policy, now)
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
    notify.announce(uow=uow, escalation=esc, event=event, seq=seq)
    _after(uow=uow, esc=esc, spec=spec, data=data, policy=policy, now=now, seq=seq)
    return Outcome(esc, event, seq)


def unknown_action(action: str) -> UnknownAction:
    """The error for a POST to …/actions/{action} that is not served there: the actions
    that are, and the route of one that has a route of its own."""
    spec = CATALOGUE.get(action)
    return UnknownAction(action, ACTION_ROUTES, spec.own_route if spec is not None else None)


def require_permission(*, actor: Actor, permission: str, policy: Policy) -> Decision:
    """The decision allowing `permission` to `actor`; raises AuthorityDenied otherwise."""
    return enforce(permit(actor, permission, policy))
