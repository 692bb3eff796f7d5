"""The delivery log as an operator reads it: messages of the outbox (webhooks and mail),
newest first, each with its attempts (outcome, status, timing, error). A mail is named
by its recipient's handle, never the address; what is shown holds no personal text."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from audit.store import outbox
from audit.store.schema import deliveries
from audit.store.schema import outbox as outbox_table
from workflow.model import rfc3339

CHANNELS = (outbox.EMAIL, outbox.WEBHOOK)
STATUSES = (outbox.PENDING, outbox.DELIVERED, outbox.FAILED, outbox.CANCELLED)
# A server's reply may echo an address; what the log shows never does.
_ADDRESS = re.compile(r"[^\s<>()\[\]{},;:'\"]+@[^\s<>()\[\]{},;:'\"]+")


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return rfc3339(datetime.fromtimestamp(epoch, UTC))


def _error(text: str | None) -> str | None:
    return None if text is None else _ADDRESS.sub("[address]", text)


def messages(conn: Connection, *, channel: str | None = None, target: str | None = None,
             escalation_id: str | None = None, status: str | None = None,
             limit: int = 100) -> list[dict[str, Any]]:
    """Messages matching every filter given, newest first, each with its attempts."""
    query = select(outbox_table)
    for column, value in ((outbox_table.c.channel, channel), (outbox_table.c.target, target),
                          (outbox_table.c.escalation_id, escalation_id),
                          (outbox_table.c.status, status)):
        if value is not None:
            query = query.where(column == value)
    rows = conn.execute(query.order_by(outbox_table.c.id.desc()).limit(limit)).all()
    ids = [m.id for m in rows]
    attempts: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        for a in conn.execute(select(deliveries).where(deliveries.c.message_id.in_(ids))
                              .order_by(deliveries.c.message_id, deliveries.c.attempt)):
            attempts[a.message_id].append({
                "attempt": a.attempt, "at": _iso(a.at), "outcome": a.outcome,
                "status_code": a.status_code, "duration_ms": a.duration_ms,
                "error": _error(a.error)})
    return [{"id": m.id, "channel": m.channel, "target": m.target,
             "webhook_id": f"msg_{m.seq}_{m.target}", "seq": m.seq,
             "escalation_id": m.escalation_id, "event_type": m.event_type,
             "status": m.status, "attempts": attempts[m.id],
             "next_attempt_at": _iso(m.next_at) if m.status == outbox.PENDING else None,
             "created_at": _iso(m.created_at), "done_at": _iso(m.done_at)} for m in rows]
