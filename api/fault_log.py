"""Logging an unexpected failure without what it carried: an exception's message can quote
a request body, a stored response, personal text or a token (a failing statement's
parameters did), so the log gets its type, where it was raised, and the request's ids."""

from __future__ import annotations

import logging
import os
import traceback

from flask import has_request_context, request

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def describe(error: BaseException) -> str:
    """The exception's type and the frames it passed through (file, line, function),
    for itself and each exception it was raised from; never a message or a value."""
    parts: list[str] = []
    seen: BaseException | None = error
    while seen is not None and len(parts) < 5:
        frames = traceback.extract_tb(seen.__traceback__)
        # Baton's own frames say where; of a library's, the one that raised.
        ours = [f for f in frames
                if f.filename.startswith(_ROOT) and "site-packages" not in f.filename]
        shown = ours[-6:] + [f for f in frames[-1:] if f not in ours]
        where = " < ".join(f"{f.filename.removeprefix(_ROOT).rsplit('site-packages/', 1)[-1]}"
                           f":{f.lineno} {f.name}" for f in reversed(shown))
        parts.append(f"{type(seen).__module__}.{type(seen).__qualname__}"
                     + (f" at {where}" if where else ""))
        seen = seen.__cause__ or seen.__context__
    return "; from ".join(parts)


def _route() -> str:
    """The request's method and route, with the ids it names (a path may hold a token,
    so only its rule is logged; no query string, no body, no header)."""
    if not has_request_context():
        return ""
    rule = request.url_rule.rule if request.url_rule is not None else "(no route)"
    ids = {k: v for k, v in (request.view_args or {}).items()
           if k.endswith("id") or k in ("handle", "version", "seq")}
    return f" on {request.method} {rule}" + "".join(f" {k}={v}" for k, v in ids.items())


def log_fault(log: logging.Logger, what: str, error: BaseException) -> None:
    """Log an unexpected failure: `what`, the route and ids of the request, and the
    exception described without its message."""
    log.error("%s%s: %s", what, _route(), describe(error))
