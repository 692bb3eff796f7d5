"""Validation of each action's payload against its shape and the policy's templates."""

from __future__ import annotations

from typing import Any

from workflow.amounts import parse_amount
from workflow.errors import PayloadInvalid
from workflow.model import Escalation
from workflow.policy import Policy

GRANT_KINDS = ("refund", "credit", "goodwill", "policy-exception")
MAX_TEXT = 20_000

# Per action: field -> kind. Kinds: text, handle, tier, bool, texts (list), grant.
FIELDS: dict[str, dict[str, str]] = {
    "acknowledge": {"note": "text"},
    "escalate": {"reason": "text", "trigger": "trigger", "to_tier": "tier"},
    "hand-off": {"to": "handle", "context": "text"},
    "accept-handoff": {"note": "text"},
    "decline-handoff": {"reason": "text"},
    "resolve": {"summary": "text", "grant": "grant", "workaround": "bool"},
    "reopen": {"reason": "text"},
    "debrief": {"what_worked": "text", "what_did_not": "text", "root_cause": "text",
                "lessons": "texts", "actions": "texts"},
    "update": {"note": "text", "next_steps": "text", "workaround": "bool"},
    "reassign": {"to": "handle", "reason": "text"},
    "add-watcher": {"handle": "handle"},
    "add-collaborator": {"handle": "handle", "note": "text"},
    "assign-liaison": {"handle": "handle"},
    "legal-hold": {"reason": "text"},
    "release-hold": {"reason": "text"},
}
ALWAYS_REQUIRED: dict[str, tuple[str, ...]] = {
    "escalate": ("reason", "trigger"),
    "hand-off": ("to", "context"),
    "decline-handoff": ("reason",),
    "reopen": ("reason",),
    "reassign": ("to", "reason"),
    "add-watcher": ("handle",),
    "add-collaborator": ("handle",),
    "assign-liaison": ("handle",),
    "legal-hold": ("reason",),
    "release-hold": ("reason",),
}


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    if len(value) > MAX_TEXT:
        raise ValueError(f"must be at most {MAX_TEXT} characters")
    return value


def _one(kind: str, value: object, policy: Policy) -> Any:
    if kind == "text" or kind == "handle":
        return _text(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if kind == "tier":
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError("must be an integer tier")
        if not 1 <= value <= policy.max_tier:
            raise ValueError(f"tier {value} out of range 1..{policy.max_tier}")
        return value
    if kind == "trigger":
        if value not in policy.triggers:
            raise ValueError(f"unknown trigger; known: {', '.join(policy.triggers)}")
        return value
    if kind == "texts":
        if not isinstance(value, list) or not value:
            raise ValueError("must be a non-empty list of strings")
        return [_text(v) for v in value]
    if kind == "grant":
        if not isinstance(value, dict):
            raise ValueError("a grant is an object {kind, amount}")
        if value.get("kind") not in GRANT_KINDS:
            raise ValueError(f"grant kind must be one of {', '.join(GRANT_KINDS)}")
        extra = set(value) - {"kind", "amount"}
        if extra:
            raise ValueError(f"unknown grant fields: {', '.join(sorted(extra))}")
        amount = parse_amount(value.get("amount"))
        if amount.currency != policy.currency:
            raise ValueError(f"amounts are in {policy.currency}, the policy's currency")
        return {"kind": value["kind"], "amount": amount.to_json()}
    raise AssertionError(kind)  # pragma: no cover


def clean(action: str, payload: dict[str, Any] | None, policy: Policy) -> dict[str, Any]:
    """The payload, checked and normalised; raises PayloadInvalid with per-field errors."""
    spec = FIELDS[action]
    payload = payload or {}
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for key, value in payload.items():
        if key not in spec:
            errors[key] = "unknown field"
            continue
        if value is None:
            continue
        try:
            out[key] = _one(spec[key], value, policy)
        except ValueError as exc:
            errors[key] = str(exc)
    template = "acknowledge" if action == "accept-handoff" else action
    required = (*ALWAYS_REQUIRED.get(action, ()), *policy.templates.get(template, ()))
    if action == "accept-handoff":
        required = ()
    for key in required:
        if key not in out and key not in errors:
            errors[key] = "required" + (
                f" by the {template} template" if key in policy.templates.get(template, ())
                else "")
    if errors:
        raise PayloadInvalid(errors)
    return out


def clean_open(payload: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """The open payload, flattened for the event: customer fields become customer_*."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    allowed = {"title", "description", "category", "severity", "customer", "amount"}
    for key in set(payload) - allowed:
        errors[key] = "unknown field"
    for key in ("title", "description"):
        if payload.get(key) is not None:
            try:
                out[key] = _text(payload[key])
            except ValueError as exc:
                errors[key] = str(exc)
    if "title" not in out and "title" not in errors:
        errors["title"] = "required"
    for key, table in (("category", policy.categories), ("severity", policy.severities)):
        value = payload.get(key)
        if value is None:
            errors[key] = "required"
        elif value not in table:
            errors[key] = f"unknown {key}; known: {', '.join(table)}"
        else:
            out[key] = value
    customer = payload.get("customer")
    if not isinstance(customer, dict):
        errors["customer"] = "required: an object {id, name?, contact?, value?}"
    else:
        for key in set(customer) - {"id", "name", "contact", "value"}:
            errors[f"customer.{key}"] = "unknown field"
        for key in ("id", "name", "contact"):
            if customer.get(key) is None:
                if key == "id":
                    errors["customer.id"] = "required"
                continue
            try:
                out[f"customer_{key}"] = _text(customer[key])
            except ValueError as exc:
                errors[f"customer.{key}"] = str(exc)
        value = customer.get("value") or "standard"
        if value not in policy.customer_values:
            errors["customer.value"] = f"unknown; known: {', '.join(policy.customer_values)}"
        out["customer_value"] = value
    if payload.get("amount") is not None:
        try:
            amount = parse_amount(payload["amount"])
            if amount.currency != policy.currency:
                raise ValueError(f"amounts are in {policy.currency}, the policy's currency")
            out["amount"] = amount.to_json()
        except ValueError as exc:
            errors["amount"] = str(exc)
    if errors:
        raise PayloadInvalid(errors)
    return out


def escalation_target(esc: Escalation, payload: dict[str, Any], policy: Policy) -> int:
    """The tier an escalate goes to: as asked, else the category's path, else one up."""
    asked = payload.get("to_tier")
    if asked is not None:
        if asked <= esc.tier:
            raise PayloadInvalid({"to_tier": f"must be above the current tier {esc.tier}"})
        return int(asked)
    category = policy.categories[esc.category]
    if category.tier > esc.tier:
        return category.tier
    if esc.tier >= policy.max_tier:
        raise PayloadInvalid({"to_tier": f"already at the highest tier {policy.max_tier}"})
    return esc.tier + 1
