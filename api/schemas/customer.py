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
    sla = f.Dict(metadata={"description": "Per clock that ran: {outcome: met|breached, "
                                          "late_by_seconds}"})
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
