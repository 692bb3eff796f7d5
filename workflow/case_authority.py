"""Authority on one escalation: the rule of each class of authority of the catalogue
(the owner, eligibility at the tier, the proposed owner, governance, the customer...)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from workflow.amounts import format_decimal
from workflow.catalogue import (
    ACTOR_OWNS,
    BY_CUSTOMER_OR_OWNER,
    BY_ELIGIBILITY,
    BY_GOVERNANCE,
    BY_INVOLVED,
    BY_ITEM_OWNER,
    BY_LIAISON,
    BY_OWNER,
    BY_OWNER_OR_LIAISON,
    BY_OWNER_OR_SELF,
    BY_PROPOSED_OWNER,
    CATALOGUE,
    GRANT,
    TIER,
)
from workflow.decision import Decision, allow, deny, either
from workflow.model import Actor, Escalation
from workflow.policy import Policy, Role

# The role a customer acts in (through a feedback link): it may confirm, nothing else.
CUSTOMER_ROLE = "customer"

# Looked up in the catalogue, not named: the action by which the proposed owner takes
# an offered escalation (who may hold one must be granted it), the owner's actions that
# move it up a tier (their skip rule), and those that close it granting a refund or a
# credit (their limits, categories and tier).
_TAKES_OFFER = next(name for name, spec in CATALOGUE.items()
                    if spec.authority == BY_PROPOSED_OWNER and spec.owner == ACTOR_OWNS)
_MOVES_TIER = frozenset(name for name, spec in CATALOGUE.items()
                        if spec.authority == BY_OWNER and TIER in spec.fields.values())
_GRANTING = frozenset(name for name, spec in CATALOGUE.items()
                      if spec.authority == BY_OWNER and GRANT in spec.fields.values())


def target_problem(target: Actor | None, handle: str, esc: Escalation,
                   policy: Policy) -> str | None:
    """Why `target` may not own `esc` now, or None when it may."""
    if target is None:
        return f"there is no active actor {handle!r}"
    if target.handle == esc.owner:
        return f"{handle} already owns this escalation"
    if target.handle == esc.governor:
        return f"{handle} governs this escalation and cannot also own it"
    roles = [policy.roles[r] for r in target.roles if r in policy.roles]
    fit = [r for r in roles if r.tier is not None and r.tier >= esc.tier and not r.read_only
           and _TAKES_OFFER in r.actions]
    if not fit:
        return f"{handle} holds no role eligible at tier {esc.tier}"
    if esc.team and target.team != esc.team and not any(r.governance for r in fit):
        return f"{handle} is not in team {esc.team}, where this escalation is routed"
    return None


def _owner_check(actor: Actor, role: Role, action: str, esc: Escalation) -> Decision:
    if actor.handle in (esc.owner, esc.acting_owner):
        return allow("owner.acts", f"{actor.handle} is the accountable owner")
    if role.governance and role.tier is not None and role.tier >= esc.tier:
        return allow("governance.override",
                      f"{role.name} governs tier {esc.tier} and may act for the owner")
    owner = esc.owner or "nobody yet"
    return deny("owner.only", f"only the owner ({owner}) or a governance role over tier "
                               f"{esc.tier} may {action}")


def _escalate(esc: Escalation, payload: dict[str, Any], policy: Policy) -> Decision | None:
    to_tier = payload.get("to_tier")
    if not isinstance(to_tier, int) or to_tier - esc.tier <= 1:
        return None
    trigger = policy.triggers.get(payload.get("trigger", ""))
    if trigger is not None and trigger.skip_tiers:
        return None
    category = policy.categories.get(esc.category)
    if category is not None and category.skip_tiers:
        return None
    skippers = [t.name for t in policy.triggers.values() if t.skip_tiers]
    categories = [c.name for c in policy.categories.values() if c.skip_tiers]
    return deny("escalate.skip",
                 f"neither trigger {payload.get('trigger')!r} nor category {esc.category!r} "
                 f"may skip tiers: escalate one tier at a time (to tier {esc.tier + 1}), use "
                 f"a trigger that may skip ({either(skippers)}); categories that may skip: "
                 f"{either(categories)}")


def _resolve(role: Role, action: str, esc: Escalation, payload: dict[str, Any],
             policy: Policy) -> Decision | None:
    category = policy.categories.get(esc.category)
    if category is not None and category.resolve_roles and role.name not in category.resolve_roles:
        return deny("resolve.category",
                     f"{esc.category} escalations are resolved by "
                     f"{either(list(category.resolve_roles))}, not {role.name}")
    grant = payload.get("grant")
    if not grant:
        return None
    if grant.get("kind") == "policy-exception" and not role.exceptions:
        able = [r.name for r in policy.roles.values() if r.exceptions and action in r.actions]
        return deny("resolve.exception",
                     f"{role.name} may not grant policy exceptions; that needs {either(able)}")
    amount = Decimal(grant["amount"]["value"])
    if amount > role.limit:
        able = [r.name for r in policy.roles.values()
                if action in r.actions and r.limit >= amount]
        shown = f"{format_decimal(amount)} {grant['amount']['currency']}"
        return deny("resolve.limit",
                     f"{role.name} may resolve amounts up to "
                     f"{role.limit_text(policy.currency)}; {shown} needs {either(able)}")
    return None


def decide_role(actor: Actor, role: Role, action: str, esc: Escalation | None,
                 payload: dict[str, Any] | None, policy: Policy,
                 target: Actor | None) -> Decision:
    if role.read_only:
        return deny("role.read-only", f"{role.name} is read-only and may change nothing")
    if action not in role.actions:
        return deny("role.actions", f"{role.name} may not {action}; that needs "
                                     f"{either(policy.roles_with(action))}")
    if esc is None:
        return allow("role.actions", f"{role.name} may {action}")
    spec = CATALOGUE[action]
    by_class = _BY_CLASS.get(spec.authority)
    if by_class is None:
        return allow("role.actions", f"{role.name} may {action}")
    return by_class(actor, role, action, esc, payload, policy, target)


def _eligible(actor: Actor, role: Role, action: str, esc: Escalation,
              payload: dict[str, Any] | None, policy: Policy,
              target: Actor | None) -> Decision:
    if role.tier is None or role.tier < esc.tier:
        shown = "no tier" if role.tier is None else f"tier {role.tier}"
        return deny("acknowledge.tier",
                     f"acknowledging at tier {esc.tier} needs a role of tier {esc.tier} "
                     f"or above; {role.name} is {shown}")
    if esc.team and actor.team != esc.team and not role.governance:
        return deny("acknowledge.team",
                     f"this escalation is routed to team {esc.team}; {actor.handle} is "
                     f"in {actor.team or 'no team'}")
    if actor.handle == esc.governor:
        return deny("governance.separation",
                     f"{actor.handle} governs this escalation and cannot also own it")
    return allow("acknowledge.eligible",
                  f"{role.name} is eligible at tier {esc.tier} for team {esc.team}")


def _proposed_owner(actor: Actor, role: Role, action: str, esc: Escalation,
                    payload: dict[str, Any] | None, policy: Policy,
                    target: Actor | None) -> Decision:
    if actor.handle != esc.proposed_owner:
        return deny("handoff.proposed-only",
                     f"only the proposed owner ({esc.proposed_owner}) may {action}")
    return allow("handoff.proposed-owner", f"{actor.handle} is the proposed owner")


def _governance(actor: Actor, role: Role, action: str, esc: Escalation,
                payload: dict[str, Any] | None, policy: Policy,
                target: Actor | None) -> Decision:
    if not role.governance or role.tier is None or role.tier < esc.tier:
        return deny(f"{action}.governance",
                     f"only a governance role over tier {esc.tier} may {action}")
    if payload is not None:
        problem = target_problem(target, payload.get("to", ""), esc, policy)
        if problem:
            return deny(f"{action}.target-eligible", problem)
    return allow(f"{action}.governance", f"{role.name} governs tier {esc.tier}")


def _owner_or_self(actor: Actor, role: Role, action: str, esc: Escalation,
                   payload: dict[str, Any] | None, policy: Policy,
                   target: Actor | None) -> Decision:
    if payload is not None and payload.get("handle") == actor.handle:
        return allow("watcher.self", f"{actor.handle} may watch any escalation")
    return _owner_or_liaison(actor, role, action, esc, payload, policy, target)


def _owner_or_liaison(actor: Actor, role: Role, action: str, esc: Escalation,
                      payload: dict[str, Any] | None, policy: Policy,
                      target: Actor | None) -> Decision:
    if esc.liaison is not None and actor.handle == esc.liaison:
        return allow("liaison.acts", f"{actor.handle} is this escalation's liaison")
    decision = _owner_check(actor, role, action, esc)
    if decision.allowed:
        return decision
    owner = esc.owner or "nobody yet"
    liaison = f", the liaison ({esc.liaison})" if esc.liaison else ", its liaison"
    return deny("owner.only", f"only the owner ({owner}){liaison} or a governance role "
                               f"over tier {esc.tier} may {action}")


def _customer_or_owner(actor: Actor, role: Role, action: str, esc: Escalation,
                       payload: dict[str, Any] | None, policy: Policy,
                       target: Actor | None) -> Decision:
    if role.name == CUSTOMER_ROLE:
        if actor.handle != customer_actor(esc.customer_id).handle:
            return deny("customer.own-only", "a customer may confirm only their own "
                                              "escalations")
        if payload is not None and not payload.get("link"):
            return deny("customer.link", "a customer confirms through a feedback link")
        return allow("customer.confirms", f"{actor.handle} is this escalation's customer")
    if payload is not None and payload.get("link"):
        return deny("customer.link", "a feedback link is the customer's, not the team's")
    return _owner_check(actor, role, action, esc)


def _item_owner(actor: Actor, role: Role, action: str, esc: Escalation,
                payload: dict[str, Any] | None, policy: Policy,
                target: Actor | None) -> Decision:
    if payload is None:  # whether they may complete any item at all
        owners = {i["owner"] for i in esc.action_items.values() if i["completed_at"] is None}
        if actor.handle in owners:
            return allow("item.owner", f"{actor.handle} owns an open action item")
        return deny("item.owner-only", "only an action item's owner may complete it")
    item = esc.action_items.get(str(payload.get("item")))
    if item is not None and item["owner"] == actor.handle:
        return allow("item.owner", f"{actor.handle} owns action item {payload['item']}")
    owner = item["owner"] if item is not None else None
    return deny("item.owner-only", f"only the item's owner ({owner or 'nobody named'}) "
                                    f"may complete it")


def _involved(actor: Actor, role: Role, action: str, esc: Escalation,
              payload: dict[str, Any] | None, policy: Policy,
              target: Actor | None) -> Decision:
    if actor.handle in esc.collaborators:
        return allow("collaborator.acts", f"{actor.handle} collaborates on this escalation")
    decision = _owner_or_liaison(actor, role, action, esc, payload, policy, target)
    if decision.allowed:
        return decision
    return deny("involved.only",
                 f"only those working this escalation (its owner, acting owner, liaison and "
                 f"collaborators) or a governance role over tier {esc.tier} may {action}")


def _liaison(actor: Actor, role: Role, action: str, esc: Escalation,
             payload: dict[str, Any] | None, policy: Policy,
             target: Actor | None) -> Decision:
    if role.governance or (payload is not None and payload.get("handle") == actor.handle):
        return allow("liaison.assign", f"{role.name} may assign the liaison")
    if payload is None:
        return allow("liaison.assign", f"{role.name} may take the liaison role")
    return deny("liaison.assign",
                 "a liaison may assign only themselves; governance roles assign others")


def _owner(actor: Actor, role: Role, action: str, esc: Escalation,
           payload: dict[str, Any] | None, policy: Policy,
           target: Actor | None) -> Decision:
    decision = _owner_check(actor, role, action, esc)
    if not decision.allowed:
        return decision
    if action in _GRANTING and (role.tier is None or role.tier < esc.tier):
        # The owner who escalated stays accountable, but closing the case is for the
        # tier it now sits at (or governance over it).
        shown = "no tier" if role.tier is None else f"tier {role.tier}"
        return deny("resolve.tier",
                     f"this escalation is at tier {esc.tier}: resolving it needs a role of "
                     f"tier {esc.tier} or above, or governance over it; {role.name} is "
                     f"{shown}")
    if payload is None:
        return decision
    if action in _MOVES_TIER:
        return _escalate(esc, payload, policy) or decision
    if action in _GRANTING:
        return _resolve(role, action, esc, payload, policy) or decision
    if CATALOGUE[action].names_actor == "to":  # it proposes a new owner: eligible?
        problem = target_problem(target, payload.get("to", ""), esc, policy)
        if problem:
            # Rule ids name the action without its hyphen: handoff.target-eligible.
            return deny(f"{action.replace('-', '')}.target-eligible", problem)
    return decision



_ClassRule = Callable[[Actor, Role, str, Escalation, "dict[str, Any] | None", Policy,
                       "Actor | None"], Decision]
# One decision per class of authority of the catalogue (BY_ROLE: the role's grant).
_BY_CLASS: dict[str, _ClassRule] = {
    BY_ELIGIBILITY: _eligible,
    BY_PROPOSED_OWNER: _proposed_owner,
    BY_GOVERNANCE: _governance,
    BY_OWNER_OR_SELF: _owner_or_self,
    BY_LIAISON: _liaison,
    BY_OWNER: _owner,
    BY_OWNER_OR_LIAISON: _owner_or_liaison,
    BY_INVOLVED: _involved,
    BY_CUSTOMER_OR_OWNER: _customer_or_owner,
    BY_ITEM_OWNER: _item_owner,
}


def customer_actor(customer_id: str) -> Actor:
    """The customer, as the actor who confirms a resolution through a feedback link: a
    handle of their own, in the customer role (which may do nothing else)."""
    return Actor(f"{CUSTOMER_ROLE}:{customer_id}", (CUSTOMER_ROLE,), None)
