"""One write per request: a unit of work, If-Match, and Idempotency-Key replays."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from flask import Response, jsonify, request

from api.auth import current_actor
from api.container import current as current_baton
from api.container import request_connection
from api.problems import problem
from audit.store.idempotency import StoredResponse
from audit.store.uow import SqlUnitOfWork
from workflow.errors import VersionConflict

Result = tuple[dict[str, Any], int, dict[str, str]]
# What a write returns: its response, rendered (no database access) once the write is done.
Render = Callable[[], Result]


def _respond(data: dict[str, Any], status: int, headers: dict[str, str]
             ) -> tuple[Response, int, dict[str, str]]:
    # The representation is built as JSON-ready data in the documented shape (a test holds
    # every write response to its schema), so it is sent as it is: a marshmallow dump of
    # the nested escalation cost more than the rest of the response.
    return jsonify(data), status, headers


class Replay(Exception):
    """Carries a stored (or refused) idempotent response out of the view."""

    def __init__(self, response: Any):
        self.response = response


# The request headers of a write, as the OpenAPI document states them and as they are read.
IF_MATCH = r'^(\*|(W/)?"?[0-9]{1,18}"?)$'
IDEMPOTENCY_KEY = r"^[!-~]{1,200}$"  # 1 to 200 visible ASCII characters
IF_MATCH_PARAMETER = {
    "in": "header", "name": "If-Match", "required": False,
    "schema": {"type": "string", "pattern": IF_MATCH},
    "description": 'Expected version (ETag: 3, "3" or W/"3"; * for any); 412 if stale'}
IDEMPOTENCY_KEY_PARAMETER = {
    "in": "header", "name": "Idempotency-Key", "required": False,
    "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY},
    "description": "Retries with the same key and body return the first response "
                   "(1 to 200 visible ASCII characters, e.g. a UUID)"}


def if_match() -> int | None:
    """The version the caller expects, from If-Match ("3", W/"3" or *)."""
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    if not re.fullmatch(IF_MATCH, raw.strip()):
        raise Replay(problem(400, "malformed", "Malformed request",
                             f"If-Match {raw!r} is not an escalation version",
                             errors={"If-Match": "an ETag such as \"3\", or *"}))
    return int(raw.strip().removeprefix("W/").strip('"'))


def _request_hash(body: Any) -> str:
    text = json.dumps({"m": request.method, "p": request.path, "b": body}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def run(work: Callable[[SqlUnitOfWork, int | None], Render], body: Any,
        escalation_id: str | None = None) -> tuple[Response, int, dict[str, str]]:
    """Run `work` in one transaction, honouring If-Match and Idempotency-Key. `work` reads
    what its response needs inside the transaction; the response is rendered after the
    commit (outside SQLite's writer lock and PostgreSQL's log-head lock), or before it
    when an Idempotency-Key asks for it to be stored with the write."""
    baton = current_baton()
    key = request.headers.get("Idempotency-Key")
    if key is not None and not re.fullmatch(IDEMPOTENCY_KEY, key):
        raise Replay(problem(400, "malformed", "Malformed request",
                             "Idempotency-Key must be 1 to 200 visible ASCII characters",
                             errors={"Idempotency-Key": "malformed"}))
    actor = current_actor().handle
    expected = if_match()
    request_hash = _request_hash(body) if key is not None else ""
    # The API's writes release their locks before the flush: concurrent requests overlap
    # their flushes, and each is acknowledged once durable (audit.store.db explains).
    with baton.uow(request_connection(), release_before_flush=True) as uow:
        if key is not None:
            found = uow.idempotency.find(actor, key)
            if found is not None:
                if found.request_hash != request_hash:
                    raise Replay(problem(
                        422, "idempotency-key-reused", "Idempotency key reused",
                        "this Idempotency-Key was used with a different request",
                        errors={"Idempotency-Key": "already used with another body"}))
                if found.body is None:  # the write was done; its response was erased
                    erased = problem(
                        410, "response-erased", "Response erased",
                        "this request was already done, but its response was erased with "
                        "the personal content it quoted; nothing was written")
                    erased.headers.extend((k, v) for k, v in found.headers.items()
                                          if k == "Location")
                    raise Replay(erased)
                headers = {**found.headers, "Idempotent-Replayed": "true"}
                return _respond(found.body, found.status, headers)
        try:
            render = work(uow, expected)
        except VersionConflict as exc:
            if expected is not None:
                raise Replay(problem(412, "precondition-failed", "Precondition failed",
                                     str(exc))) from None
            raise
        if key is None:
            uow.commit()
            return _respond(*render())
        data, status, headers = render()
        uow.idempotency.save(
            actor, key, StoredResponse(request_hash, status, data, headers),
            escalation_id=escalation_id or data.get("id")
            or (data.get("escalation") or {}).get("id"), at=baton.now())
        uow.commit()
    return _respond(data, status, headers)
