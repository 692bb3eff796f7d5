"""Authority decisions: may this actor, in one of its roles, take this action now? Who
covers, who governs, which permissions and roles a policy grants. The rules of each class
of authority on one escalation are in workflow.case_authority; what each role may read,
in workflow.read_grants."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workflow.case_authority import CUSTOMER_ROLE, customer_actor, decide_role, target_problem
from workflow.decision import Decision, allow, deny, either, enforce
from workflow.model import SYSTEM, Actor, Escalation
from workflow.policy import PERMISSIONS, Policy

__all__ = ["CUSTOMER_ROLE", "Decision", "assignable", "cover", "customer_actor", "decide",
           "enforce", "governor", "needs_team", "permit", "reachable", "target_problem"]


def cover(esc: Escalation, policy: Policy, active: Callable[[str], bool]) -> Decision:
    """Who covers a breach as acting owner: the first active fallback of the team who
    neither owns nor governs the escalation (ownership is not supervision)."""
    team = policy.teams.get(esc.team)
    for handle in team.fallback if team else ():
        if handle not in (esc.owner, esc.governor) and active(handle):
            return Decision(True, "cover.fallback",
                            f"{handle} is team {esc.team}'s first free fallback", who=handle)
    return deny("cover.none",
                 f"team {esc.team} has no active fallback who neither owns nor governs "
                 f"this escalation: nobody covers")


def decide(actor: Actor, action: str, escalation: Escalation | None,
           payload: dict[str, Any] | None, policy: Policy, *,
           target: Actor | None = None) -> Decision:
    """Allow or deny `action`; payload None asks 'could this actor do it at all now?'."""
    roles = [policy.roles[r] for r in actor.roles if r in policy.roles]
    if not roles:
        return deny("actor.no-role", f"{actor.handle} holds no role of this policy")
    denials: list[Decision] = []
    for role in roles:
        d = decide_role(actor, role, action, escalation, payload, policy, target)
        if d.allowed:
            return Decision(True, d.rule, d.reason, role.name)
        denials.append(Decision(False, d.rule, d.reason, role.name))
    # Report the most specific refusal: a rule about this case beats "not your role".
    generic = ("role.actions", "role.read-only")
    specific = [d for d in denials if d.rule not in generic]
    return (specific or denials)[0]


def reachable(actor: Actor, policy: Policy) -> frozenset[str]:
    """The actions some role of the actor may take at all (the first test of `decide`,
    which allows nothing outside them): asking `decide` only about these changes no
    answer and spares composing a refusal for each of the others."""
    found: set[str] = set()
    for name in actor.roles:
        role = policy.roles.get(name)
        if role is not None and not role.read_only:
            found |= role.actions
    return frozenset(found)


def governor(team: str, owner: str | None, policy: Policy) -> Decision:
    """Who governs an escalation routed to `team`: its governor, or, when that is the
    owner, the nearest one above; governance is never held by the person it watches."""
    chosen = policy.governor_for(team, owner)
    if chosen is None:
        return deny("governance.separation",
                     f"no governor other than the owner {owner} exists for team {team}")
    return Decision(True, "governance.separation",
                    f"{chosen} governs team {team} and does not own it", who=chosen)


def permit(actor: Actor, permission: str, policy: Policy) -> Decision:
    """Allow or deny a permission that is not an action on an escalation (reading the
    audit log, erasing, applying a policy, managing actors), from the roles' grants."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    roles = [policy.roles[r] for r in actor.roles if r in policy.roles]
    for role in roles:
        if permission in role.permissions:
            return Decision(True, f"permission.{permission}",
                            f"{role.name} may {PERMISSIONS[permission]}", role.name)
    able = [r.name for r in policy.roles.values() if permission in r.permissions]
    return Decision(False, f"permission.{permission}",
                    f"only {either(able)} may {PERMISSIONS[permission]}",
                    roles[0].name if roles else None)


def assignable(role: str, policy: Policy) -> Decision:
    """Whether a role may be given to an actor: any role of the policy but Baton's own
    (the role its automations act in)."""
    if role in SYSTEM.roles:
        return deny("actors.system-role",
                     f"{role} is Baton's own role (its automations act in it); give "
                     f"people another role")
    if role not in policy.roles:
        return deny("actors.unknown-role",
                     f"unknown role {role!r}; known: {', '.join(policy.roles)}")
    return allow("actors.role", f"{role} is a role of the policy")


def needs_team(roles: list[str], policy: Policy) -> list[str]:
    """The roles among these whose work is routed by team: without a team, their actor
    can acknowledge nothing (escalations are routed to teams)."""
    return [name for name in roles if name in policy.roles
            and policy.roles[name].tier is not None and not policy.roles[name].governance
            and "acknowledge" in policy.roles[name].actions]
