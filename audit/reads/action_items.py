"""Debrief action items across escalations: who owns what, due when, done or overdue
(for GET /api/v1/actions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from audit.reads.debrief_pack import customer_side
from audit.reads.records import decode
from audit.store.schema import escalations, ledger
from workflow.states import DEBRIEFED


def listing(conn: Connection, now: datetime, owner: str | None = None,
            open_only: bool | None = None) -> list[dict[str, Any]]:
    """Every action item of the debriefed escalations, soonest due first, filtered by its
    owner and by whether it is still open."""
    ids = list(conn.execute(select(escalations.c.id).where(
        escalations.c.state == DEBRIEFED)).scalars())
    if not ids:
        return []
    rows = conn.execute(select(ledger.c.seq, ledger.c.body).where(
        ledger.c.escalation_id.in_(ids),
        ledger.c.action.in_(("debrief", "complete-action"))).order_by(ledger.c.seq)).all()
    per_escalation: dict[str, list[dict[str, Any]]] = {}
    for rec in decode(rows, conn):
        per_escalation.setdefault(rec["escalation_id"], []).append(rec)
    out = []
    for escalation_id, recs in per_escalation.items():
        for item in customer_side(recs, now)["action_items"]:
            if owner is not None and item["owner"] != owner:
                continue
            if open_only is not None and (item["completed_at"] is None) != open_only:
                continue
            out.append({"escalation_id": escalation_id, **item})
    out.sort(key=lambda i: (i["due"] is None, i["due"] or "", i["id"]))
    return out
