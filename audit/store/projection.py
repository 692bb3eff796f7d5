"""The escalations projection: current state rows, written with each event."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import MISSING, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, select

from audit.log import fast_json
from audit.store import fast_path
from audit.store.db import recorder_of
from audit.store.schema import escalations
from workflow import sla
from workflow.errors import VersionConflict
from workflow.escalation_state import EscalationState
from workflow.model import Escalation, Event, parse_rfc3339, rfc3339
from workflow.ownership import span_changes

_COLUMNS = ("state", "tier", "team", "owner", "acting_owner", "category", "severity",
            "customer_id", "version", "created_at", "updated_at", "next_due", "snapshot",
            "earliest_due", "proposed_owner")
_INSERT_SQL = (f"INSERT INTO escalations (id, {', '.join(_COLUMNS)}) VALUES (:id, "
               + ", ".join(f":{c}" for c in _COLUMNS) + ")")
# Indexed columns, set by an update only when their value changed: SQLite rewrites an
# index entry for every indexed column named in SET, changed or not, and every page it
# touches is written to the WAL and synced with the commit.
_INDEXED = (("state", "tier"), ("owner",), ("customer_id",), ("next_due",),
            ("earliest_due",))
_INDEXED_COLUMNS = tuple(c for group in _INDEXED for c in group)
_UNINDEXED = tuple(c for c in _COLUMNS if c not in _INDEXED_COLUMNS)
# The state's fields its row holds as columns: the snapshot leaves them out (since
# migration 0016), and fields at their default value; a read puts both back. A snapshot
# written before holds every field, and the columns agree with it.
HELD = ("id", "state", "tier", "team", "owner", "acting_owner", "category", "severity",
        "customer_id", "version", "created_at", "updated_at", "proposed_owner")
_DEFAULTS: dict[str, Any] = {
    f.name: f.default if f.default_factory is MISSING else f.default_factory()
    for f in fields(EscalationState)
    if f.default is not MISSING or f.default_factory is not MISSING}
_LEFT_OUT = frozenset(HELD)
# What a read of the state selects: the snapshot, then the columns it leaves out.
STATE_COLUMNS = ("snapshot", *HELD)
_LOADED = (*_INDEXED_COLUMNS, *(c for c in HELD if c not in _INDEXED_COLUMNS))
_LOAD_SQL = f"SELECT snapshot, {', '.join(_LOADED)} FROM escalations WHERE id = :id"
# load_stored()'s reads, parameter :id; a unit of work about to act sends LOCKED ahead.
LOAD = fast_path.Query(_LOAD_SQL)
LOCKED = fast_path.Query(_LOAD_SQL, lock="FOR UPDATE")
# The standard library's snapshot text, for what orjson will not write (a lone surrogate,
# a number beyond 64 bits): sorted keys, compact, no cycles to look for.
_json_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"),
                                check_circular=False).encode
_VERSION_SQL = "SELECT version FROM escalations WHERE id = :id"
_UPDATES: dict[tuple[str, ...], str] = {}
_OPEN_SPAN_SQL = ("INSERT INTO ownership_spans (escalation_id, owner, kind, started_at, "
                  "ended_at) VALUES (:escalation_id, :owner, :kind, :started_at, NULL)")
_CLOSE_SPAN_SQL = ("UPDATE ownership_spans SET ended_at = :ended_at WHERE escalation_id = "
                   ":escalation_id AND kind = :kind AND ended_at IS NULL")


def _update_sql(columns: tuple[str, ...]) -> str:
    """Compare-and-swap on the version, setting `columns`."""
    sql = _UPDATES.get(columns)
    if sql is None:
        sql = _UPDATES.setdefault(columns, "UPDATE escalations SET " + ", ".join(
            f"{c} = :{c}" for c in columns) + " WHERE id = :id AND version = :expected")
    return sql


def _encode(data: dict[str, Any]) -> str:
    """The snapshot's text: JSON, sorted keys, compact (orjson: a tenth of the time)."""
    fast = fast_json.sorted_compact(data)
    return fast.decode() if fast is not None else _json_encode(data)


def parse_time(text: str | None) -> datetime | None:
    """An RFC 3339 string from the ledger back to an aware datetime (None stays None)."""
    return parse_rfc3339(text) if text is not None else None


def from_row(row: Mapping[str, Any] | RowMapping) -> Escalation:
    """An Escalation from its row (STATE_COLUMNS at least): the snapshot's fields, those
    it left at their default, and those its columns hold."""
    data = fast_json.loads(row["snapshot"])
    for name in HELD:
        data[name] = row[name]
    return _built(data)


def _slim(data: dict[str, Any]) -> dict[str, Any]:
    """The snapshot of a state: its fields but those held as columns or at their default."""
    defaults = _DEFAULTS
    return {k: v for k, v in data.items() if k not in _LEFT_OUT and not (
        k in defaults and v == defaults[k] and type(v) is type(defaults[k]))}


def _built(data: dict[str, Any]) -> Escalation:
    # `data` is the caller's to give away (a snapshot just decoded).
    data["created_at"] = parse_time(data.get("created_at"))
    data["updated_at"] = parse_time(data.get("updated_at"))
    return Escalation(**data)


def load(conn: Connection, escalation_id: str, lock: bool = False) -> Escalation | None:
    """The stored state of one escalation, or None (with `lock`, FOR UPDATE on PostgreSQL;
    SQLite's writers are already serialised by BEGIN IMMEDIATE)."""
    found = load_stored(conn, escalation_id, lock)
    return found[0] if found is not None else None


def load_stored(conn: Connection, escalation_id: str, lock: bool = False
                ) -> tuple[Escalation, dict[str, Any]] | None:
    """The escalation and the values of its indexed columns as stored (for `save`); with
    `lock`, its row stays locked to the end of the transaction (PostgreSQL)."""
    row = (LOCKED if lock else LOAD).fetch_one(conn, {"id": escalation_id})
    if row is None:
        return None
    columns = dict(zip(("snapshot", *_LOADED), row, strict=True))
    return from_row(columns), {c: columns[c] for c in _INDEXED_COLUMNS}


def lock(conn: Connection, escalation_ids: list[str]) -> None:
    """Lock escalation rows in id order (PostgreSQL; SQLite's writers are serialised)."""
    if escalation_ids:
        recorder_of(conn).lock_rows(conn, select(escalations.c.id).where(
            escalations.c.id.in_(escalation_ids)).order_by(escalations.c.id))


def columns_of(esc: Escalation) -> dict[str, Any]:
    """The projection row of an escalation (every column but id)."""
    data = esc.plain()  # encoded at once: no copy of its lists and dicts needed
    return {
        "state": esc.state, "tier": esc.tier, "team": esc.team, "owner": esc.owner,
        "acting_owner": esc.acting_owner, "category": esc.category,
        "severity": esc.severity, "customer_id": esc.customer_id, "version": esc.version,
        "created_at": data["created_at"], "updated_at": data["updated_at"],
        "next_due": sla.next_due(esc),
        "earliest_due": sla.earliest_due(esc), "proposed_owner": esc.proposed_owner,
        "snapshot": _encode(_slim(data)),
    }


def save(conn: Connection, esc: Escalation, stored: dict[str, Any] | None = None
         ) -> dict[str, Any]:
    """Insert (version 1) or compare-and-swap update (version n from n-1); `stored` (from
    load_stored or the last save) leaves indexed columns whose value did not change out
    of the update. The compare-and-swap is checked before the commit (at once, or once a
    queued write is sent: fast_path.write_one_row). Returns the indexed columns' values
    as now stored."""
    values = columns_of(esc)
    now_stored = {c: values[c] for c in _INDEXED_COLUMNS}
    if esc.version == 1:
        fast_path.write(conn, _INSERT_SQL, {"id": esc.id, **values})
        return now_stored
    columns = _COLUMNS if stored is None else _UNINDEXED + tuple(
        c for group in _INDEXED if any(values[c] != stored.get(c) for c in group)
        for c in group)
    params = {c: values[c] for c in columns}

    def conflict() -> None:
        row = fast_path.read_one(conn, _VERSION_SQL, {"id": esc.id})
        actual = row[0] if row is not None else 0
        raise VersionConflict(esc.id, esc.version - 1, actual)

    fast_path.write_one_row(conn, _update_sql(columns),
                            {"id": esc.id, "expected": esc.version - 1, **params}, conflict)
    return now_stored


def track_spans(conn: Connection, event: Event) -> None:
    """Keep ownership_spans in step with an event (workflow.ownership's fold, the one
    audit.reads.trails follows)."""
    at = rfc3339(event.at)
    for change in span_changes(event.action, event.from_owner, event.to_owner,
                               event.payload):
        if change.owner is None:
            fast_path.write(conn, _CLOSE_SPAN_SQL, {"escalation_id": event.escalation_id,
                                                    "kind": change.kind, "ended_at": at})
        else:
            fast_path.write(conn, _OPEN_SPAN_SQL, {"escalation_id": event.escalation_id,
                                                   "owner": change.owner,
                                                   "kind": change.kind, "started_at": at})