"""The action catalogue is the one source: the API's schemas, the payload validation,
the lifecycle, authority's owner-only set and the OpenAPI document all agree with it."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import marshmallow as ma
import pytest

from api.representation import _ATTRIBUTES, _COMPUTED, _SHAPE
from api.schemas import ACTION_SCHEMAS, EscalationSchema, action_schema
from tests.initialised_app import make_client
from workflow import payload_validation
from workflow.catalogue import (
    ACTION_ROUTES,
    BOOL,
    BY_OWNER,
    CATALOGUE,
    CHOICE,
    CHOICES,
    DURATION,
    GRANT,
    HANDLE,
    ITEMS,
    MAX_HANDLE,
    MAX_ITEMS,
    MAX_REF,
    MAX_TEXT,
    MOMENT,
    OWNER_ACTIONS,
    PERSONAL_FIELDS,
    PROMISE,
    RATING,
    REF,
    REQUESTABLE,
    TEXT,
    TEXTS,
    TIER,
    TRIGGER,
    ActionSpec,
)
from workflow.errors import PayloadInvalid
from workflow.field_kinds import KINDS
from workflow.lifecycle import ACTIONS, lifecycle
from workflow.model import Escalation
from workflow.policy import Policy

# A valid value of each field kind under the default policy, and values just beyond the
# catalogue's limits that both the schema and the validation must refuse.
VALID: dict[str, Any] = {
    TEXT: "x" * MAX_TEXT, TEXTS: ["x"] * MAX_ITEMS, HANDLE: "h" * MAX_HANDLE, TIER: 2,
    TRIGGER: "authority", BOOL: True,
    GRANT: {"kind": "refund", "amount": {"value": "10.00", "currency": "USD"}},
    MOMENT: "2099-01-01T10:00:00+01:00", DURATION: "1h30m", RATING: 5, REF: "r" * MAX_REF,
    ITEMS: [{"what": "x", "owner": "h"},
            {"what": "y", "owner": "h" * MAX_HANDLE, "due": "2099-01-31"}] * 50,
    PROMISE: {"kind": "callback", "within": "2h"},
}
# A choice field's valid value is its first choice.
CHOICE_VALUE = {name: options[0] for name, options in CHOICES.items()}
BEYOND: dict[str, list[Any]] = {
    TEXT: ["x" * (MAX_TEXT + 1), "", 5], TEXTS: [[], ["x"] * (MAX_ITEMS + 1), [""], "x"],
    HANDLE: ["h" * (MAX_HANDLE + 1), ""], TIER: ["two", 0],
    MOMENT: ["yesterday", "2099-01-01T10:00:00", 7], DURATION: ["soon", "", 5],
    RATING: [0, 6, "five", True], REF: ["r" * (MAX_REF + 1), ""],
    ITEMS: [[], ["x"] * (MAX_ITEMS + 1), [{"what": "y", "due": "someday"}],
            [{"what": "y", "colour": "red"}], "x", ["x"], [{"what": "y"}]],
    CHOICE: ["maybe", 3],
    PROMISE: [{"kind": "callback"}, {"kind": "hug", "within": "1h"}, "soon",
              {"kind": "update", "within": "1h", "by": "2099-01-01T00:00:00Z"}],
    BOOL: ["maybe", 5], GRANT: [{"kind": "bribe", "amount": {"value": "1", "currency": "USD"}},
                           {"kind": "refund"}],
}


def _schema_errors(spec: ActionSpec, body: dict[str, Any]) -> set[str]:
    try:
        action_schema(spec)().load(body)
    except ma.ValidationError as exc:
        return set(exc.messages)  # type: ignore[arg-type]
    return set()


def _validation_errors(spec: ActionSpec, body: dict[str, Any], policy: Policy) -> set[str]:
    try:
        payload_validation.clean(spec.name, body, policy)
    except PayloadInvalid as exc:
        return {k for k, v in exc.errors.items() if "template" not in v}
    return set()


def _valid(spec: ActionSpec, key: str, kind: str) -> Any:
    return CHOICE_VALUE[key] if kind == CHOICE else VALID[kind]


@pytest.mark.parametrize("name", ACTION_ROUTES)
def test_schema_and_validation_agree_on_fields_required_and_limits(
        name: str, policy: Policy) -> None:
    spec = CATALOGUE[name]
    schema = ACTION_SCHEMAS[name]()
    assert set(schema.fields) == set(spec.fields)
    assert {k for k, fld in schema.fields.items() if fld.required} == set(spec.required)
    # Nothing given: both refuse exactly the always-required fields (templates aside).
    required = set(spec.required) | set(spec.one_of[:1])
    # A missing trigger is the payload validation's to say: it names the policy's.
    by_policy = {k for k in required if KINDS[spec.fields[k]].needs_policy
                 and KINDS[spec.fields[k]].wire.type == "string"}
    assert _schema_errors(spec, {}) == required - by_policy
    assert _validation_errors(spec, {}, policy) == required
    # Every field at its limit (and one of each one-of): both accept.
    full = {k: _valid(spec, k, kind) for k, kind in spec.fields.items()
            if k not in spec.one_of[1:]}
    assert _schema_errors(spec, full) == set()
    assert _validation_errors(spec, full, policy) == set()
    # Each field just beyond its limit: both refuse that field.
    for key, kind in spec.fields.items():
        for bad in BEYOND.get(kind, []):
            body = {**full, key: bad}
            assert key in _schema_errors(spec, body), (key, bad)
            assert key in _validation_errors(spec, body, policy), (key, bad)
    # A field the catalogue does not name: both refuse it.
    assert "surprise" in _schema_errors(spec, {**full, "surprise": 1})
    assert "surprise" in _validation_errors(spec, {**full, "surprise": "1"}, policy)


def test_lifecycle_owner_set_and_personal_fields_come_from_the_catalogue() -> None:
    assert ACTIONS == ("open", *REQUESTABLE)
    machine = lifecycle(3)
    fired = {row["trigger"] for row in machine.table}
    assert fired == set(REQUESTABLE)
    assert set(ACTION_ROUTES) <= set(REQUESTABLE)
    assert OWNER_ACTIONS == {n for n, s in CATALOGUE.items() if s.authority == BY_OWNER}
    texts = {k for s in CATALOGUE.values() for k, kind in s.fields.items()
             if kind in (TEXT, TEXTS)}
    assert texts <= PERSONAL_FIELDS


def test_openapi_lists_exactly_the_catalogues_actions(tmp_path: Path) -> None:
    c = make_client(tmp_path)
    spec = c.http.get("/api/v1/openapi.json").json
    prefix = "/api/v1/escalations/{escalation_id}/actions/"
    listed = {p[len(prefix):] for p in spec["paths"] if p.startswith(prefix)}
    assert listed == set(ACTION_ROUTES)
    own = {n for n in REQUESTABLE if CATALOGUE[n].own_route}
    assert own == {"issue-feedback-link"}
    assert "/api/v1/escalations/{escalation_id}/feedback-link" in spec["paths"]
    for name in ACTION_ROUTES:
        op = spec["paths"][prefix + name]["post"]
        ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        component = spec["components"]["schemas"][ref.split("/")[-1]]
        entry = CATALOGUE[name]
        assert set(component.get("properties", {})) == set(entry.fields), name
        assert set(component.get("required", [])) == set(entry.required), name
        for key, kind in entry.fields.items():
            prop = component["properties"][key]
            if kind == TEXT:
                assert prop["maxLength"] == MAX_TEXT
            if kind == HANDLE:
                assert prop["maxLength"] == MAX_HANDLE


def test_the_escalation_representation_is_derived_from_its_schema() -> None:
    assert set(_SHAPE) == set(EscalationSchema().fields)
    assert set(_ATTRIBUTES) <= {f.name for f in fields(Escalation)}
    assert _COMPUTED <= set(_SHAPE), "a computed field the schema does not document"
