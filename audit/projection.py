"""The escalations projection: current state rows, written with each event."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from audit.schema import escalations
from workflow.errors import VersionConflict
from workflow.model import Escalation


def parse_time(text: str | None) -> datetime | None:
    """An RFC 3339 string from the ledger back to an aware datetime."""
    if text is None:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def from_snapshot(data: dict[str, Any]) -> Escalation:
    """An Escalation from its stored snapshot."""
    data = dict(data)
    data["created_at"] = parse_time(data.get("created_at"))
    data["updated_at"] = parse_time(data.get("updated_at"))
    return Escalation(**data)


def load(conn: Connection, escalation_id: str) -> Escalation | None:
    """The stored state of one escalation, or None."""
    text = conn.execute(select(escalations.c.snapshot).where(
        escalations.c.id == escalation_id)).scalar()
    return from_snapshot(json.loads(text)) if text is not None else None


def save(conn: Connection, esc: Escalation) -> None:
    """Insert (version 1) or compare-and-swap update (version n from n-1)."""
    snap = esc.snapshot()
    values = {
        "state": esc.state, "tier": esc.tier, "team": esc.team, "owner": esc.owner,
        "acting_owner": esc.acting_owner, "category": esc.category,
        "severity": esc.severity, "customer_id": esc.customer_id, "version": esc.version,
        "created_at": snap["created_at"], "updated_at": snap["updated_at"],
        "next_due": min(esc.deadlines.values()) if esc.deadlines else None,
        "snapshot": json.dumps(snap, sort_keys=True, separators=(",", ":")),
    }
    if esc.version == 1:
        conn.execute(insert(escalations).values(id=esc.id, **values))
        return
    result = conn.execute(update(escalations).where(
        escalations.c.id == esc.id, escalations.c.version == esc.version - 1).values(**values))
    if result.rowcount != 1:
        actual = conn.execute(select(escalations.c.version).where(
            escalations.c.id == esc.id)).scalar() or 0
        raise VersionConflict(esc.id, esc.version - 1, actual)
