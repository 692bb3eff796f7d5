"""The request schemas of the actions, generated from their catalogue entries; each
payload field from its kind's one definition (workflow.field_kinds)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

from api.schemas.common import ERASABLE, NON_BLANK, AmountSchema
from workflow import payload_validation
from workflow.catalogue import ACTION_ROUTES, CATALOGUE, ActionSpec
from workflow.field_kinds import CHOICES, FIELD_DOCS, GRANT_KINDS, KINDS, Wire


class GrantSchema(ma.Schema):
    kind = f.String(required=True, validate=v.OneOf(GRANT_KINDS))
    amount = f.Nested(AmountSchema, required=True)


# The nested schemas an object kind names.
_OBJECTS: dict[str, type[ma.Schema]] = {"Grant": GrantSchema}
_TYPES: dict[str, type[f.Field]] = {"string": f.String, "integer": f.Integer,
                                     "boolean": f.Boolean, "any": f.Raw}


class _PolicyVocabulary(f.String):
    """A required string whose values are the active policy's (a trigger): its absence is
    said by the payload validation, which names the values there are."""

    def _validate_missing(self, value: Any) -> None:
        if value is not ma.missing:
            super()._validate_missing(value)


def _checked(kind: str, name: str) -> Callable[[object], None]:
    """A marshmallow validator that runs the payload validation's own check."""
    def validate(value: object) -> None:
        problem = payload_validation.check_value(kind, value, name)
        if problem is not None:
            raise ma.ValidationError(problem)
    return validate


def _description(wire: Wire, name: str) -> dict[str, Any]:
    said = FIELD_DOCS.get(name)
    return {"field": {"description": said} if said else {},
            "field!": {"description": said or ""},
            "erasable": {"description": ERASABLE},
            "field+erasable": {"description": f"{said or ''}. {ERASABLE}"},
            None: {}}[wire.description]


def _validators(wire: Wire, kind: str, name: str) -> list[Callable[..., Any]]:
    out: list[Callable[..., Any]] = []
    if wire.length:
        out.append(v.Length(min=wire.length[0], max=wire.length[1]))
    if wire.non_blank:
        out.append(NON_BLANK)
    if wire.range:
        out.append(v.Range(min=wire.range[0], max=wire.range[1]))
    if wire.pattern:
        out.append(v.Regexp(wire.pattern[0], error=wire.pattern[1]))
    if wire.choices_by_name:
        out.append(v.OneOf(CHOICES[name]))
    if wire.checked:
        out.append(_checked(kind, name))
    return out


def payload_field(name: str, kind: str, required: bool) -> f.Field:
    """The marshmallow field of one payload field, from its kind's wire definition."""
    wire = KINDS[kind].wire
    if wire.type == "object":
        assert wire.schema is not None
        return f.Nested(_OBJECTS[wire.schema], required=required)
    said = _description(wire, name)
    checks = _validators(wire, kind, name)
    if wire.type == "texts":
        return f.List(f.String(validate=checks), required=required,
                      validate=v.Length(min=wire.items[0], max=wire.items[1])
                      if wire.items else None, metadata=said)
    meta = {**wire.meta, **said} if wire.type == "any" else {**said, **wire.meta}
    by_policy = KINDS[kind].needs_policy and KINDS[kind].control.choices is not None
    made = _PolicyVocabulary if by_policy and wire.type == "string" else _TYPES[wire.type]
    return made(required=required, validate=checks or None, metadata=meta)


def action_schema(spec: ActionSpec) -> type[ma.Schema]:
    """The request schema of one action, generated from its catalogue entry."""
    name = "".join(part.capitalize() for part in spec.name.split("-")) + "Schema"
    attrs: dict[str, Any] = {key: payload_field(key, kind, key in spec.required)
                             for key, kind in spec.fields.items()}
    if spec.one_of:
        one_of = spec.one_of

        @ma.validates_schema(skip_on_field_errors=False, pass_original=True)
        def exactly_one(self: ma.Schema, data: dict[str, Any], original: Any,
                        **_kw: Any) -> None:
            # What was sent counts: a field refused for its form was still given. (A body
            # that is no object is refused as such already.)
            if isinstance(original, dict) and len(
                    [k for k in one_of if original.get(k) is not None]) != 1:
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
