"""The audit log as auditors read it: events by seq, filtered, with hashes and bytes; and
who read it (the audit-read events)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from audit.log import merkle
from audit.log.ledger import read_head
from audit.reads.records import decode
from audit.store import policy_refs
from audit.store.schema import ledger
from workflow.audit_reads import AUDIT_READ, STREAM
from workflow.model import rfc3339


class Page(NamedTuple):
    """Events in seq order, and the seq to pass as `after` for the next page (or None)."""

    items: list[dict[str, Any]]
    next_after: int | None


def page(conn: Connection, *, limit: int, escalation: str | None = None,
         actor: str | None = None, action: str | None = None,
         since: datetime | None = None, until: datetime | None = None,
         after: int | None = None) -> Page:
    """Up to `limit` events matching every filter given ([since, until) on the event
    time, seq greater than `after`): each record with its texts joined back, its leaf
    and chain hashes (hex) and its canonical bytes (base64), so an auditor can check
    them without the database."""
    t = ledger
    query = select(t).order_by(t.c.seq)
    if escalation is not None:
        query = query.where(t.c.escalation_id == escalation)
    if actor is not None:
        query = query.where(t.c.actor == actor)
    if action is not None:
        query = query.where(t.c.action == action)
    if since is not None:
        query = query.where(t.c.at >= rfc3339(since))
    if until is not None:
        query = query.where(t.c.at < rfc3339(until))
    if after is not None:
        query = query.where(t.c.seq > after)
    rows = conn.execute(query.limit(limit + 1)).all()
    shown = rows[:limit]
    items = decode(shown, conn)
    for rec, row in zip(items, shown, strict=True):
        rec["leaf_hash"] = merkle.leaf_hash(bytes(row.body)).hex()
        rec["chain_hash"] = bytes(row.chain_hash).hex()
        rec["bytes"] = base64.b64encode(row.body).decode()
    return Page(items, shown[-1].seq if len(rows) > limit else None)


READ_COLUMNS = ("seq", "at", "actor", "role", "rule", "read", "path", "first", "last",
                "count", "size")


def reads(conn: Connection, at: datetime | None, size: int | None = None
          ) -> list[dict[str, Any]]:
    """Who read the audit log: each audit-read event (up to `at`, among the first `size`
    events), oldest first, with what was read, the range and tree size served."""
    t = ledger
    query = select(t.c.seq, t.c.body).where(t.c.action == AUDIT_READ).order_by(t.c.seq)
    if at is not None:
        query = query.where(t.c.at <= rfc3339(at))
    if size is not None:
        query = query.where(t.c.seq < size)
    out = []
    rows = conn.execute(query).all()
    for (seq, _), rec in zip(rows, policy_refs.records(conn, [r[1] for r in rows]),
                             strict=True):
        payload = rec.get("payload") or {}
        out.append({"seq": int(seq), "at": rec["at"], "actor": rec["actor"],
                    "role": rec["role"], "rule": rec["rule"], "read": payload.get("read"),
                    "path": payload.get("path"), "first": payload.get("first"),
                    "last": payload.get("last"), "count": payload.get("count"),
                    "size": payload.get("size"), "query": payload.get("query") or {}})
    return out


class Batch(NamedTuple):
    """A stream's batch: the log's size when read, the rows served (seq, record: the
    canonical bytes decoded, whatever their format) and the cursor to pass as `after`
    next (the last seq looked at)."""

    size: int
    rows: list[tuple[int, dict[str, Any]]]
    next_after: int


def stream_batch(conn: Connection, after: int, limit: int) -> Batch:
    """Up to `limit` events after seq `after`, in order, but not the stream's own
    audit-reads (a poll would otherwise always find its predecessor's record): those are
    passed over, and the cursor moves past them."""
    size = read_head(conn, lock=False).size
    found = conn.execute(select(ledger.c.seq, ledger.c.action, ledger.c.body)
                         .where(ledger.c.seq > after, ledger.c.seq < size)
                         .order_by(ledger.c.seq).limit(limit)).all()
    rows = []
    records = policy_refs.records(conn, [row.body for row in found])
    for (seq, action, _), rec in zip(found, records, strict=True):
        if action == AUDIT_READ and _stream_read(rec):
            continue
        rows.append((int(seq), rec))
    return Batch(size, rows, int(found[-1].seq) if found else after)


def _stream_read(rec: dict[str, Any]) -> bool:
    payload = rec.get("payload") or {}
    return isinstance(payload, dict) and payload.get("read") == STREAM
