"""Ownership trails: spans, who owned it at a moment, an actor's spans over a period."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v


class PeriodArgsSchema(ma.Schema):
    """An actor's spans over a period of at most 92 days (audit.reads.report_period)."""

    since = f.AwareDateTime(format="iso", metadata={
        "description": "Inclusive; defaults to 92 days before until"})
    until = f.AwareDateTime(format="iso", metadata={
        "description": "Exclusive; defaults to now; at most 92 days after since"})
    limit = f.Integer(load_default=200, validate=v.Range(min=1, max=1000),
                      metadata={"description": "Spans per page"})
    cursor = f.String(validate=v.Length(min=1, max=400), metadata={
        "description": "next_cursor of the previous page"})


class SpanSchema(ma.Schema):
    escalation_id = f.String()
    owner = f.String()
    kind = f.String(metadata={"description": "owner or acting (temporary cover)"})
    began = f.String()
    began_by = f.String()
    began_rule = f.String()
    began_seq = f.Integer()
    ended = f.String(allow_none=True)
    ended_by = f.String(allow_none=True)
    ended_rule = f.String(allow_none=True)
    ended_seq = f.Integer(allow_none=True)
    duration_seconds = f.Float(allow_none=True)
    from_ = f.String(data_key="from", attribute="from")
    to = f.String(allow_none=True)


class OwnerAtSchema(ma.Schema):
    at = f.String()
    existed = f.Boolean(metadata={
        "description": "false: the escalation did not exist yet at `at` (it was opened at "
                       "`opened_at`), so nobody owned it"})
    opened_at = f.String(metadata={"description": "When the escalation was opened"})
    owner = f.String(allow_none=True)
    acting_owner = f.String(allow_none=True)
    owner_span = f.Nested(SpanSchema, allow_none=True)
    acting_span = f.Nested(SpanSchema, allow_none=True)


class OwnershipSchema(ma.Schema):
    escalation_id = f.String()
    spans = f.List(f.Nested(SpanSchema))
    at = f.Nested(OwnerAtSchema, allow_none=True)


class ActorOwnershipSchema(ma.Schema):
    handle = f.String()
    since = f.String(metadata={"description": "The period's start, as used"})
    until = f.String(allow_none=True, metadata={
        "description": "The period's end, as used (null: up to now)"})
    spans = f.List(f.Nested(SpanSchema), metadata={
        "description": "Ordered by start, then escalation id"})
    next_cursor = f.String(allow_none=True, metadata={
        "description": "The next page's cursor; null on the last page"})
