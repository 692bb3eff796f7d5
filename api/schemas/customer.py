"""The customer's side and the debrief pack (README, "The customer's side")."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

from api.schemas.common import (
    ERASABLE,
)
from api.schemas.ownership import SpanSchema
from workflow.field_kinds import MAX_HANDLE


class FeedbackLinkSchema(ma.Schema):
    link = f.String(metadata={"description": "The one-time link to give the customer "
                                             "(absolute, from BATON_PUBLIC_URL)"})
    link_id = f.String()
    expires_at = f.String(metadata={"description": "The end of the follow-up window"})
    seq = f.Integer(metadata={"description": "Ledger seq of the issue-feedback-link event"})


class DebriefPackArgsSchema(ma.Schema):
    format = f.String(load_default="json", validate=v.OneOf(["json", "markdown"]))


class DebriefPackSchema(ma.Schema):
    escalation_id = f.String()
    title = f.String(allow_none=True, metadata={"description": ERASABLE})
    initiated_by = f.String()
    opened_at = f.String()
    repeat_of = f.String(allow_none=True)
    owners = f.List(f.Nested(SpanSchema))
    contributors = f.List(f.String())
    closed_by = f.String(allow_none=True)
    sla = f.Dict(metadata={"description": "Per clock that ran, over all its runs: {outcome: "
                                          "the worst of met|running|met-late|not-kept|"
                                          "breached, late_by_seconds: the most it was "
                                          "met late by (null: never)}"})
    clocks = f.List(f.Dict(), metadata={"description": (
        "Every run of every clock: clock, label, started_at, due, ended_at, ended_by, "
        "outcome (met|met-late|not-kept|breached (still running)|running), margin_seconds "
        "(due minus the end, or minus now while running: negative when late), "
        "breach_recorded_at")})
    debrief = f.Dict(allow_none=True, metadata={"description": (
        "The debrief itself (null before it): at, by, role, root_cause, what_worked, "
        "what_did_not, lessons, actions, erased_fields. " + ERASABLE)})
    durations = f.Dict()
    promises = f.List(f.Dict())
    contacts = f.List(f.Dict())
    grants = f.List(f.Dict())
    confirmations = f.List(f.Dict())
    related = f.List(f.String())
    lessons = f.List(f.String(allow_none=True))
    action_items = f.List(f.Dict())


class ActionItemsArgsSchema(ma.Schema):
    owner = f.String(validate=v.Length(min=1, max=MAX_HANDLE),
                     metadata={"description": "A handle, or `me`"})
    open = f.Boolean(metadata={"description": "true: not completed; false: completed"})


class ActionItemSchema(ma.Schema):
    id = f.String()
    escalation_id = f.String()
    what = f.String(allow_none=True, metadata={"description": ERASABLE})
    owner = f.String(allow_none=True)
    due = f.String(allow_none=True)
    completed_at = f.String(allow_none=True)
    completed_by = f.String(allow_none=True)
    overdue = f.Boolean()


class ActionItemListSchema(ma.Schema):
    items = f.List(f.Nested(ActionItemSchema))
