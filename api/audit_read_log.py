"""Recording a request's read of the audit log (workflow/audit_reads.py): one call after
the read, in a short write transaction of its own on the request's connection."""

from __future__ import annotations

from api.auth import current_actor
from api.container import READ_RECORDS, request_uow
from api.container import current as current_baton
from workflow import audit_reads
from workflow.audit_reads import Read


def record(read: Read) -> int:
    """Append the audit-read of this request by its actor; its seq. Raises (and the
    request is answered with a problem, not the read) when it could not be recorded."""
    return audit_reads.record_read(uow=request_uow, records=READ_RECORDS,
                                   actor=current_actor(), read=read,
                                   now=current_baton().now())
