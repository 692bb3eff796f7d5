"""Request and response schemas (marshmallow); the OpenAPI document is built from them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

from audit.reads import delivery_log
from audit.reads.escalation_list import CURSOR_PATTERN, SORTS
from workflow import payload_validation
from workflow.catalogue import (
    ACTION_ROUTES,
    BOOL,
    CATALOGUE,
    CHOICE,
    CHOICES,
    DURATION,
    DURATION_PATTERN,
    FIELD_DOCS,
    GRANT,
    GRANT_KINDS,
    HANDLE,
    ITEMS,
    MAX_HANDLE,
    MAX_ITEMS,
    MAX_REF,
    MAX_TEXT,
    MAX_TIER,
    MOMENT,
    PROMISE,
    RATING,
    REF,
    TEXT,
    TEXTS,
    TIER,
    TRIGGER,
    ActionSpec,
)
from workflow.lifecycle import ACTIONS

DECIMAL = v.Regexp(r"^[0-9]{1,15}(\.[0-9]{1,4})?$", error="a decimal string such as \"1200.00\"")
CURRENCY = v.Regexp(r"^[A-Z]{3}$", error="a three-letter currency code such as USD")
TEXT_LENGTH = v.Length(min=1, max=MAX_TEXT)
# Text holds at least one character other than white space, and no NUL.
NON_BLANK = v.Regexp(r"^[^\x00]*[^\s\x00][^\x00]*$", error="must be a non-empty string")
HANDLE_LENGTH = v.Length(min=1, max=MAX_HANDLE)
INT64_MAX = 2**63 - 1
ERASABLE = ("Personal or free text: kept out of the hashed ledger bytes (which hold a salted "
            "commitment) and erasable; null once erased.")


def text(required: bool = False, erasable: bool = True, **kw: object) -> f.String:
    meta = {"description": ERASABLE} if erasable else {}
    return f.String(required=required, validate=[TEXT_LENGTH, NON_BLANK], metadata=meta,
                    **kw)  # type: ignore[arg-type]


class AmountSchema(ma.Schema):
    value = f.String(required=True, validate=DECIMAL)
    currency = f.String(required=True, validate=CURRENCY, metadata={"x-policy": "currency"})


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
    allowed_actions = f.List(f.String(metadata={"enum": list(ACTIONS)}), metadata={
        "description": "Actions the caller may take now"})


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


class GrantSchema(ma.Schema):
    kind = f.String(required=True, validate=v.OneOf(GRANT_KINDS))
    amount = f.Nested(AmountSchema, required=True)


def _payload_field(name: str, kind: str, required: bool) -> f.Field:
    """The marshmallow field of one catalogue field kind, with the catalogue's limits."""
    meta = {"description": FIELD_DOCS[name]} if name in FIELD_DOCS else {}
    if kind == TEXT:
        return text(required=required)
    if kind == TEXTS:
        return f.List(f.String(validate=[TEXT_LENGTH, NON_BLANK]), required=required,
                      validate=v.Length(min=1, max=MAX_ITEMS),
                      metadata={"description": ERASABLE})
    if kind == HANDLE:
        return f.String(required=required, validate=[HANDLE_LENGTH, NON_BLANK], metadata=meta)
    if kind == TRIGGER:
        return f.String(required=required, metadata=meta)
    if kind == TIER:
        return f.Integer(required=required, validate=v.Range(min=1, max=MAX_TIER),
                         metadata=meta)
    if kind == BOOL:
        return f.Boolean(required=required, metadata=meta)
    if kind == GRANT:
        return f.Nested(GrantSchema, required=required)
    if kind == CHOICE:
        return f.String(required=required, validate=v.OneOf(CHOICES[name]), metadata=meta)
    if kind == MOMENT:
        return f.String(required=required, validate=_checked(kind, name),
                        metadata={**meta, "format": "date-time"})
    if kind == DURATION:
        return f.String(required=required, validate=[
            v.Regexp(DURATION_PATTERN, error="a duration such as 90s, 10m, 2h or 1h30m"),
            _checked(kind, name)], metadata={**meta, "minLength": 2})
    if kind == RATING:
        return f.Integer(required=required, validate=v.Range(min=1, max=5), metadata=meta)
    if kind == REF:
        return f.String(required=required, validate=[v.Length(min=1, max=MAX_REF), NON_BLANK],
                        metadata=meta)
    if kind == PROMISE:
        return f.Raw(required=required, validate=_checked(kind, name), metadata={
            **PROMISE_DOC, "description": FIELD_DOCS.get(name, "")})
    if kind == ITEMS:
        return f.Raw(required=required, validate=_checked(kind, name), metadata={
            **ITEMS_DOC, "description": f"{FIELD_DOCS.get(name, '')}. {ERASABLE}"})
    raise ValueError(f"no schema for field kind {kind!r}")


# The JSON Schema of the kinds checked by the payload validation itself (f.Raw fields).
_TEXT_DOC = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT,
             "pattern": NON_BLANK.regex.pattern}
PROMISE_DOC = {
    "type": "object", "additionalProperties": False, "required": ["kind"],
    "properties": {
        "kind": {"type": "string", "enum": list(CHOICES["kind"])},
        "by": {"type": "string", "format": "date-time"},
        "within": {"type": "string", "pattern": DURATION_PATTERN, "minLength": 2}},
    "oneOf": [{"required": ["by"]}, {"required": ["within"]}]}
ITEMS_DOC = {
    "type": "array", "minItems": 1, "maxItems": MAX_ITEMS,
    "items": {"oneOf": [_TEXT_DOC, {
        "type": "object", "additionalProperties": False, "required": ["what"],
        "properties": {
            "what": _TEXT_DOC,
            "owner": {**_TEXT_DOC, "maxLength": MAX_HANDLE},
            "due": {"type": "string", "anyOf": [{"format": "date"},
                                                {"format": "date-time"}]}}}]}}


def _checked(kind: str, name: str) -> Callable[[object], None]:
    """A marshmallow validator that runs the payload validation's own check."""
    def validate(value: object) -> None:
        problem = payload_validation.check_value(kind, value, name)
        if problem is not None:
            raise ma.ValidationError(problem)
    return validate


def action_schema(spec: ActionSpec) -> type[ma.Schema]:
    """The request schema of one action, generated from its catalogue entry."""
    name = "".join(part.capitalize() for part in spec.name.split("-")) + "Schema"
    attrs: dict[str, Any] = {key: _payload_field(key, kind, key in spec.required)
                             for key, kind in spec.fields.items()}
    if spec.one_of:
        one_of = spec.one_of

        @ma.validates_schema(skip_on_field_errors=False)
        def exactly_one(self: ma.Schema, data: dict[str, Any], **_kw: Any) -> None:
            if len([k for k in one_of if data.get(k) is not None]) != 1:
                raise ma.ValidationError(f"give exactly one of {' or '.join(one_of)}",
                                         one_of[0])

        attrs["exactly_one"] = exactly_one
    schema: type[ma.Schema] = type(name, (ma.Schema,), attrs)
    schema.__doc__ = spec.summary
    return schema


# One schema per action served at …/actions/{action}: the OpenAPI document shows each.
ACTION_SCHEMAS: dict[str, type[ma.Schema]] = {
    name: action_schema(CATALOGUE[name]) for name in ACTION_ROUTES}
# The schemas (by their OpenAPI component name) that take exactly one of some fields.
EXACTLY_ONE: dict[str, tuple[str, ...]] = {
    schema.__name__.removesuffix("Schema"): CATALOGUE[name].one_of
    for name, schema in ACTION_SCHEMAS.items() if CATALOGUE[name].one_of}


class TimelineArgsSchema(ma.Schema):
    format = f.String(load_default="json", validate=v.OneOf(["json", "csv", "markdown"]))


class AtArgsSchema(ma.Schema):
    at = f.AwareDateTime(format="iso", default_timezone=None)


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


class TimelineSchema(ma.Schema):
    escalation_id = f.String()
    title = f.String(allow_none=True)
    events = f.List(f.Dict())
    milestones = f.Dict()
    durations = f.Dict()
    handoffs = f.List(f.Dict())
    breaches = f.List(f.Dict())
    ownership = f.List(f.Nested(SpanSchema))


class AuditArgsSchema(ma.Schema):
    escalation = f.String()
    actor = f.String()
    action = f.String()
    since = f.AwareDateTime(format="iso")
    until = f.AwareDateTime(format="iso")
    after = f.Integer(validate=v.Range(min=-1, max=INT64_MAX), metadata={
        "description": "Return events with seq greater than this"})
    limit = f.Integer(load_default=100, validate=v.Range(min=1, max=1000))


class AuditEventsSchema(ma.Schema):
    items = f.List(f.Dict())
    next_after = f.Integer(allow_none=True)


def _old_b64(name: str) -> dict[str, object]:
    """OpenAPI metadata of a hash still served in base64 beside its hex replacement."""
    return {"deprecated": True, "description": f"Deprecated: base64 of the hash; use "
                                              f"{name}_hex (hashes are hex in JSON)"}


HEX_HASH = {"description": "SHA-256 hash, lowercase hex"}


class CheckpointSchema(ma.Schema):
    size = f.Integer()
    root = f.String(metadata=_old_b64("root"))
    root_hex = f.String(metadata=HEX_HASH)
    note = f.String(metadata={"description": "C2SP signed note (tlog-checkpoint)"})


class InclusionArgsSchema(ma.Schema):
    seq = f.Integer(required=True, validate=v.Range(min=0, max=INT64_MAX))
    size = f.Integer(required=True, validate=v.Range(min=1, max=INT64_MAX))


class ConsistencyArgsSchema(ma.Schema):
    from_ = f.Integer(required=True, data_key="from", validate=v.Range(min=1, max=INT64_MAX))
    to = f.Integer(required=True, validate=v.Range(min=1, max=INT64_MAX))


class InclusionSchema(ma.Schema):
    seq = f.Integer()
    size = f.Integer()
    leaf_hash = f.String(metadata=_old_b64("leaf_hash"))
    root = f.String(metadata=_old_b64("root"))
    proof = f.List(f.String(), metadata=_old_b64("proof"))
    leaf_hash_hex = f.String(metadata=HEX_HASH)
    root_hex = f.String(metadata=HEX_HASH)
    proof_hex = f.List(f.String(), metadata=HEX_HASH)


class ConsistencySchema(ma.Schema):
    from_ = f.Integer(data_key="from", attribute="from")
    to = f.Integer()
    from_root = f.String(metadata=_old_b64("from_root"))
    to_root = f.String(metadata=_old_b64("to_root"))
    proof = f.List(f.String(), metadata=_old_b64("proof"))
    from_root_hex = f.String(metadata=HEX_HASH)
    to_root_hex = f.String(metadata=HEX_HASH)
    proof_hex = f.List(f.String(), metadata=HEX_HASH)


class PublicKeySchema(ma.Schema):
    origin = f.String()
    verifier_key = f.String(metadata={"description": "NAME+KEYID+BASE64(0x01||Ed25519 key)"})


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


# --- webhooks (README, "Notifications") ----------------------------------------------

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


# --- the customer's side and the debrief pack (README, "The customer's side") ---------

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

