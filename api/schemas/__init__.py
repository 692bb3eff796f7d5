"""Request and response schemas (marshmallow), a module per concept; the OpenAPI document
is built from them. Import them from here."""

from __future__ import annotations

from api.schemas.actions import ACTION_SCHEMAS, EXACTLY_ONE, GrantSchema, action_schema
from api.schemas.audit_log import (
    AuditArgsSchema,
    AuditEventsSchema,
    CheckpointSchema,
    ConsistencyArgsSchema,
    ConsistencySchema,
    InclusionArgsSchema,
    InclusionSchema,
    PublicKeySchema,
)
from api.schemas.common import ERASABLE, AmountSchema, text
from api.schemas.customer import (
    ActionItemListSchema,
    ActionItemsArgsSchema,
    ActionItemSchema,
    DebriefPackArgsSchema,
    DebriefPackSchema,
    FeedbackLinkSchema,
)
from api.schemas.escalations import (
    ActionResultSchema,
    AtArgsSchema,
    CustomerInSchema,
    CustomerSchema,
    EscalationCreateSchema,
    EscalationListSchema,
    EscalationSchema,
    EventInfoSchema,
    ListArgsSchema,
    TimelineArgsSchema,
    TimelineSchema,
)
from api.schemas.operations import (
    ErasureInSchema,
    ErasureSchema,
    HealthSchema,
    MetricsArgsSchema,
    MetricsSchema,
    PolicySchema,
)
from api.schemas.ownership import (
    ActorOwnershipSchema,
    OwnerAtSchema,
    OwnershipSchema,
    PeriodArgsSchema,
    SpanSchema,
)
from api.schemas.webhooks import (
    DeliveryAttemptSchema,
    DeliveryListSchema,
    DeliveryQuerySchema,
    DeliverySchema,
    RotateSecretInSchema,
    WebhookInSchema,
    WebhookListSchema,
    WebhookSchema,
)

__all__ = [
    "ACTION_SCHEMAS", "ERASABLE", "EXACTLY_ONE", "ActionItemListSchema", "ActionItemSchema",
    "ActionItemsArgsSchema", "ActionResultSchema", "ActorOwnershipSchema", "AmountSchema",
    "AtArgsSchema", "AuditArgsSchema", "AuditEventsSchema", "CheckpointSchema",
    "ConsistencyArgsSchema", "ConsistencySchema", "CustomerInSchema", "CustomerSchema",
    "DebriefPackArgsSchema", "DebriefPackSchema", "DeliveryAttemptSchema",
    "DeliveryListSchema", "DeliveryQuerySchema", "DeliverySchema", "ErasureInSchema",
    "ErasureSchema", "EscalationCreateSchema", "EscalationListSchema", "EscalationSchema",
    "EventInfoSchema", "FeedbackLinkSchema", "GrantSchema", "HealthSchema",
    "InclusionArgsSchema", "InclusionSchema", "ListArgsSchema", "MetricsArgsSchema",
    "MetricsSchema", "OwnerAtSchema", "OwnershipSchema", "PeriodArgsSchema", "PolicySchema",
    "PublicKeySchema", "RotateSecretInSchema", "SpanSchema", "TimelineArgsSchema",
    "TimelineSchema", "WebhookInSchema", "WebhookListSchema", "WebhookSchema",
    "action_schema", "text",
]
