"""Validation of each action's payload against its catalogue entry and the policy's
templates."""

from __future__ import annotations

import re
from typing import Any

from workflow.amounts import parse_amount
from workflow.catalogue import (
    BOOL,
    CATALOGUE,
    CHOICE,
    CHOICES,
    DURATION,
    DURATION_PATTERN,
    GRANT,
    GRANT_KINDS,
    HANDLE,
    ITEMS,
    MAX_HANDLE,
    MAX_ITEMS,
    MAX_REF,
    MAX_TEXT,
    MOMENT,
    PROMISE,
    RATING,
    REF,
    TEXT,
    TEXTS,
    TIER,
    TRIGGER,
)
from workflow.errors import PayloadInvalid
from workflow.model import Escalation
from workflow.policy import Policy
from workflow.policy_loader import parse_duration
from workflow.timestamps import parse_rfc3339, rfc3339


def _text(value: object, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    if len(value) > limit:
        raise ValueError(f"must be at most {limit} characters")
    return value


def _item(value: object, policy: Policy) -> dict[str, Any]:
    """A debrief action item: a text, or {what, owner?, due?} (due: a date or a time)."""
    if isinstance(value, str):
        return {"what": _text(value), "owner": None, "due": None}
    if not isinstance(value, dict):
        raise ValueError("each item is a text or an object {what, owner?, due?}")
    extra = set(value) - {"what", "owner", "due"}
    if extra:
        raise ValueError(f"unknown item fields: {', '.join(sorted(extra))}")
    due = value.get("due")
    if due is not None:
        if not isinstance(due, str):
            raise ValueError("an item's due is a date (2026-03-31) or an RFC 3339 time")
        try:
            moment = parse_rfc3339(due if "T" in due else f"{due}T23:59:59Z")
        except ValueError:
            raise ValueError("an item's due is a date (2026-03-31) or an RFC 3339 "
                             "time") from None
        if moment.tzinfo is None:
            raise ValueError("an item's due time must give its offset")
        due = rfc3339(moment)
    owner = value.get("owner")
    return {"what": _text(value.get("what")),
            "owner": _text(owner, MAX_HANDLE) if owner is not None else None, "due": due}


POLICY_FREE = (MOMENT, DURATION, ITEMS, PROMISE)


def check_value(kind: str, value: object, name: str = "") -> str | None:
    """Why a value of a kind that needs no policy is refused, or None: the same check the
    payload validation makes (the API's schemas call it, so the two cannot differ)."""
    if kind not in POLICY_FREE:
        raise ValueError(f"{kind} values are checked against the policy")
    try:
        _one(kind, value, None, name)  # type: ignore[arg-type]
    except ValueError as exc:
        return str(exc)
    return None


def _one(kind: str, value: object, policy: Policy, name: str = "") -> Any:
    if kind == TEXT:
        return _text(value)
    if kind == HANDLE:
        return _text(value, MAX_HANDLE)
    if kind == BOOL:
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if kind == TIER:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError("must be an integer tier")
        if not 1 <= value <= policy.max_tier:
            raise ValueError(f"tier {value} out of range 1..{policy.max_tier}")
        return value
    if kind == TRIGGER:
        if value not in policy.triggers:
            raise ValueError(f"unknown trigger; known: {', '.join(policy.triggers)}")
        return value
    if kind == TEXTS:
        if not isinstance(value, list) or not value:
            raise ValueError("must be a non-empty list of strings")
        if len(value) > MAX_ITEMS:
            raise ValueError(f"must hold at most {MAX_ITEMS} items")
        return [_text(v) for v in value]
    if kind == CHOICE:
        options = CHOICES[name]
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return value
    if kind == MOMENT:
        if not isinstance(value, str):
            raise ValueError("must be an RFC 3339 time, e.g. 2026-03-02T14:00:00Z")
        try:
            moment = parse_rfc3339(value)
        except ValueError:
            raise ValueError("must be an RFC 3339 time, e.g. 2026-03-02T14:00:00Z") from None
        if moment.tzinfo is None:
            raise ValueError("must give its offset, e.g. 2026-03-02T14:00:00Z")
        return rfc3339(moment)
    if kind == DURATION:
        if not isinstance(value, str) or not value or not re.fullmatch(DURATION_PATTERN, value):
            raise ValueError("must be a duration such as 90s, 10m, 2h, 1d or 1h30m")
        return parse_duration(value)
    if kind == RATING:
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
            raise ValueError("must be a whole number from 1 to 5")
        return value
    if kind == REF:
        return _text(value, MAX_REF)
    if kind == PROMISE:
        if not isinstance(value, dict):
            raise ValueError("a promise is an object {kind, by | within}")
        extra = set(value) - {"kind", "by", "within"}
        if extra:
            raise ValueError(f"unknown promise fields: {', '.join(sorted(extra))}")
        given = [k for k in ("by", "within") if value.get(k) is not None]
        if len(given) != 1:
            raise ValueError("a promise gives exactly one of by or within")
        made = {"kind": _one(CHOICE, value.get("kind"), policy, "kind")}
        made[given[0]] = _one(MOMENT if given[0] == "by" else DURATION, value[given[0]],
                              policy, given[0])
        return made
    if kind == ITEMS:
        if not isinstance(value, list) or not value:
            raise ValueError("must be a non-empty list of items")
        if len(value) > MAX_ITEMS:
            raise ValueError(f"must hold at most {MAX_ITEMS} items")
        return [_item(v, policy) for v in value]
    if kind == GRANT:
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
                f" by the {spec.template} template" if key in by_template else "")
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
