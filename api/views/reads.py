"""Auditors' and operators' reads: actor trails, the audit log, proofs, the policy."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import Response, stream_with_context
from flask.views import MethodView
from werkzeug.exceptions import NotFound

from api import audit_read_log
from api.auth import current_actor
from api.container import current as current_baton
from api.container import request_connection
from api.schemas import (
    ActorOwnershipSchema,
    AuditArgsSchema,
    AuditEventsSchema,
    CheckpointSchema,
    ConsistencyArgsSchema,
    ConsistencySchema,
    InclusionArgsSchema,
    InclusionSchema,
    MetricsArgsSchema,
    MetricsSchema,
    PeriodArgsSchema,
    PolicySchema,
    PublicKeySchema,
)
from api.views.strict_blueprint import Blueprint
from audit.log import fresh_checkpoint, ledger, signed_note
from audit.reads import audit_events, metrics, policy_versions, report_period, trails
from audit.reads.export import bundle_lines
from audit.store import actors
from workflow import services
from workflow.audit_reads import Read
from workflow.errors import ActorNotFound
from workflow.model import rfc3339

blp = Blueprint("reads", __name__, url_prefix="/api/v1",
                description="Ownership trails, the audit log, proofs and the policy")


@blp.route("/actors/<string:handle>/ownership")
class ActorOwnership(MethodView):
    @blp.arguments(PeriodArgsSchema(), location="query")
    @blp.response(200, ActorOwnershipSchema)
    def get(self, args: dict[str, Any], handle: str) -> dict[str, Any]:
        """The spans in which this actor owned or covered an escalation over a period of
        at most 92 days, a page at a time, ordered by start."""
        baton = current_baton()
        since, until = report_period.bounded(args.get("since"), args.get("until"),
                                             baton.now())
        with baton.engine.connect() as conn:
            if not actors.exists(conn, handle):
                raise ActorNotFound(handle)
            found = trails.actor_page(conn, handle, since, until, args["limit"],
                                      args.get("cursor"))
        return {"handle": handle, "since": rfc3339(since),
                "until": rfc3339(until) if until else None, "spans": found.spans,
                "next_cursor": found.next_cursor}


@blp.route("/metrics/escalations")
class EscalationMetrics(MethodView):
    @blp.arguments(MetricsArgsSchema(), location="query")
    @blp.response(200, MetricsSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Escalation metrics for the escalations opened in [since, until), a period of at
        most 92 days and 10,000 escalations, computed from the ledger (so they agree with
        the timelines), overall or per group."""
        baton = current_baton()
        now = baton.now()
        since, until = report_period.bounded(args.get("since"), args.get("until"), now)
        with baton.engine.connect() as conn:
            return metrics.report(conn, since, until, args.get("group_by"),
                                  baton.policy(conn).max_tier, now,
                                  limit=report_period.MAX_ESCALATIONS)


@blp.route("/audit/events")
class AuditEvents(MethodView):
    @blp.arguments(AuditArgsSchema(), location="query")
    @blp.response(200, AuditEventsSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The ledger's events (the policy's `read-audit` permission: auditor and admin by
        default), with seq, hashes and joined texts."""
        baton = current_baton()
        with baton.engine.connect() as conn:
            services.require_permission(actor=current_actor(), permission="read-audit",
                                        policy=baton.policy(conn))
            size = ledger.read_head(conn, lock=False).size
            found = audit_events.page(conn, **args)
        audit_read_log.record(Read.served(
            "audit-events", size, [item["seq"] for item in found.items],
            query={k: rfc3339(v) if isinstance(v, datetime) else v
                   for k, v in args.items()}))
        return {"items": found.items, "next_after": found.next_after}


@blp.route("/audit/export")
class AuditExport(MethodView):
    @blp.response(200, content_type="application/x-ndjson",
                  description="The export bundle (JSON Lines)")
    def get(self) -> Response:
        """The export bundle the offline verifier checks (`python -m audit.verifier`), as
        `baton audit export` writes it: a checkpoint of the whole log is signed first, and
        the read is recorded as one audit-read of exactly the events the bundle holds
        (its own record follows them). It holds personal text: read-audit only."""
        baton = current_baton()
        fresh_checkpoint.covering(baton.engine, lambda: baton.signer, baton.now)
        size = ledger.read_head(request_connection(), lock=False).size
        audit_read_log.record(Read.whole("export", size, query={"format": "jsonl"}))
        vkey, origin, now = baton.vkey, baton.origin, baton.now()

        def lines() -> Iterator[str]:
            with baton.engine.connect() as conn:
                yield from bundle_lines(conn, origin, vkey, now, size)

        return Response(stream_with_context(lines()), mimetype="application/x-ndjson",
                        headers={"Content-Disposition":
                                 'attachment; filename="baton-export.jsonl"'})


@blp.route("/audit/checkpoint")
class LatestCheckpoint(MethodView):
    @blp.response(200, CheckpointSchema)
    def get(self) -> dict[str, Any]:
        """A signed checkpoint (C2SP signed note) covering every event committed before
        the request: signed now if the log has grown since the last one (at most one a
        second: requests within that second wait for it)."""
        baton = current_baton()
        text = fresh_checkpoint.covering(baton.engine, lambda: baton.signer, baton.now)
        cp = signed_note.open_note(text, baton.vkey)
        return {"size": cp.size, "root": base64.b64encode(cp.root).decode(),
                "root_hex": cp.root.hex(), "note": text}


@blp.route("/audit/proof/inclusion")
class InclusionProof(MethodView):
    @blp.arguments(InclusionArgsSchema(), location="query")
    @blp.response(200, InclusionSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """RFC 9162 inclusion proof of event `seq` in the tree of `size` events (a read
        of the audit log: recorded as an audit-read)."""
        with current_baton().engine.connect() as conn:
            found = ledger.inclusion(conn, args["seq"], args["size"])
        audit_read_log.record(Read("proof", args["size"], args["seq"], args["seq"], 1,
                                   grant="proofs", query={"proof": "inclusion"}))
        return found


@blp.route("/audit/proof/consistency")
class ConsistencyProof(MethodView):
    @blp.arguments(ConsistencyArgsSchema(), location="query")
    @blp.response(200, ConsistencySchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """RFC 9162 consistency proof between two tree sizes (recorded as an
        audit-read)."""
        with current_baton().engine.connect() as conn:
            found = ledger.consistency(conn, args["from_"], args["to"])
        audit_read_log.record(Read("proof", args["to"], grant="proofs", query={
            "proof": "consistency", "from": args["from_"]}))
        return found


@blp.route("/audit/public-key")
class PublicKey(MethodView):
    @blp.response(200, PublicKeySchema)
    def get(self) -> dict[str, Any]:
        """The key that signs checkpoints, as a note verifier key."""
        baton = current_baton()
        return {"origin": baton.origin, "verifier_key": baton.vkey}


@blp.route("/policy")
class CurrentPolicy(MethodView):
    @blp.response(200, PolicySchema)
    def get(self) -> dict[str, Any]:
        """The policy in force, with its version (SHA-256 of its canonical content)."""
        with current_baton().engine.connect() as conn:
            found = policy_versions.current(conn)
        if found is None:
            raise NotFound("no policy has been applied")
        return found


@blp.route("/policy/<string:version>")
class PolicyVersion(MethodView):
    @blp.response(200, PolicySchema)
    def get(self, version: str) -> dict[str, Any]:
        """A policy by version: every audit event names the version that allowed it."""
        with current_baton().engine.connect() as conn:
            found = policy_versions.document(conn, version)
        if found is None:
            raise NotFound(f"no policy version {version!r}")
        return found
