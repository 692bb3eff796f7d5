"""The audit page (the policy's read-audit permission: auditor and admin by default): log
size, the latest checkpoint, the public key, the live database verified, the export. A
visit and an export each append one audit-read; the checkpoint download does not (the
checkpoint is published)."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request, stream_with_context

from api import audit_read_log
from api.auth import current_actor
from api.container import current as current_baton
from api.container import request_connection
from api.ui.blueprint import ui
from audit.errors import CheckpointMissing
from audit.log import fresh_checkpoint, ledger
from audit.reads.export import bundle_lines, verify_db
from workflow.audit_reads import UI, Read
from workflow.authority import permit

# Verified on every visit up to this many events; past it, when the auditor asks.
VERIFY_ON_VISIT = 20_000


def _refused() -> Response | None:
    decision = permit(current_actor(), "read-audit", current_baton().policy(
        request_connection()))
    if decision.allowed:
        return None
    body = render_template("ui/error.html", status=403, title="Not for your role",
                           detail=decision.reason, rule=decision.rule)
    return Response(body, status=403, mimetype="text/html")


@ui.get("/audit")
def audit() -> Any:
    """The audit page."""
    refused = _refused()
    if refused is not None:
        return refused
    baton = current_baton()
    conn = request_connection()
    head = ledger.read_head(conn, lock=False)
    try:
        note: str | None = ledger.latest_checkpoint(conn)
    except CheckpointMissing:
        note = None
    asked = request.args.get("verify") == "1"
    report = verify_db(conn, baton.vkey, baton.origin) \
        if asked or head.size <= VERIFY_ON_VISIT else None
    # The page reads (and verifies) the log: one audit-read, the range it verified.
    read = Read.whole if report is not None else Read
    audit_read_log.record(read("audit-page", head.size, path=UI,
                               query={"verified": report is not None}))
    return render_template("ui/audit.html", head=head, note=note, vkey=baton.vkey,
                           origin=baton.origin, report=report)


@ui.get("/audit/checkpoint")
def checkpoint_download() -> Any:
    """A checkpoint covering every event committed before the download, as a file (a C2SP
    signed note): signed now if the log has grown, as GET /api/v1/audit/checkpoint does."""
    refused = _refused()
    if refused is not None:
        return refused
    baton = current_baton()
    note = fresh_checkpoint.covering(baton.engine, lambda: baton.signer, baton.now)
    return Response(note, mimetype="text/plain", headers={
        "Content-Disposition": 'attachment; filename="baton-checkpoint.txt"'})


@ui.post("/audit/export")
def export_download() -> Any:
    """The export bundle (JSON Lines), with a checkpoint of the whole log signed first
    (as `baton audit export` does) so every event is under a signature."""
    refused = _refused()
    if refused is not None:
        return refused
    baton = current_baton()
    fresh_checkpoint.covering(baton.engine, lambda: baton.signer, baton.now)
    size = ledger.read_head(request_connection(), lock=False).size
    # Recorded before the first byte leaves: the bundle is of exactly these `size` events.
    audit_read_log.record(Read.whole("export", size, path=UI, query={"format": "jsonl"}))
    vkey, origin, now = baton.vkey, baton.origin, baton.now()

    def lines() -> Any:
        with baton.engine.connect() as conn:
            yield from bundle_lines(conn, origin, vkey, now, size)

    return Response(stream_with_context(lines()), mimetype="application/x-ndjson", headers={
        "Content-Disposition": 'attachment; filename="baton-export.jsonl"'})
