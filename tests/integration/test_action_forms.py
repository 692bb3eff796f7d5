"""The dashboard's action forms come from the catalogue like the API's schemas: every
kind of field posts a payload the payload validation accepts."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from api.ui.action_forms import form, payload
from workflow import payload_validation
from workflow.catalogue import ACTION_ROUTES, CHOICES
from workflow.policy import Policy

# What a person would type or pick in each form (the fields the test fills).
POSTED = {
    "promise": {"kind": "callback", "within": "2h"},
    "contact-customer": {"channel": "phone", "summary": "called back"},
    "confirm-resolution": {"confirmed": "1", "csat": "5", "comment": "fine now"},
    "debrief": {"what_worked": "a", "what_did_not": "b", "root_cause": "c",
                "lessons": "check first\nthen act", "actions": "alice: fix it\nbob: document it"},
    "escalate": {"reason": "deep", "trigger": "complexity", "to_tier": "2"},
}


@pytest.mark.parametrize("action", ACTION_ROUTES)
def test_every_actions_form_is_derived_from_its_catalogue_entry(
        action: str, policy: Policy) -> None:
    built = form(action, policy)
    for field in built.fields:
        if field.kind == "choice":
            assert field.choices == CHOICES[field.name]
        if field.kind == "rating":
            assert field.choices == ("1", "2", "3", "4", "5")


@pytest.mark.parametrize("action", sorted(POSTED))
def test_a_posted_form_is_a_payload_the_validation_accepts(action: str, policy: Policy) -> None:
    made = payload(action, MultiDict(POSTED[action]), policy)
    cleaned = payload_validation.clean(action, made, policy)
    if action == "confirm-resolution":
        assert cleaned["csat"] == 5 and cleaned["confirmed"] is True
    if action == "debrief":
        assert [item["what"] for item in cleaned["actions"]] == ["fix it", "document it"]
