"""The escalations projection: current state rows, written with each event."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from audit.schema import escalations, ownership_spans
from workflow import sla
from workflow.errors import VersionConflict
from workflow.model import Escalation, Event, rfc3339

_INSERT = insert(escalations)
# Compare-and-swap on the version: built once, bound per call.
_UPDATE = update(escalations).where(escalations.c.id == bindparam("b_id"),
                                    escalations.c.version == bindparam("b_version"))
_LOAD = select(escalations.c.snapshot).where(escalations.c.id == bindparam("b_id"))
_LOAD_LOCKED = _LOAD.with_for_update()


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


def load(conn: Connection, escalation_id: str, lock: bool = False) -> Escalation | None:
    """The stored state of one escalation, or None (with `lock`, FOR UPDATE on PostgreSQL;
    SQLite's writers are already serialised by BEGIN IMMEDIATE)."""
    locked = lock and conn.dialect.name != "sqlite"
    text = conn.execute(_LOAD_LOCKED if locked else _LOAD, {"b_id": escalation_id}).scalar()
    return from_snapshot(json.loads(text)) if text is not None else None


def lock(conn: Connection, escalation_ids: list[str]) -> None:
    """Lock escalation rows in the given order (PostgreSQL; a no-op on SQLite)."""
    if conn.dialect.name == "sqlite" or not escalation_ids:
        return
    conn.execute(select(escalations.c.id).where(escalations.c.id.in_(escalation_ids))
                 .order_by(escalations.c.id).with_for_update())


def save(conn: Connection, esc: Escalation) -> None:
    """Insert (version 1) or compare-and-swap update (version n from n-1)."""
    snap = esc.snapshot()
    values = {
        "state": esc.state, "tier": esc.tier, "team": esc.team, "owner": esc.owner,
        "acting_owner": esc.acting_owner, "category": esc.category,
        "severity": esc.severity, "customer_id": esc.customer_id, "version": esc.version,
        "created_at": snap["created_at"], "updated_at": snap["updated_at"],
        "next_due": sla.next_due(esc),
        "snapshot": json.dumps(snap, sort_keys=True, separators=(",", ":")),
    }
    if esc.version == 1:
        conn.execute(_INSERT, {"id": esc.id, **values})
        return
    result = conn.execute(_UPDATE, {"b_id": esc.id, "b_version": esc.version - 1, **values})
    if result.rowcount != 1:
        actual = conn.execute(select(escalations.c.version).where(
            escalations.c.id == esc.id)).scalar() or 0
        raise VersionConflict(esc.id, esc.version - 1, actual)


_OPEN_SPAN = insert(ownership_spans)
_CLOSE_SPAN = update(ownership_spans).where(
    ownership_spans.c.escalation_id == bindparam("b_id"),
    ownership_spans.c.kind == bindparam("b_kind"),
    ownership_spans.c.ended_at.is_(None))


def track_spans(conn: Connection, event: Event) -> None:
    """Keep ownership_spans in step with an event (the same rules as audit.trails)."""
    at = rfc3339(event.at)

    def close(kind: str) -> None:
        conn.execute(_CLOSE_SPAN, {"b_id": event.escalation_id, "b_kind": kind,
                                   "ended_at": at})

    def open_(owner: str, kind: str) -> None:
        conn.execute(_OPEN_SPAN, {"escalation_id": event.escalation_id, "owner": owner,
                                  "kind": kind, "started_at": at, "ended_at": None})

    if event.to_owner != event.from_owner:
        if event.from_owner:
            close("owner")
        if event.to_owner:
            open_(event.to_owner, "owner")
    covering = event.payload.get("acting_owner")
    if event.action == "sla-breached" and covering:
        close("acting")
        open_(covering, "acting")
    elif event.action == "acting-owner-released":
        close("acting")
    elif event.action == "debrief":
        close("owner")
        close("acting")
