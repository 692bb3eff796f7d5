"""The event stream for an organisation's SIEM: `GET /api/v1/audit/stream?after=SEQ`, the
ledger's events after a cursor as CloudEvents 1.0 (audit/log/cloud_events.py), with a
bounded long-poll (`wait`, at most 30 seconds). Auditor and admin only (the `audit-log`
read: the policy's read-audit permission; declared in api/read_access.py), and each
request is itself recorded as one audit-read (workflow/audit_reads.py).

Long-polling rather than Server-Sent Events, because gunicorn's sync workers serve the
API: a request holds its worker for its whole life, so it must end. `wait` is bounded by
MAX_WAIT (30 s, well inside gunicorn's 60 s worker timeout); between polls no database
connection is held. A client asks again at once with the cursor it was given; a
subscription to `ledger.*` pushes the same documents instead."""

from __future__ import annotations

import time
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from marshmallow import fields as f
from marshmallow import validate as v

from api import audit_read_log
from api.container import current as current_baton
from api.container import request_connection
from api.views.strict_blueprint import Blueprint
from audit.log.cloud_events import cloud_event
from audit.reads.audit_events import Batch, stream_batch
from workflow.audit_reads import Read

MAX_WAIT = 30.0  # seconds a request may hold a worker waiting for new events
POLL = 0.25  # seconds between looks while waiting

blp = Blueprint("audit_stream", __name__, url_prefix="/api/v1",
                description="The ledger's events as CloudEvents, for a SIEM")


class StreamArgsSchema(ma.Schema):
    after = f.Integer(load_default=-1, validate=v.Range(min=-1, max=2**63 - 1), metadata={
        "description": "The cursor: events with a seq greater than this (-1: from the "
                       "start); pass the response's next_after"})
    wait = f.Float(load_default=0.0, validate=v.Range(min=0.0, max=MAX_WAIT), metadata={
        "description": "Seconds to wait for an event when none is there yet (at most 30)"})
    limit = f.Integer(load_default=100, validate=v.Range(min=1, max=1000))


class StreamSchema(ma.Schema):
    events = f.List(f.Dict(), metadata={"description": "CloudEvents 1.0, in seq order"})
    next_after = f.Integer(metadata={"description": "The cursor for the next request"})
    size = f.Integer(metadata={"description": "The log's tree size when read"})


def _poll(after: int, limit: int, wait: float) -> Batch:
    """The first batch with events, or the last (empty) one once `wait` has passed; a
    short read each time, no connection held while sleeping."""
    baton = current_baton()
    deadline = time.monotonic() + wait
    while True:
        with baton.engine.connect() as conn:
            batch = stream_batch(conn, after, limit)
        if batch.rows or time.monotonic() + POLL > deadline:
            return batch
        after = batch.next_after
        time.sleep(POLL)


@blp.route("/audit/stream")
class AuditStream(MethodView):
    @blp.arguments(StreamArgsSchema(), location="query")
    @blp.response(200, StreamSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The ledger's events after `after`, as CloudEvents 1.0 (id ORIGIN/SEQ, type
        org.baton.ACTION, data the canonical record: ids, facts and commitments, never
        erasable text), at most `limit`; waits up to `wait` seconds for the first when
        there is none. The stream's own audit-reads are not served back."""
        conn = request_connection()
        if conn.in_transaction():  # no read snapshot held open while waiting
            conn.rollback()
        batch = _poll(args["after"], args["limit"], args["wait"])
        audit_read_log.record(Read.served(
            "stream", batch.size, [seq for seq, _ in batch.rows],
            query={"after": args["after"], "limit": args["limit"]}))
        origin = current_baton().origin
        return {"events": [cloud_event(rec, origin) for _, rec in batch.rows],
                "next_after": batch.next_after, "size": batch.size}
