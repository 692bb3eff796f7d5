"""Erasing personal content: on request (a customer's) or when retention ends. The texts
go; the record of who did what, and every hash, stays."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from workflow.authority import enforce, permit
from workflow.model import SYSTEM, Actor, Event
from workflow.policy import Policy
from workflow.ports import UnitOfWork


@dataclass
class Erased:
    """What an erasure did: per escalation, the event seq and the fields erased."""

    events: dict[str, int] = field(default_factory=dict)
    fields: int = 0
    held: list[str] = field(default_factory=list)


def _erase_one(uow: UnitOfWork, escalation_id: str, *, actor: str, role: str, basis: str,
               now: datetime, policy: Policy, out: Erased) -> None:
    """Erase one escalation's content and append its content-erased event; a legal hold
    keeps it."""
    esc = uow.escalations.get(escalation_id)
    if esc is None:
        return
    if esc.legal_hold:
        out.held.append(escalation_id)
        return
    fields = uow.content.fields_of(escalation_id)
    if not fields:
        return
    event = Event(
        escalation_id=esc.id, version=esc.version, action="content-erased", actor=actor,
        role=role, at=now, from_state=esc.state, to_state=esc.state, from_owner=esc.owner,
        to_owner=esc.owner, tier=esc.tier,
        payload={"customer_id": esc.customer_id, "basis": basis,
                 "fields": [f"{seq}:{name}" for seq, name in fields]},
        policy_version=policy.version, rule=f"erasure.{basis}",
    )
    esc.apply(event)
    seq = uow.record(esc, event)
    uow.content.erase(escalation_id, fields, erased_by=actor, at=now, erase_seq=seq)
    out.events[escalation_id] = seq
    out.fields += len(fields)


def erase_customer(*, uow: UnitOfWork, actor: Actor, customer_id: str, policy: Policy,
                   now: datetime) -> Erased:
    """Erase the content of every escalation of a customer (legal holds are kept), if
    the actor may erase (not committed: the caller commits)."""
    decision = enforce(permit(actor, "erase", policy))
    out = Erased()
    ids = uow.escalations.of_customer(customer_id)
    uow.escalations.lock(ids)
    for escalation_id in ids:
        _erase_one(uow, escalation_id, actor=actor.handle, role=decision.role or "",
                   basis="request", now=now, policy=policy, out=out)
    return out


def retention_sweep(*, uow: UnitOfWork, policy: Policy, now: datetime) -> Erased:
    """Erase the content of closed escalations whose category's retention period has
    passed (Baton's own automation, by the policy; legal holds are kept)."""
    out = Erased()
    for name, category in policy.categories.items():
        if category.retention_seconds is None:
            continue
        cutoff = now - timedelta(seconds=category.retention_seconds)
        ids = uow.escalations.closed_before(name, cutoff)
        uow.escalations.lock(ids)
        for escalation_id in ids:
            _erase_one(uow, escalation_id, actor=SYSTEM.handle, role="system",
                       basis="retention", now=now, policy=policy, out=out)
    return out

