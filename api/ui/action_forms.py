"""An action's HTML form, derived from its catalogue entry (fields, kinds, required
fields and the policy's template), and the payload a posted form makes: the same payload
the API's JSON would carry, so workflow.payload_validation decides the same."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

from api.form_integers import form_int
from workflow.catalogue import (
    BOOL,
    CATALOGUE,
    CHOICE,
    CHOICES,
    GRANT,
    GRANT_KINDS,
    ITEMS,
    PROMISE,
    RATING,
    TEXTS,
    TIER,
    TRIGGER,
)
from workflow.policy import Policy


@dataclass(frozen=True)
class Field:
    """One control of an action's form."""

    name: str
    kind: str
    label: str
    required: bool
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActionForm:
    """An action the viewer may take now, as a form."""

    action: str
    summary: str
    fields: tuple[Field, ...]


_LABELS = {"to": "New owner (handle)", "handle": "Handle", "to_tier": "To tier",
           "what_did_not": "What did not work", "root_cause": "Root cause",
           "what_worked": "What worked", "next_steps": "Next steps",
           "lessons": "Lessons (one per line)", "actions": "Follow-up actions (one per line)",
           "workaround": "A workaround was given", "grant": "Grant"}


def form(action: str, policy: Policy) -> ActionForm:
    """The form of an action under a policy."""
    spec = CATALOGUE[action]
    by_template = policy.templates.get(spec.template, ()) if spec.template else ()
    required = {*spec.required, *by_template}
    fields = []
    for name, kind in spec.fields.items():
        if kind == PROMISE:
            continue  # a promise with another action: the API's; the page has `promise`
        choices: tuple[str, ...] = ()
        if kind == TIER:
            choices = tuple(str(t.level) for t in policy.tiers if t.level >= 1)
        elif kind == TRIGGER:
            choices = tuple(policy.triggers)
        elif kind == GRANT:
            choices = GRANT_KINDS
        elif kind == CHOICE:
            choices = CHOICES[name]
        elif kind == RATING:
            choices = ("1", "2", "3", "4", "5")
        fields.append(Field(name, kind, _LABELS.get(name, name.replace("_", " ").capitalize()),
                            name in required, choices))
    return ActionForm(action, spec.summary, tuple(fields))


def payload(action: str, posted: MultiDict[str, str], policy: Policy) -> dict[str, Any]:
    """The JSON payload a posted form stands for; empty optional fields are left out."""
    out: dict[str, Any] = {}
    for name, kind in CATALOGUE[action].fields.items():
        if kind == BOOL:
            if posted.get(name):
                out[name] = True
            continue
        if kind == GRANT:
            grant_kind = posted.get(f"{name}_kind", "").strip()
            value = posted.get(f"{name}_amount", "").strip()
            if grant_kind or value:
                out[name] = {"kind": grant_kind,
                             "amount": {"value": value, "currency": policy.currency}}
            continue
        raw = posted.get(name, "").strip()
        if not raw:
            continue
        if kind in (TEXTS, ITEMS):  # one per line (items as plain texts)
            out[name] = [line.strip() for line in raw.splitlines() if line.strip()]
        elif kind in (TIER, RATING):
            number = form_int(raw)
            out[name] = raw if number is None else number
        else:
            out[name] = raw
    return out
