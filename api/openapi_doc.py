"""What the OpenAPI document says beyond each field's own type: that no string (nor path
segment) may hold a NUL (the request guard refuses one anywhere), and the vocabularies
the active policy decides (categories, severities, the currency, customer values, teams,
states, tiers), filled in each time the document is served so that it describes what the
server accepts now, not what it accepted at start-up.

A schema field names its vocabulary with the metadata `x-policy`; `with_policy` turns each
such marker into an `enum` (the marker stays, for readers and generators). `guarded` adds
the answers that the request guard and the authentication back-off give before any view
runs: 413 and 415 wherever a body may be sent, 429 wherever a token is checked."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from api.auth import PUBLIC
from api.request_guard import NO_BODY_METHODS, accepted_types
from workflow.policy import Policy
from workflow.states import states as states_of

# A string with no NUL character (Python's and ECMA-262's regular expressions both read it).
NUL_FREE = r"^[^\x00]*$"
# A path parameter (an id, a handle, a version): one segment, no NUL.
PATH_SEGMENT = r"^[^/\x00]+$"

_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
# The answers given before a view runs (api.request_guard.admit, api.auth), by status.
GUARD_RESPONSES: dict[str, dict[str, Any]] = {
    "413": {"description": "Payload Too Large: the body is longer than the route takes "
                           "(BATON_MAX_BODY_BYTES, 1 MiB by default); refused from its "
                           "Content-Length before a byte of it is read",
            "content": _PROBLEM},
    "415": {"description": "Unsupported Media Type: the body's Content-Type is not one the "
                           "route takes",
            "content": _PROBLEM},
    "429": {"description": "Too Many Requests (too-many-failures): too many unknown tokens "
                           "were sent from this address lately; retry after Retry-After "
                           "seconds",
            "headers": {"Retry-After": {"description": "seconds to wait",
                                        "schema": {"type": "integer", "minimum": 1}}},
            "content": _PROBLEM},
}

VOCABULARIES: dict[str, Callable[[Policy], list[Any]]] = {
    "categories": lambda p: list(p.categories),
    "severities": lambda p: list(p.severities),
    "currency": lambda p: [p.currency],
    "customer_values": lambda p: list(p.customer_values),
    "teams": lambda p: list(p.teams),
    "states": lambda p: list(states_of(p.max_tier)),
    "tiers": lambda p: [t.level for t in p.tiers],
}


def nul_free(_converter: Any, field: Any, ret: dict[str, Any], **_kw: Any) -> dict[str, Any]:
    """An apispec attribute function: a string property that has no pattern, enum or
    format of its own says it holds no NUL."""
    del field
    if ret.get("type") == "string" and not {"pattern", "enum", "format"} & ret.keys():
        return {"pattern": NUL_FREE}
    return {}


def served(doc: dict[str, Any], policy: Policy,
           exactly_one: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """A copy of the document as served: every `x-policy` marker's enum from `policy`, and
    each schema of `exactly_one` (component name -> fields) requiring exactly one of its
    fields (a oneOf of `required`s: none given or both given matches no branch, or two)."""
    out = guarded(with_policy(doc, policy))
    for item in out.get("paths", {}).values():
        lists = [item.get("parameters", [])] + [
            op.get("parameters", []) for op in item.values() if isinstance(op, dict)]
        for parameter in (p for parameters in lists for p in parameters):
            schema = parameter.get("schema", {})
            if parameter.get("in") == "path" and schema.get("type") == "string" \
                    and "pattern" not in schema and "enum" not in schema:
                schema["pattern"] = PATH_SEGMENT
    components = out.get("components", {}).get("schemas", {})
    for name, fields in exactly_one.items():
        if name in components:
            components[name]["oneOf"] = [{"required": [f]} for f in fields]
    return out


def with_policy(doc: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """A copy of the document with every `x-policy` marker's enum from `policy`."""
    out = copy.deepcopy(doc)
    stack: list[Any] = [out]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            name = node.get("x-policy")
            if isinstance(name, str):
                node["enum"] = VOCABULARIES[name](policy)
                node.pop("pattern", None)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return out


def guarded(doc: dict[str, Any]) -> dict[str, Any]:
    """The document (changed in place) with the guard's answers on the operations where
    they can occur: 413 and 415 on every method that may carry a body (the 415's text
    naming the types the route takes), 429 on every operation behind a token."""
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            responses = op["responses"]
            if method.upper() not in NO_BODY_METHODS:
                responses.setdefault("413", GUARD_RESPONSES["413"])
                takes = " or ".join(sorted(accepted_types(path, method.upper())))
                responses.setdefault("415", {**GUARD_RESPONSES["415"], "description":
                                             f"{GUARD_RESPONSES['415']['description']} "
                                             f"({takes})"})
            if path not in PUBLIC and op.get("security") != []:
                responses.setdefault("429", GUARD_RESPONSES["429"])
    return doc
