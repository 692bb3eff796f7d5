"""Validation of each action's payload against its catalogue entry and the policy's
templates."""

from __future__ import annotations

from typing import Any

from workflow.amounts import parse_amount
from workflow.catalogue import CATALOGUE
from workflow.errors import PayloadInvalid
from workflow.field_kinds import KINDS, non_blank_text
from workflow.model import Escalation
from workflow.policy import Policy


def check_value(kind: str, value: object, name: str = "") -> str | None:
    """Why a value of a kind that needs no policy is refused, or None: the same check the
    payload validation makes (the API's schemas call it, so the two cannot differ)."""
    found = KINDS[kind]
    if found.needs_policy:
        raise ValueError(f"{kind} values are checked against the policy")
    try:
        found.check(value, None, name)
    except ValueError as exc:
        return str(exc)
    return None


def _one(kind: str, value: object, policy: Policy, name: str = "") -> Any:
    """A value of a field kind, checked and normalised (ValueError: why not)."""
    return KINDS[kind].check(value, policy, name)


def _one_of(kind: str | None, policy: Policy, name: str) -> str:
    """'; one of …' for a field whose kind has a vocabulary (a trigger of the policy)."""
    choices = KINDS[kind].control.choices if kind is not None else None
    return f"; one of {', '.join(choices(policy, name))}" if choices else ""


def clean(action: str, payload: dict[str, Any] | None, policy: Policy) -> dict[str, Any]:
    """The payload, checked and normalised; raises PayloadInvalid with per-field errors."""
    spec = CATALOGUE[action]
    fields = spec.fields
    payload = payload or {}
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for key, value in payload.items():
        if key not in fields:
            errors[key] = "unknown field"
            continue
        if value is None:
            continue
        try:
            out[key] = _one(fields[key], value, policy, key)
        except ValueError as exc:
            errors[key] = str(exc)
    if spec.one_of:
        given = [k for k in spec.one_of if k in payload and payload[k] is not None]
        if len(given) != 1:
            errors.setdefault(spec.one_of[0], f"give exactly one of {' or '.join(spec.one_of)}")
    by_template = policy.templates.get(spec.template, ()) if spec.template else ()
    for key in (*spec.required, *by_template):
        if key not in out and key not in errors:
            errors[key] = "required" + (
                f" by the {spec.template} template" if key in by_template else "") + \
                _one_of(fields.get(key), policy, key)
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
                out[key] = non_blank_text(payload[key])
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
                out[f"customer_{key}"] = non_blank_text(customer[key])
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
