"""Which escalations a use case works on: a customer's, the closed ones past retention,
and those due for the SLA sweeper (the queries behind EscalationRepository's sets)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, select

from audit.schema import escalations
from workflow.model import rfc3339
from workflow.states import DEBRIEFED, RESOLVED


def of_customer(conn: Connection, customer_id: str) -> list[str]:
    """Ids of every escalation of a customer, oldest first."""
    return list(conn.execute(select(escalations.c.id).where(
        escalations.c.customer_id == customer_id).order_by(escalations.c.pk)).scalars())


def closed_before(conn: Connection, category: str, cutoff: datetime) -> list[str]:
    """Ids of the resolved or debriefed escalations of a category last changed at or
    before `cutoff`."""
    return list(conn.execute(select(escalations.c.id).where(
        escalations.c.category == category,
        escalations.c.state.in_((RESOLVED, DEBRIEFED)),
        escalations.c.updated_at <= rfc3339(cutoff))).scalars())


def due_query(now: datetime, batch: int, postgres: bool) -> Select[Any]:
    """Escalations with a deadline due and not yet recorded (served by ix_next_due)."""
    query = (select(escalations.c.id).where(escalations.c.next_due < rfc3339(now))
             .order_by(escalations.c.next_due).limit(batch))
    if postgres:
        # Several sweepers share the work: each takes rows nobody else holds.
        query = query.with_for_update(skip_locked=True)
    return query


def due(conn: Connection, now: datetime, batch: int) -> list[str]:
    """Up to `batch` ids due for the sweeper, earliest deadline first."""
    postgres = conn.dialect.name != "sqlite"
    return list(conn.execute(due_query(now, batch, postgres)).scalars())
