"""What no request may carry, refused before any view or database sees it: NUL bytes and
lone UTF-16 surrogates in text (PostgreSQL cannot store a NUL, and neither may enter the
permanent ledger on SQLite), JSON nested deeper than any of Baton's bodies, and integers
beyond 64 bits in a JSON body (no column holds them; a query's integers are bounded by
its schema). Each is a 4xx problem, never a 500."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import request
from werkzeug.exceptions import BadRequest, HTTPException, UnprocessableEntity

# Baton's deepest body (an action's payload with an amount) is four levels deep.
MAX_DEPTH = 32
INT_MAX = 2**63 - 1
INT_MIN = -(2**63)
# A NUL, or a UTF-16 surrogate standing alone (JSON's "\ud800" decodes to one).
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
_JSON_TYPES = ("application/json", "application/merge-patch+json")


class _Refused(UnprocessableEntity):
    """Per-field errors, in the shape webargs reports them (problems.from_http)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__()
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
                    errors[child] = "field name " + problem
                    continue
                stack.append((child, item, depth + 1))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}" if path else str(i), item, depth + 1)
                         for i, item in enumerate(value))
    return errors


def _check_body() -> None:
    if request.mimetype not in _JSON_TYPES:
        return
    data = request.get_data(cache=True)
    if not data:
        return
    try:
        body = json.loads(data, parse_int=_parse_int)
    except RecursionError:
        raise BadRequest(f"the JSON body is nested deeper than {MAX_DEPTH} levels") from None
    except _TooBig:
        raise _refuse({"_body": "integers must fit in 64 bits"}) from None
    except ValueError:
        return  # not JSON at all: the schema's own parser answers 400 malformed
    errors = _walk(body)
    if errors:
        raise _refuse(errors)


def check() -> None:
    """Refuse the request (4xx problem) when its path, query, form, bearer token or JSON
    body carries what no field of Baton's may hold (a Flask before_request hook)."""
    errors: dict[str, str] = {}
    problem = _text_problem(request.path)
    if problem:
        errors["_path"] = problem
    for name, value in [*request.args.items(multi=True), *request.form.items(multi=True)]:
        problem = _text_problem(name) or _text_problem(value)
        if problem:
            errors[name] = problem
    for header in ("Authorization", "Idempotency-Key", "If-Match"):
        problem = _text_problem(request.headers.get(header, ""))
        if problem:
            errors[header] = problem
    if errors:
        raise _refuse(errors)
    _check_body()

