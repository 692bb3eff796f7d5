"""What no request may carry, and how much of it Baton reads.

Two hooks and one request class, so that every body the server reads passes one guard:
- before authentication, `check` looks only at what is already in memory (the path, the
  query, a few headers): a NUL byte or a lone UTF-16 surrogate there is a 422 (PostgreSQL
  cannot store a NUL, and neither may enter the permanent ledger on SQLite);
- after authentication, `admit` refuses a body of a media type the route does not take
  (415) or longer than the limit (413), from its headers alone: an anonymous or oversized
  request is answered before a byte of its body is read;
- `GuardedRequest` reads bodies within the limit (a chunked body too) and checks them as
  they are read: JSON of any `+json` type nested deeper than any of Baton's bodies,
  integers beyond 64 bits, NUL and lone surrogates in any string or form field.
Each is a 4xx problem (a page in the dashboard), never a 500."""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any

from flask import Flask, Request, current_app, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import (
    BadRequest,
    HTTPException,
    RequestEntityTooLarge,
    UnprocessableEntity,
    UnsupportedMediaType,
)

# Baton's deepest body (an action's payload with an amount) is four levels deep.
MAX_DEPTH = 32
INT_MAX = 2**63 - 1
INT_MIN = -(2**63)
# The API's bodies (a policy file is the largest) and the dashboard's and customer's forms.
DEFAULT_BODY_BYTES = 1024 * 1024
DEFAULT_FORM_BYTES = 64 * 1024
MAX_FORM_PARTS = 200
# A NUL, or a UTF-16 surrogate standing alone (JSON's "\ud800" decodes to one).
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
FORM_TYPES = frozenset({"application/x-www-form-urlencoded"})
JSON_TYPES = frozenset({"application/json"})
PATCH_TYPES = frozenset({"application/json", "application/merge-patch+json"})
# SCIM 2.0 (RFC 7644 3.1): providers send application/scim+json, some application/json.
SCIM_TYPES = frozenset({"application/scim+json", "application/json"})
SCIM_PREFIX = "/scim/v2/"
_FORM_PREFIXES = ("/ui/", "/feedback/")
NO_BODY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class _Refused(UnprocessableEntity):
    """Per-field errors, in the shape webargs reports them (problems.from_http)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("the request carries text that no field of Baton's may hold")
        self.data = {"messages": {"json": errors}}


def _refuse(errors: dict[str, str]) -> HTTPException:
    return _Refused(errors)


def _text_problem(value: str) -> str | None:
    found = _BAD_TEXT.search(value)
    if found is None:
        return None
    return ("must not contain a NUL character" if found.group() == "\x00"
            else "must not contain a lone UTF-16 surrogate")


class _TooBig(ValueError):
    """An integer literal beyond 64 bits (raised through json.loads by parse_int)."""


def _parse_int(literal: str) -> int:
    # Checked by length before int() is asked to convert thousands of digits.
    if len(literal.lstrip("+-")) > 19 or not INT_MIN <= int(literal) <= INT_MAX:
        raise _TooBig(literal[:20])
    return int(literal)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: Python accepts them, JSON not


def _parse_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):  # 1e400 would be read as inf: no JSON number means that
        raise ValueError(f"the number {literal[:20]} is out of range")
    return value


_DECODER = json.JSONDecoder(parse_int=_parse_int, parse_float=_parse_float,
                            parse_constant=_no_constant)


def _walk(body: Any) -> dict[str, str]:
    """Problems of a decoded body by field path (iterative: depth is what is checked)."""
    errors: dict[str, str] = {}
    stack: list[tuple[str, Any, int]] = [("", body, 0)]
    while stack:
        path, value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadRequest(f"the JSON body is nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, str):
            problem = _text_problem(value)
            if problem:
                errors[path or "_body"] = problem
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                problem = _text_problem(key)
                if problem:
                    errors[_text_safe(child)] = "field name " + problem
                    continue
                stack.append((child, item, depth + 1))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}" if path else str(i), item, depth + 1)
                         for i, item in enumerate(value))
    return errors


def _text_safe(name: str) -> str:
    # A field path quoted in the problem must itself be encodable (no lone surrogate).
    return _BAD_TEXT.sub("\ufffd", name)


def check_json(data: bytes) -> None:
    """Raise a 4xx problem when a JSON body is nested too deep, holds an integer beyond 64
    bits, or a string (or field name) with a NUL or a lone surrogate. Text that is not
    JSON at all is left to the schema's parser (400 malformed)."""
    try:
        # json.loads(data, parse_int=…, parse_constant=…), without a decoder made per call.
        body = _DECODER.decode(data.decode(json.detect_encoding(data), "surrogatepass"))
    except RecursionError:
        raise BadRequest(f"the JSON body is nested deeper than {MAX_DEPTH} levels") from None
    except _TooBig:
        raise _refuse({"_body": "integers must fit in 64 bits"}) from None
    except ValueError:
        raise BadRequest("the request body is not valid JSON") from None
    errors = _walk(body)
    if errors:
        raise _refuse(errors)


def is_json_type(mimetype: str) -> bool:
    """application/json and every application/...+json type (what Flask and webargs read
    as JSON)."""
    return mimetype == "application/json" or (mimetype.startswith("application/")
                                              and mimetype.endswith("+json"))


def is_form_path(path: str) -> bool:
    """Whether the path is a page's (dashboard, feedback), whose bodies are forms."""
    return path.startswith(_FORM_PREFIXES)


def _limit(path: str) -> int:
    key = "BATON_MAX_FORM_BYTES" if is_form_path(path) else "BATON_MAX_BODY_BYTES"
    return int(current_app.config[key])


class GuardedRequest(Request):
    """Flask's request, whose body is read within its route's limit and checked as it is
    read (whoever reads it: webargs, a form, a view). The limits are Flask's
    MAX_CONTENT_LENGTH, MAX_FORM_MEMORY_SIZE and MAX_FORM_PARTS; `admit` lowers the first
    to the forms' limit on the pages."""

    _json_checked = False

    def get_data(self, cache: bool = True, as_text: bool = False,  # type: ignore[override]
                 parse_form_data: bool = False) -> Any:
        data: bytes = super().get_data(cache=True, parse_form_data=parse_form_data)
        if not self._json_checked and data and is_json_type(self.mimetype):
            self._json_checked = True
            check_json(data)
        return data.decode(errors="replace") if as_text else data

    def _load_form_data(self) -> None:
        super()._load_form_data()
        errors = _field_errors(self.__dict__["form"].items(multi=True))
        if errors:
            self.__dict__["form"] = ImmutableMultiDict()  # nobody reads what was refused
            raise _refuse(errors)


def _field_errors(items: Any) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name, value in items:
        problem = _text_problem(name) or _text_problem(value)
        if problem:
            errors[_text_safe(name)] = problem
    return errors


def check() -> None:
    """Refuse the request (4xx problem) when its path, query or one of the headers Baton
    reads carries what no field may hold; reads no body (runs before authentication, so
    that a NUL in a token does not reach the database either)."""
    errors: dict[str, str] = {}
    problem = _text_problem(request.path)
    if problem:
        errors["_path"] = problem
    errors.update(_field_errors(request.args.items(multi=True)))
    for header in ("Authorization", "Idempotency-Key", "If-Match"):
        problem = _text_problem(request.headers.get(header, ""))
        if problem:
            errors[header] = problem
    if errors:
        raise _refuse(errors)


def _has_body() -> bool:
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    return chunked or bool(request.content_length)


def accepted_types(path: str, method: str) -> frozenset[str]:
    """The media types a route's body may have."""
    if is_form_path(path):
        return FORM_TYPES
    if path.startswith(SCIM_PREFIX):
        return SCIM_TYPES
    return PATCH_TYPES if method == "PATCH" else JSON_TYPES


def admit() -> None:
    """After authentication, from the headers alone: 415 for a body of a media type the
    route does not take, 413 for one declared longer than the limit."""
    limit = _limit(request.path)
    request.max_content_length = limit
    if request.method in NO_BODY_METHODS or not _has_body():
        return
    accepted = accepted_types(request.path, request.method)
    if request.mimetype not in accepted:
        takes = " or ".join(sorted(accepted))
        raise UnsupportedMediaType(f"this route takes a body of type {takes}, not "
                                   f"{request.mimetype or 'an undeclared type'}")
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge(f"the body is {request.content_length} bytes; "
                                    f"this route takes at most {limit}")


def _setting(app: Flask, key: str, default: int) -> int:
    raw = app.config.get(key, os.environ.get(key, default))
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be a number of bytes, not {raw!r}") from None
    if value < 1024:
        raise ValueError(f"{key} must be at least 1024 bytes, not {value}")
    return value


def init_app(app: Flask) -> None:
    """Bounded, checked bodies for every request; `admit` after the authentication hook
    (call this after auth.init_app). `check` itself is registered by the container."""
    app.config["BATON_MAX_BODY_BYTES"] = _setting(app, "BATON_MAX_BODY_BYTES",
                                                  DEFAULT_BODY_BYTES)
    app.config["BATON_MAX_FORM_BYTES"] = _setting(app, "BATON_MAX_FORM_BYTES",
                                                  DEFAULT_FORM_BYTES)
    app.config["MAX_CONTENT_LENGTH"] = app.config["BATON_MAX_BODY_BYTES"]
    app.config["MAX_FORM_MEMORY_SIZE"] = app.config["BATON_MAX_FORM_BYTES"]
    app.config["MAX_FORM_PARTS"] = MAX_FORM_PARTS
    app.request_class = GuardedRequest
    app.before_request(admit)
