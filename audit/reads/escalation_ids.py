"""Which escalations a use case works on: a customer's, the closed ones past retention,
and those due for the SLA sweeper (the queries behind EscalationRepository's sets)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, select

from audit.store import fast_path
from audit.store.db import recorder_of
from audit.store.ledger_time import bound
from audit.store.schema import escalations
from workflow.model import Escalation, rfc3339
from workflow.states import DEBRIEFED, RESOLVED

# How many of a customer's other escalations one escalation shows (the newest).
RELATED_SHOWN = 50


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


# A repeat's original: the customer's newest closed cases only (a customer with thousands
# of escalations must not make every open read all of them), then their latest resolve,
# found through each case's own ledger rows. CROSS JOIN keeps SQLite's join order (the
# customer's cases first) and `|| ''` keeps it off ix_ledger_action_at: without both it
# walked every resolve in the repeat window, for every open, whoever the customer was.
_RESOLVED_SQL = ("SELECT l.escalation_id FROM (SELECT e.id FROM escalations e WHERE "
                 f"e.customer_id = :c AND e.state IN ('{RESOLVED}', '{DEBRIEFED}') ORDER BY "
                 f"e.pk DESC LIMIT {RELATED_SHOWN}) AS r CROSS JOIN ledger l WHERE "
                 "l.escalation_id = r.id AND l.action || '' = 'resolve' AND l.at >= :since "
                 "ORDER BY l.seq DESC LIMIT 1")


def resolved_for_customer(conn: Connection, customer_id: str,
                          since: datetime) -> str | None:
    """The customer's escalation whose latest resolution is the most recent at or after
    `since`, among those still resolved or debriefed (a repeat's original)."""
    row = fast_path.read_one(conn, _RESOLVED_SQL, {"c": customer_id,
                                                  "since": bound(conn, rfc3339(since))})
    return str(row[0]) if row is not None else None


def due_query(now: datetime, batch: int) -> Select[Any]:
    """Escalations with a deadline due and not yet recorded (served by ix_next_due)."""
    return (select(escalations.c.id).where(escalations.c.next_due < rfc3339(now))
            .order_by(escalations.c.next_due).limit(batch))


def due(conn: Connection, now: datetime, batch: int) -> list[str]:
    """Up to `batch` ids due for the sweeper, earliest deadline first; several sweepers
    share the work, each taking rows nobody else holds (PostgreSQL's SKIP LOCKED)."""
    return list(conn.execute(recorder_of(conn).skip_locked(due_query(now, batch))).scalars())


# The customer's newest other escalations, for one escalation: a read every action's
# response makes, and may send ahead (SqlUnitOfWork.prepare_to_act(…, shows=[RELATED])).
RELATED = fast_path.Query(
    "SELECT o.id FROM escalations e JOIN escalations o ON o.customer_id = e.customer_id "
    "WHERE e.id = :escalation_id AND o.id <> :escalation_id ORDER BY o.pk DESC LIMIT "
    f"{RELATED_SHOWN}")


def related(conn: Connection, escalation_id: str) -> list[str]:
    """The customer's other escalations, the newest RELATED_SHOWN of them, oldest first."""
    newest = RELATED.fetch(conn, {"escalation_id": escalation_id})
    return [row[0] for row in reversed(newest)]


def related_many(conn: Connection, escalations_: list[Escalation]) -> dict[str, list[str]]:
    """related() for a page of escalations, in one query: each customer's newest
    escalations (one more than shown, as the escalation itself may be among them)."""
    customers = {e.customer_id for e in escalations_}
    if not customers:
        return {}
    rank = func.row_number().over(partition_by=escalations.c.customer_id,
                                  order_by=escalations.c.pk.desc()).label("rank")
    ranked = select(escalations.c.id, escalations.c.customer_id, escalations.c.pk,
                    rank).where(escalations.c.customer_id.in_(customers)).subquery()
    rows = conn.execute(select(ranked.c.id, ranked.c.customer_id).where(
        ranked.c.rank <= RELATED_SHOWN + 1).order_by(ranked.c.pk)).all()
    by_customer: dict[str, list[str]] = {}
    for escalation_id, customer_id in rows:
        by_customer.setdefault(customer_id, []).append(escalation_id)
    return {e.id: [i for i in by_customer.get(e.customer_id, []) if i != e.id][
        -RELATED_SHOWN:] for e in escalations_}
