"""The SLA sweeper: record each breach once, however many sweepers run at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from audit.schema import escalations
from audit.uow import SqlUnitOfWork
from workflow import services
from workflow.model import rfc3339
from workflow.policy import Policy


@dataclass
class Swept:
    """What one sweep did."""

    escalations: int = 0
    events: int = 0
    batches: int = 0


def candidates_query(now: datetime, batch: int, postgres: bool):  # type: ignore[no-untyped-def]
    """Escalations with a deadline due and not yet recorded (served by ix_next_due)."""
    query = (select(escalations.c.id).where(escalations.c.next_due < rfc3339(now))
             .order_by(escalations.c.next_due).limit(batch))
    if postgres:
        # Several sweepers share the work: each takes rows nobody else holds.
        query = query.with_for_update(skip_locked=True)
    return query


def sweep(uow_factory: Callable[[], SqlUnitOfWork], policy_of: Callable[[SqlUnitOfWork],
          Policy], now: datetime, batch: int = 200) -> Swept:
    """Sweep until nothing is due: one transaction per batch."""
    out = Swept()
    while True:
        with uow_factory() as uow:
            postgres = uow.conn.dialect.name != "sqlite"
            ids = uow.conn.execute(candidates_query(now, batch, postgres)).scalars().all()
            if not ids:
                return out
            policy = policy_of(uow)
            wrote = 0
            for escalation_id in ids:
                written = services.sweep_escalation(uow=uow, escalation_id=escalation_id,
                                                    policy=policy, now=now)
                wrote += len(written)
                out.escalations += bool(written)
            uow.commit()
            out.events += wrote
            out.batches += 1
            if not wrote:  # nothing recordable left in what is due: never spin
                return out
