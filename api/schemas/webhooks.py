"""Webhook subscriptions and the delivery log (README, "Notifications")."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

from audit.reads import delivery_log


class WebhookInSchema(ma.Schema):
    url = f.String(required=True, validate=v.Length(min=1, max=2000),
                   metadata={"description": "https:// (http only with "
                             "BATON_WEBHOOK_ALLOW_INSECURE=1); public addresses only unless "
                             "BATON_WEBHOOK_ALLOW_PRIVATE=1"})
    events = f.List(f.String(validate=v.Length(min=1, max=64)), required=True,
                    validate=v.Length(min=1, max=100),
                    metadata={"description": "escalation.<action, - as _>, or * for all"})
    description = f.String(load_default=None, allow_none=True,
                           validate=v.Length(max=500))


class WebhookSchema(ma.Schema):
    id = f.String()
    url = f.String()
    events = f.List(f.String())
    description = f.String(allow_none=True)
    created_at = f.String()
    created_by = f.String()
    disabled = f.Boolean()
    disabled_at = f.String(allow_none=True)
    disabled_reason = f.String(allow_none=True)
    secret = f.String(metadata={"description": "whsec_…: shown once, when created or "
                                "rotated"})
    previous_secret_valid_for = f.Float(metadata={
        "description": "After a rotation: seconds the old secret still signs beside it"})


class WebhookListSchema(ma.Schema):
    items = f.List(f.Nested(WebhookSchema))


class RotateSecretInSchema(ma.Schema):
    grace_seconds = f.Float(load_default=None, allow_none=True,
                            validate=v.Range(min=0, max=30 * 86400),
                            metadata={"description": "How long the old secret keeps signing "
                                      "(default BATON_WEBHOOK_ROTATION_GRACE, 24 h)"})


class DeliveryAttemptSchema(ma.Schema):
    attempt = f.Integer()
    at = f.String()
    outcome = f.String(metadata={"description": "delivered, failed or cancelled"})
    status_code = f.Integer(allow_none=True)
    duration_ms = f.Float(allow_none=True)
    error = f.String(allow_none=True)


class DeliverySchema(ma.Schema):
    id = f.Integer()
    channel = f.String(metadata={"description": "webhook or email"})
    target = f.String(metadata={"description": "The subscription id (webhook) or the "
                                "recipient's handle (email; never the address)"})
    webhook_id = f.String(metadata={"description": "The webhook-id header it is sent with "
                                    "(a mail's Message-ID is built from it)"})
    seq = f.Integer()
    escalation_id = f.String()
    event_type = f.String()
    status = f.String(metadata={"description": "pending, delivered, failed or cancelled"})
    attempts = f.List(f.Nested(DeliveryAttemptSchema))
    next_attempt_at = f.String(allow_none=True)
    created_at = f.String()
    done_at = f.String(allow_none=True, metadata={
        "description": "When it was delivered, failed for good or cancelled"})


class DeliveryListSchema(ma.Schema):
    items = f.List(f.Nested(DeliverySchema))


class DeliveryQuerySchema(ma.Schema):
    channel = f.String(validate=v.OneOf(delivery_log.CHANNELS),
                       metadata={"description": "Only mail or only webhooks"})
    target = f.String(validate=v.Length(min=1, max=64), metadata={
        "description": "A recipient's handle (email) or a subscription id (webhook)"})
    escalation_id = f.String(validate=v.Length(min=1, max=64))
    status = f.String(validate=v.OneOf(delivery_log.STATUSES))
    limit = f.Integer(load_default=100, validate=v.Range(min=1, max=1000))
