"""Access reviews: `GET /api/v1/access?at=`, who held which role and team at an instant,
since when, granted by whom, through which path (the policy's read-audit permission:
auditor and admin by default; declared in api/read_access.py)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from marshmallow import fields as f

from api import audit_read_log
from api.auth import current_actor
from api.container import current as current_baton
from api.views.strict_blueprint import Blueprint
from audit.log import ledger
from audit.reads import access, audit_events
from workflow import services
from workflow.audit_reads import Read

blp = Blueprint("access", __name__, url_prefix="/api/v1",
                description="Access reviews: who held which role, when, granted by whom")


class AccessArgsSchema(ma.Schema):
    at = f.AwareDateTime(format="iso", metadata={
        "description": "The instant (RFC 3339); default now"})
    reads = f.Boolean(load_default=False, metadata={
        "description": "Also list who read the audit log (the audit-read events up to "
                       "`at`, newest last)"})


class AccessRowSchema(ma.Schema):
    actor = f.String()
    role = f.String()
    team = f.String(allow_none=True)
    since = f.String(metadata={"description": "When the role was granted"})
    team_since = f.String(allow_none=True)
    granted_by = f.String()
    path = f.String(metadata={"description": "cli, scim, sso or genesis"})
    rule = f.String()
    policy_version = f.String()
    seq = f.Integer(metadata={"description": "The ledger event that granted it"})


class AccessReportSchema(ma.Schema):
    at = f.String(allow_none=True)
    items = f.List(f.Nested(AccessRowSchema))
    problems = f.List(f.String(), metadata={
        "description": "Access events that contradict the history before them"})
    reads = f.List(f.Dict(), metadata={
        "description": "With reads=true: who read the audit log, what, the range and tree "
                       "size served (one audit-read event per request)"})


@blp.route("/access")
class AccessReport(MethodView):
    @blp.arguments(AccessArgsSchema(), location="query")
    @blp.response(200, AccessReportSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Who held which role and team at `at` (default: now), since when, granted by
        whom and by which rule, through which path (with reads=true, who read the audit
        log); folded from the ledger's access events, as
        `python -m audit.verifier BUNDLE --access-at` folds an export."""
        baton = current_baton()
        with baton.engine.connect() as conn:
            services.require_permission(actor=current_actor(), permission="read-audit",
                                        policy=baton.policy(conn))
            size = ledger.read_head(conn, lock=False).size
            found = access.report(conn, args.get("at"))
            if args["reads"]:
                found["reads"] = audit_events.reads(conn, args.get("at"), size)
        audit_read_log.record(Read("access-report", size, query={
            "at": found["at"], "reads": args["reads"] or None}))
        return found
