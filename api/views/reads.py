"""Auditors' and operators' reads: actor trails, the audit log, proofs, the policy."""

from __future__ import annotations

import base64
import json
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from api.auth import AUDIT_ROLES, require_roles
from api.container import current as current_baton
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
from audit import ledger, metrics, policies, records, signed_note, trails
from audit.schema import actors
from audit.schema import ledger as ledger_table
from audit.schema import policies as policies_table
from workflow.errors import ActorNotFound
from workflow.model import rfc3339

blp = Blueprint("reads", __name__, url_prefix="/api/v1",
                description="Ownership trails, the audit log, proofs and the policy")



@blp.route("/actors/<string:handle>/ownership")
class ActorOwnership(MethodView):
    @blp.arguments(PeriodArgsSchema(), location="query")
    @blp.response(200, ActorOwnershipSchema)
    def get(self, args: dict[str, Any], handle: str) -> dict[str, Any]:
        """Every span in which this actor owned or covered an escalation, over a period."""
        with current_baton().engine.connect() as conn:
            if conn.execute(select(actors.c.handle).where(actors.c.handle == handle)).first() \
                    is None:
                raise ActorNotFound(handle)
            spans = trails.actor_spans(conn, handle, args.get("since"), args.get("until"))
        return {"handle": handle, "spans": spans}


@blp.route("/metrics/escalations")
class EscalationMetrics(MethodView):
    @blp.arguments(MetricsArgsSchema(), location="query")
    @blp.response(200, MetricsSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Escalation metrics for the escalations opened in [since, until), computed from
        the ledger (so they agree with the timelines), overall or per group."""
        baton = current_baton()
        with baton.engine.connect() as conn:
            return metrics.report(conn, args.get("since"), args.get("until"),
                                  args.get("group_by"), baton.policy(conn).max_tier)


@blp.route("/audit/events")
class AuditEvents(MethodView):
    @blp.arguments(AuditArgsSchema(), location="query")
    @blp.response(200, AuditEventsSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The ledger's events (auditor, admin), with seq, hashes and joined texts."""
        require_roles(AUDIT_ROLES, "reading the audit log")
        t = ledger_table
        query = select(t).order_by(t.c.seq)
        if "escalation" in args:
            query = query.where(t.c.escalation_id == args["escalation"])
        if "actor" in args:
            query = query.where(t.c.actor == args["actor"])
        if "action" in args:
            query = query.where(t.c.action == args["action"])
        if "since" in args:
            query = query.where(t.c.at >= rfc3339(args["since"]))
        if "until" in args:
            query = query.where(t.c.at < rfc3339(args["until"]))
        if "after" in args:
            query = query.where(t.c.seq > args["after"])
        limit = args["limit"]
        with current_baton().engine.connect() as conn:
            rows = conn.execute(query.limit(limit + 1)).all()
            decoded = records.decode(rows[:limit], conn)
        for rec, row in zip(decoded, rows, strict=False):
            rec["leaf_hash"] = bytes(row.leaf_hash).hex()
            rec["chain_hash"] = bytes(row.chain_hash).hex()
            rec["bytes"] = base64.b64encode(row.body).decode()
        next_after = rows[limit - 1].seq if len(rows) > limit else None
        return {"items": decoded, "next_after": next_after}


@blp.route("/audit/checkpoint")
class LatestCheckpoint(MethodView):
    @blp.response(200, CheckpointSchema)
    def get(self) -> dict[str, Any]:
        """The latest signed checkpoint (C2SP signed note)."""
        baton = current_baton()
        with baton.engine.connect() as conn:
            text = ledger.latest_checkpoint(conn)
        cp = signed_note.open_note(text, baton.vkey)
        return {"size": cp.size, "root": base64.b64encode(cp.root).decode(), "note": text}


@blp.route("/audit/proof/inclusion")
class InclusionProof(MethodView):
    @blp.arguments(InclusionArgsSchema(), location="query")
    @blp.response(200, InclusionSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """RFC 9162 inclusion proof of event `seq` in the tree of `size` events."""
        with current_baton().engine.connect() as conn:
            return ledger.inclusion(conn, args["seq"], args["size"])


@blp.route("/audit/proof/consistency")
class ConsistencyProof(MethodView):
    @blp.arguments(ConsistencyArgsSchema(), location="query")
    @blp.response(200, ConsistencySchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """RFC 9162 consistency proof between two tree sizes."""
        with current_baton().engine.connect() as conn:
            return ledger.consistency(conn, args["from_"], args["to"])


@blp.route("/audit/public-key")
class PublicKey(MethodView):
    @blp.response(200, PublicKeySchema)
    def get(self) -> dict[str, Any]:
        """The key that signs checkpoints, as a note verifier key."""
        baton = current_baton()
        return {"origin": baton.origin, "verifier_key": baton.vkey}


def _policy_json(version: str) -> dict[str, Any]:
    with current_baton().engine.connect() as conn:
        found = policies.by_version(conn, version)
    if found is None:
        raise NotFound(f"no policy version {version!r}")
    policy, text, applied_at = found
    return {"version": policy.version, "name": policy.name, "applied_at": applied_at,
            "text": text, "content": json.loads(policy.canonical)}


@blp.route("/policy")
class CurrentPolicy(MethodView):
    @blp.response(200, PolicySchema)
    def get(self) -> dict[str, Any]:
        """The policy in force, with its version (SHA-256 of its canonical content)."""
        with current_baton().engine.connect() as conn:
            version = conn.execute(select(policies_table.c.version).order_by(
                policies_table.c.ordinal.desc()).limit(1)).scalar()
        if version is None:
            raise NotFound("no policy has been applied")
        return _policy_json(version)


@blp.route("/policy/<string:version>")
class PolicyVersion(MethodView):
    @blp.response(200, PolicySchema)
    def get(self, version: str) -> dict[str, Any]:
        """A policy by version: every audit event names the version that allowed it."""
        return _policy_json(version)
