"""Erasure of personal content: text and salt go, the commitments and the chain stay."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select

from audit.schema import content, erasures, escalations, idempotency
from audit.uow import SqlUnitOfWork
from workflow.model import Event, rfc3339
from workflow.policy import Policy

BASES = ("request", "retention")


@dataclass
class Erased:
    """What an erasure did: per escalation, the event seq and the fields erased."""

    events: dict[str, int] = field(default_factory=dict)
    fields: int = 0
    held: list[str] = field(default_factory=list)


def erase_escalation(uow: SqlUnitOfWork, escalation_id: str, *, actor: str, role: str,
                     basis: str, now: datetime, policy: Policy, out: Erased) -> None:
    """Erase every content row of one escalation and append its content-erased event."""
    esc = uow.escalations.get(escalation_id)
    if esc is None:
        return
    if esc.legal_hold:
        out.held.append(escalation_id)
        return
    rows = uow.conn.execute(select(content.c.seq, content.c.field).where(
        content.c.escalation_id == escalation_id).order_by(content.c.seq)).all()
    if not rows:
        return
    event = Event(
        escalation_id=esc.id, version=esc.version, action="content-erased", actor=actor,
        role=role, at=now, from_state=esc.state, to_state=esc.state, from_owner=esc.owner,
        to_owner=esc.owner, tier=esc.tier,
        payload={"customer_id": esc.customer_id, "basis": basis,
                 "fields": [f"{r.seq}:{r.field}" for r in rows]},
        policy_version=policy.version, rule=f"erasure.{basis}",
    )
    esc.apply(event)
    seq = uow.record(esc, event)
    uow.conn.execute(insert(erasures), [
        {"seq": r.seq, "field": r.field, "escalation_id": escalation_id,
         "erased_at": rfc3339(now), "erased_by": actor, "erase_seq": seq} for r in rows])
    uow.conn.execute(delete(content).where(content.c.escalation_id == escalation_id))
    # Stored idempotent responses may quote the erased text: they go too.
    uow.conn.execute(delete(idempotency).where(idempotency.c.escalation_id == escalation_id))
    out.events[escalation_id] = seq
    out.fields += len(rows)


def erase_customer(uow: SqlUnitOfWork, customer_id: str, *, actor: str, role: str,
                   now: datetime, policy: Policy) -> Erased:
    """Erase the content of every escalation of a customer (legal holds are skipped)."""
    out = Erased()
    ids = uow.conn.execute(select(escalations.c.id).where(
        escalations.c.customer_id == customer_id).order_by(escalations.c.pk)).scalars().all()
    uow.escalations.lock(list(ids))
    for escalation_id in ids:
        erase_escalation(uow, escalation_id, actor=actor, role=role, basis="request",
                         now=now, policy=policy, out=out)
    return out


def retention_sweep(uow: SqlUnitOfWork, *, actor: str, role: str, now: datetime,
                    policy: Policy) -> Erased:
    """Erase content of closed escalations whose category's retention period has passed."""
    out = Erased()
    for name, category in policy.categories.items():
        if category.retention_seconds is None:
            continue
        cutoff = rfc3339(now - timedelta(seconds=category.retention_seconds))
        ids = uow.conn.execute(select(escalations.c.id).where(
            escalations.c.category == name,
            escalations.c.state.in_(("resolved", "debriefed")),
            escalations.c.updated_at <= cutoff)).scalars().all()
        uow.escalations.lock(list(ids))
        for escalation_id in ids:
            erase_escalation(uow, escalation_id, actor=actor, role=role, basis="retention",
                             now=now, policy=policy, out=out)
    return out
