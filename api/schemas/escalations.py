"""An escalation: opening one, as shown, listed, acted on, its timeline."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

from api.schemas.common import (
    ERASABLE,
    AmountSchema,
    text,
)
from api.schemas.ownership import SpanSchema
from audit.reads.escalation_list import CURSOR_PATTERN, SORTS
from workflow.catalogue import ACTION_ROUTES, CATALOGUE
from workflow.field_kinds import MAX_TIER


class CustomerInSchema(ma.Schema):
    id = f.String(required=True, validate=v.Length(min=1, max=200),
                  metadata={"description": "Your identifier for the customer; kept forever "
                            "(not personal by itself): erasure is requested by it"})
    name = text()
    contact = text()
    value = f.String(metadata={"description": "Customer value from the policy",
                               "x-policy": "customer_values"})


class EscalationCreateSchema(ma.Schema):
    title = text(required=True)
    description = text()
    category = f.String(required=True, validate=v.Length(min=1, max=64),
                        metadata={"x-policy": "categories"})
    severity = f.String(required=True, validate=v.Length(min=1, max=64),
                        metadata={"x-policy": "severities"})
    customer = f.Nested(CustomerInSchema, required=True)
    amount = f.Nested(AmountSchema)


class SlaSchema(ma.Schema):
    acknowledge_by = f.String(allow_none=True)
    next_update_by = f.String(allow_none=True)
    resolve_by = f.String(allow_none=True)
    follow_up_by = f.String(allow_none=True, metadata={
        "description": "Until when the customer may confirm the resolution"})
    promises = f.List(f.Dict(), metadata={
        "description": "Promises to the customer: {id, kind, due, kept_at, breached}"})
    handoff_answer_by = f.String(allow_none=True, metadata={
        "description": "When a pending hand-off must be accepted or declined"})
    breached = f.List(f.String())
    at_risk = f.List(f.String(), metadata={
        "description": "Running clocks past a warning threshold, not yet past their deadline"})


class CustomerSchema(ma.Schema):
    id = f.String()
    name = f.String(allow_none=True, metadata={"description": ERASABLE})
    contact = f.String(allow_none=True, metadata={"description": ERASABLE})
    value = f.String()


class ErasedSchema(ma.Schema):
    at = f.String(allow_none=True)
    by = f.String(allow_none=True)
    erasure_seq = f.Integer(allow_none=True)


class PendingHandoffSchema(ma.Schema):
    to = f.String(metadata={"description": "The proposed owner"})
    by = f.String(metadata={"description": "Who proposed it (the owner, accountable until "
                                           "it is accepted)"})
    at = f.String()
    context = f.String(allow_none=True, metadata={"description": ERASABLE})
    seq = f.Integer(metadata={"description": "Ledger seq of the hand-off event"})


class OperationSchema(ma.Schema):
    """An action served on a route of its own, and that route."""

    action = f.String(metadata={"enum": [s.name for s in CATALOGUE.values() if s.own_route]})
    method = f.String(metadata={"enum": ["POST"]})
    href = f.String(metadata={"description": "The route, under this server"})


class EscalationSchema(ma.Schema):
    id = f.String()
    title = f.String(allow_none=True, metadata={"description": ERASABLE})
    description = f.String(allow_none=True, metadata={"description": ERASABLE})
    category = f.String()
    severity = f.String()
    customer = f.Nested(CustomerSchema)
    amount = f.Nested(AmountSchema, allow_none=True)
    state = f.String()
    tier = f.Integer()
    team = f.String()
    owner = f.String(allow_none=True)
    acting_owner = f.String(allow_none=True)
    governor = f.String()
    proposed_owner = f.String(allow_none=True)
    watchers = f.List(f.String())
    collaborators = f.List(f.String())
    liaison = f.String(allow_none=True)
    legal_hold = f.Boolean()
    reopen_count = f.Integer()
    version = f.Integer()
    created_at = f.String()
    updated_at = f.String()
    sla = f.Nested(SlaSchema)
    repeat_of = f.String(allow_none=True, metadata={
        "description": "The customer's escalation this one repeats (opened within the "
                       "policy's repeat_window after it was resolved)"})
    related = f.List(f.String(), metadata={
        "description": "The customer's other escalations (the newest 50), oldest first"})
    confirmed = f.Boolean(allow_none=True, metadata={
        "description": "The customer's confirmation of the resolution (null: none yet)"})
    action_items = f.Dict(keys=f.String(), values=f.Dict(), metadata={
        "description": "The debrief's action items: {id: {owner, due, completed_at}}"})
    handoff = f.Nested(PendingHandoffSchema, allow_none=True, metadata={
        "description": "The pending hand-off, while the state is handed-off"})
    erased = f.Dict(keys=f.String(), values=f.Nested(ErasedSchema),
                    metadata={"description": "Fields erased, with when and by whom"})
    allowed_actions = f.List(f.String(metadata={"enum": list(ACTION_ROUTES)}), metadata={
        "description": "Actions the caller may take now at POST "
                       "/api/v1/escalations/{id}/actions/{action}"})
    allowed_operations = f.List(f.Nested(OperationSchema), metadata={
        "description": "What else the caller may do to it now, each on a route of its own "
                       "(issue-feedback-link: POST …/feedback-link)"})


class EscalationListSchema(ma.Schema):
    items = f.List(f.Nested(EscalationSchema))
    next_cursor = f.String(allow_none=True)


class ListArgsSchema(ma.Schema):
    state = f.String(metadata={"description": "A state of the lifecycle",
                               "x-policy": "states"})
    tier = f.Integer(validate=v.Range(min=0, max=MAX_TIER), metadata={"x-policy": "tiers"})
    owner = f.String(metadata={"description": "A handle, or `me` for the caller"})
    team = f.String(metadata={"x-policy": "teams"})
    category = f.String(metadata={"x-policy": "categories"})
    severity = f.String(metadata={"x-policy": "severities"})
    customer = f.String()
    breached = f.Boolean()
    q = f.String(validate=v.Length(min=1, max=200), metadata={
        "description": "Words that must all appear (each as a prefix) in the customer id, "
                       "title, description or customer name; erased text never matches"})
    proposed_owner = f.String(metadata={
        "description": "A pending hand-off's proposed owner: a handle, or `me`"})
    handoff = f.String(validate=v.OneOf(["pending", "none"]), metadata={
        "description": "pending: waiting on a hand-off; none: not"})
    limit = f.Integer(load_default=50, validate=v.Range(min=1, max=200))
    cursor = f.String(validate=v.Regexp(CURSOR_PATTERN, error="not a cursor from this API"),
                      metadata={"description": "next_cursor of the previous page"})
    sort = f.String(load_default="opened", validate=v.OneOf(SORTS), metadata={
        "description": "opened: oldest first; next_due: soonest running deadline first"})


class EventInfoSchema(ma.Schema):
    action = f.String()
    actor = f.String()
    role = f.String()
    rule = f.String()
    at = f.String()
    policy_version = f.String()


class ActionResultSchema(ma.Schema):
    seq = f.Integer(metadata={"description": "Ledger seq of the event written"})
    event = f.Nested(EventInfoSchema)
    escalation = f.Nested(EscalationSchema)




class TimelineArgsSchema(ma.Schema):
    format = f.String(load_default="json", validate=v.OneOf(["json", "csv", "markdown"]))


class AtArgsSchema(ma.Schema):
    at = f.AwareDateTime(format="iso", default_timezone=None)



class TimelineSchema(ma.Schema):
    escalation_id = f.String()
    title = f.String(allow_none=True)
    events = f.List(f.Dict())
    milestones = f.Dict()
    durations = f.Dict()
    handoffs = f.List(f.Dict())
    breaches = f.List(f.Dict())
    ownership = f.List(f.Nested(SpanSchema))
