"""Who may read what: the policy's `[reads]` table grants reads to roles as `actions`
grants actions, and every read is decided here with a rule id (`read.<name>`). Reading the
audit log, webhooks and their delivery log stays with the permissions that already grant
it (`read-audit`, `manage-webhooks`): one grant for each thing, never two to keep equal."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from workflow.authority import CUSTOMER_ROLE, permit
from workflow.decision import Decision, deny, either
from workflow.model import Actor
from workflow.policy import Policy

# Every read, and what it shows.
READS: dict[str, str] = {
    "escalations": "escalations (the queue, one escalation, its state and texts)",
    "timelines": "escalations' timelines",
    "debrief-packs": "debrief packs",
    "action-items": "the debriefs' action items",
    "trails": "ownership trails (of an escalation, of an actor)",
    "metrics": "the escalation metrics",
    "policy": "the policy in force and its versions",
    "prometheus": "the Prometheus metrics (/metrics)",
    "proofs": "the signed checkpoint, its public key and the log's proofs",
    "audit-log": "the audit log",
    "webhooks": "webhook subscriptions",
    "delivery-log": "the notifications' delivery log",
}
# Reads granted by a permission of the role rather than by the `[reads]` table.
BY_PERMISSION: dict[str, str] = {"audit-log": "read-audit", "webhooks": "manage-webhooks",
                                 "delivery-log": "manage-webhooks"}
TABLE = "reads"


def _legacy(roles: Iterable[str]) -> dict[str, frozenset[str]]:
    # A policy written before read grants existed: every role read every plain read,
    # except the customer's, which reads nothing (it answers through its feedback link).
    plain = frozenset(READS) - frozenset(BY_PERMISSION)
    return {r: plain for r in roles if r != CUSTOMER_ROLE}


def _check(table: Any, roles: set[str]) -> tuple[dict[str, frozenset[str]], list[tuple[str, str]]]:
    problems: list[tuple[str, str]] = []
    if not isinstance(table, dict):
        return {}, [(TABLE, "must be a table of role = [reads]")]
    grants: dict[str, frozenset[str]] = {}
    for role, names in table.items():
        key = f"{TABLE}.{role}"
        if roles and role not in roles:
            problems.append((key, f"unknown role {role!r}"))
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            problems.append((key, "must be a list of reads"))
            continue
        for name in names:
            if name in BY_PERMISSION:
                problems.append((key, f"{name!r} is granted by the {BY_PERMISSION[name]!r} "
                                      f"permission: add it to roles.{role}.permissions"))
            elif name not in READS:
                known = ", ".join(n for n in READS if n not in BY_PERMISSION)
                problems.append((key, f"unknown read {name!r}; known: {known}"))
            elif names.count(name) > 1:
                problems.append((key, f"duplicate read {name!r}"))
        grants[role] = frozenset(n for n in names if n in READS)
    return grants, problems


def checked(doc: Mapping[str, Any], policy: Policy | None, problems: list[tuple[str, str]]
            ) -> tuple[Policy | None, list[tuple[str, str]]]:
    """The policy with its read grants from the `[reads]` table (validated against its
    roles; no table: every role but the customer reads every plain read), and the
    problems found so far with the table's added."""
    declared = doc.get("roles")
    roles = set(declared) if isinstance(declared, dict) else set()
    if TABLE in doc:
        grants, found = _check(doc[TABLE], roles)
    else:
        grants, found = _legacy(roles), []
    problems = [*problems, *found]
    if policy is None or problems:
        return None, problems
    return replace(policy, reads=grants), problems


def may_read(actor: Actor, read: str, policy: Policy) -> Decision:
    """Allow or deny a read, by rule `read.<name>` (or the permission that grants it)."""
    if read not in READS:
        raise ValueError(f"unknown read {read!r}")
    if read in BY_PERMISSION:
        return permit(actor, BY_PERMISSION[read], policy)
    rule = f"read.{read}"
    held = [r for r in actor.roles if r in policy.roles]
    for role in held:
        if read in policy.reads.get(role, ()):
            return Decision(True, rule, f"{role} may read {READS[read]}", role)
    able = [r for r in policy.roles if read in policy.reads.get(r, ())]
    refused = deny(rule, f"only {either(able)} may read {READS[read]}; "
                         f"{actor.handle} holds {either(held) if held else 'no role of it'}")
    return replace(refused, role=held[0] if held else None)


def may_read_all(actor: Actor, reads: Iterable[str], policy: Policy) -> Decision:
    """The first refusal among `reads`, or the last grant when all are allowed."""
    decision = Decision(True, "read.none", "nothing to read")
    for read in reads:
        decision = may_read(actor, read, policy)
        if not decision.allowed:
            return decision
    return decision


def may_read_any(actor: Actor, reads: Iterable[str], policy: Policy) -> Decision:
    """The first grant among `reads`, or the first refusal when none is allowed."""
    first: Decision | None = None
    for read in reads:
        decision = may_read(actor, read, policy)
        if decision.allowed:
            return decision
        first = first or decision
    return first or deny("read.none", "nothing to read")
