"""Operations: the policy, health, erasure and metrics."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v


class PolicySchema(ma.Schema):
    version = f.String()
    name = f.String()
    applied_at = f.String()
    text = f.String(metadata={"description": "The TOML as applied"})
    content = f.Dict(metadata={"description": "The canonical content the version hashes"})


class HealthSchema(ma.Schema):
    status = f.String()
    database = f.String()


class ErasureInSchema(ma.Schema):
    customer_id = f.String(required=True, validate=v.Length(min=1, max=200))


class ErasureSchema(ma.Schema):
    customer_id = f.String()
    events = f.Dict(keys=f.String(), values=f.Integer(),
                    metadata={"description": "escalation id -> seq of its content-erased event"})
    # "fields" would shadow Schema.fields (the schema's own field map) as an attribute.
    fields_erased = f.Integer(data_key="fields")
    held = f.List(f.String(), metadata={"description": "Escalations under legal hold, kept"})


class MetricsArgsSchema(ma.Schema):
    """Escalations opened over a period of at most 92 days holding at most 10,000 of them
    (audit.reads.report_period)."""

    since = f.AwareDateTime(format="iso", metadata={
        "description": "Opened at or after; defaults to 92 days before until"})
    until = f.AwareDateTime(format="iso", metadata={
        "description": "Opened before; defaults to now; at most 92 days after since"})
    group_by = f.String(validate=v.OneOf(["team", "role", "category", "severity", "tier"]),
                        metadata={"description": "team: where the escalation is now; role: "
                                  "the role of its first responder; tier: the highest "
                                  "tier it reached"})


class MetricsSchema(ma.Schema):
    since = f.String(allow_none=True, metadata={"description": "The period's start, as used"})
    until = f.String(allow_none=True, metadata={
        "description": "The period's end, as used (null: up to now)"})
    group_by = f.String(allow_none=True)
    units = f.Dict(keys=f.String(), values=f.String(), metadata={
        "description": "The unit of each duration figure (seconds)"})
    groups = f.List(f.Dict(), metadata={
        "description": "Per group: opened, time_to_first_response / time_to_containment / "
                       "time_to_resolution / time_to_handoff_acceptance {p50, p90, n} in "
                       "seconds, time_per_tier (mean seconds), sla_compliance per clock, "
                       "breaches, ownership_changes_per_escalation, handoffs, reopen_rate, "
                       "escalation_rate_per_tier; the customer's side: csat {mean, "
                       "distribution, responses, response_rate}, promises, promise_kept_rate, "
                       "follow_up_compliance, repeat_rate, debrief_actions {open, overdue, "
                       "done}"})
