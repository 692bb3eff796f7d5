"""The escalations projection: current state rows, written with each event."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from audit.rawsql import Raw
from audit.schema import escalations
from workflow import sla
from workflow.errors import VersionConflict
from workflow.model import Escalation, Event, parse_rfc3339, rfc3339

_COLUMNS = ("state", "tier", "team", "owner", "acting_owner", "category", "severity",
            "customer_id", "version", "created_at", "updated_at", "next_due", "snapshot")
_INSERT_SQL = (f"INSERT INTO escalations (id, {', '.join(_COLUMNS)}) VALUES (:id, "
               + ", ".join(f":{c}" for c in _COLUMNS) + ")")
# Compare-and-swap on the version.
_UPDATE_SQL = ("UPDATE escalations SET " + ", ".join(f"{c} = :{c}" for c in _COLUMNS)
               + " WHERE id = :id AND version = :expected")
_LOAD_SQL = "SELECT snapshot FROM escalations WHERE id = :id"
_OPEN_SPAN_SQL = ("INSERT INTO ownership_spans (escalation_id, owner, kind, started_at, "
                  "ended_at) VALUES (:escalation_id, :owner, :kind, :started_at, NULL)")
_CLOSE_SPAN_SQL = ("UPDATE ownership_spans SET ended_at = :ended_at WHERE escalation_id = "
                   ":escalation_id AND kind = :kind AND ended_at IS NULL")


def parse_time(text: str | None) -> datetime | None:
    """An RFC 3339 string from the ledger back to an aware datetime (None stays None)."""
    return parse_rfc3339(text) if text is not None else None


def from_snapshot(data: dict[str, Any]) -> Escalation:
    """An Escalation from its stored snapshot."""
    data = dict(data)
    data["created_at"] = parse_time(data.get("created_at"))
    data["updated_at"] = parse_time(data.get("updated_at"))
    return Escalation(**data)


def load(conn: Connection, escalation_id: str, lock: bool = False) -> Escalation | None:
    """The stored state of one escalation, or None (with `lock`, FOR UPDATE on PostgreSQL;
    SQLite's writers are already serialised by BEGIN IMMEDIATE)."""
    raw = Raw(conn)
    sql = _LOAD_SQL + (" FOR UPDATE" if lock and raw.postgres else "")
    row = raw.one(sql, {"id": escalation_id})
    return from_snapshot(json.loads(row[0])) if row is not None else None


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
    raw = Raw(conn)
    if esc.version == 1:
        raw.run(_INSERT_SQL, {"id": esc.id, **values})
        return
    if raw.run(_UPDATE_SQL, {"id": esc.id, "expected": esc.version - 1, **values}) != 1:
        actual = conn.execute(select(escalations.c.version).where(
            escalations.c.id == esc.id)).scalar() or 0
        raise VersionConflict(esc.id, esc.version - 1, actual)


def track_spans(conn: Connection, event: Event) -> None:
    """Keep ownership_spans in step with an event (the same rules as audit.trails)."""
    at = rfc3339(event.at)
    raw = Raw(conn)

    def close(kind: str) -> None:
        raw.run(_CLOSE_SPAN_SQL, {"escalation_id": event.escalation_id, "kind": kind,
                                  "ended_at": at})

    def open_(owner: str, kind: str) -> None:
        raw.run(_OPEN_SPAN_SQL, {"escalation_id": event.escalation_id, "owner": owner,
                                 "kind": kind, "started_at": at})

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
