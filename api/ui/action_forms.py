"""An action's HTML form, derived from its catalogue entry (fields, kinds, required
fields and the policy's template), and the payload a posted form makes: the same payload
the API's JSON would carry, so workflow.payload_validation decides the same."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

from workflow.catalogue import CATALOGUE
from workflow.field_kinds import KINDS
from workflow.policy import Policy


@dataclass(frozen=True)
class Field:
    """One control of an action's form (`widget`: its kind's control)."""

    name: str
    kind: str
    label: str
    required: bool
    choices: tuple[str, ...] = ()
    widget: str = "input"


@dataclass(frozen=True)
class ActionForm:
    """An action the viewer may take now, as a form."""

    action: str
    summary: str
    fields: tuple[Field, ...]


_LABELS = {"to": "New owner (handle)", "handle": "Handle", "to_tier": "To tier",
           "what_did_not": "What did not work", "root_cause": "Root cause",
           "what_worked": "What worked", "next_steps": "Next steps",
           "lessons": "Lessons (one per line)",
           "actions": "Action items, one per line as handle: what to do",
           "workaround": "A workaround was given", "grant": "Grant"}


def form(action: str, policy: Policy) -> ActionForm:
    """The form of an action under a policy, each control from its field's kind."""
    spec = CATALOGUE[action]
    by_template = policy.templates.get(spec.template, ()) if spec.template else ()
    required = {*spec.required, *by_template}
    fields = []
    for name, kind in spec.fields.items():
        control = KINDS[kind].control
        if control.widget is None:
            continue
        choices = control.choices(policy, name) if control.choices else ()
        fields.append(Field(name, kind, _LABELS.get(name, name.replace("_", " ").capitalize()),
                            name in required, choices, control.widget))
    return ActionForm(action, spec.summary, tuple(fields))


def payload(action: str, posted: MultiDict[str, str], policy: Policy) -> dict[str, Any]:
    """The JSON payload a posted form stands for; empty optional fields are left out."""
    out: dict[str, Any] = {}
    for name, kind in CATALOGUE[action].fields.items():
        value = KINDS[kind].control.read(lambda key: posted.get(key, ""), name, policy)
        if value is not None:
            out[name] = value
    return out
