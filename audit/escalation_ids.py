"""Which escalations a use case works on: a customer's, the closed ones past retention,
and those due for the SLA sweeper (the queries behind EscalationRepository's sets)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, select

from audit import fast_path
from audit.schema import escalations, ledger
from workflow.model import Escalation, rfc3339
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


def resolved_for_customer(conn: Connection, customer_id: str,
                          since: datetime) -> str | None:
    """The customer's escalation whose latest resolution is the most recent at or after
    `since`, among those still resolved or debriefed (a repeat's original)."""
    return conn.execute(
        select(ledger.c.escalation_id)
        .join(escalations, escalations.c.id == ledger.c.escalation_id)
        .where(escalations.c.customer_id == customer_id,
               escalations.c.state.in_((RESOLVED, DEBRIEFED)),
               ledger.c.action == "resolve", ledger.c.at >= rfc3339(since))
        .order_by(ledger.c.seq.desc()).limit(1)).scalar()


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


# The customer's other escalations, for one escalation: a read every action's response
# makes, sent ahead with the action's first reads (SqlUnitOfWork.prepare_to_act).
_RELATED_SQL = ("SELECT o.id FROM escalations e JOIN escalations o ON o.customer_id = "
                "e.customer_id WHERE e.id = :e AND o.id <> :e ORDER BY o.pk")


def prefetch_related(conn: Connection, escalation_id: str) -> None:
    """Send related_one()'s read ahead (see fast_path.prefetch)."""
    fast_path.prefetch(conn, _RELATED_SQL, {"e": escalation_id})


def related_one(conn: Connection, escalation_id: str) -> list[str]:
    """The other escalations of one escalation's customer, oldest first."""
    return [row[0] for row in fast_path.read_all(conn, _RELATED_SQL, {"e": escalation_id})]


def related(conn: Connection, escalations_: list[Escalation]) -> dict[str, list[str]]:
    """For each escalation, the other escalations of its customer, oldest first (one
    query for all of them)."""
    customers = {e.customer_id for e in escalations_}
    if not customers:
        return {}
    rows = conn.execute(select(escalations.c.id, escalations.c.customer_id).where(
        escalations.c.customer_id.in_(customers)).order_by(escalations.c.pk)).all()
    by_customer: dict[str, list[str]] = {}
    for escalation_id, customer_id in rows:
        by_customer.setdefault(customer_id, []).append(escalation_id)
    return {e.id: [i for i in by_customer.get(e.customer_id, []) if i != e.id]
            for e in escalations_}
