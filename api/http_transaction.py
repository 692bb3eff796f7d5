"""One write per request over HTTP: If-Match, Idempotency-Key replays, and the response;
the service layer's handler owns the transaction (workflow/handlers.py)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from flask import Response, jsonify, request

from api.auth import current_actor
from api.problems import problem
from audit.store.idempotency import StoredResponse
from workflow.errors import VersionConflict
from workflow.handler_ports import Once, Responses
from workflow.handlers import Written

S = TypeVar("S")
Result = tuple[dict[str, Any], int, dict[str, str]]
# A write's response, rendered (no database access) from what the handler returned.
Render = Callable[[Any], Result]
# The service layer's call: given If-Match's version and the Idempotency-Key (or None).
Command = Callable[[int | None, Once | None], Written[S]]


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


class Replayed(Replay):
    """A retry's first response, returned by the view as it was the first time."""


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


class KeptResponse:
    """An Idempotency-Key (workflow.handler_ports.Once): the service layer's handler asks
    it, inside the write's transaction, whether the request was made before, and has it
    keep the first response before the commit."""

    def __init__(self, actor: str, key: str, request_hash: str, render: Render,
                 escalation_id: str | None):
        self.actor, self.key, self.request_hash = actor, key, request_hash
        self.render, self.escalation_id = render, escalation_id
        self.kept: Result | None = None

    def check(self, responses: Responses) -> None:
        """Replay the first response (or refuse the key) when this key was used before."""
        found: StoredResponse | None = responses.find(self.actor, self.key)
        if found is None:
            return
        if found.request_hash != self.request_hash:
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
        raise Replayed(_respond(found.body, found.status, headers))

    def keep(self, responses: Responses, written: Any, at: datetime) -> None:
        """Render the response now (inside the transaction) and keep it with the write."""
        data, status, headers = self.kept = self.render(written)
        responses.save(
            self.actor, self.key, StoredResponse(self.request_hash, status, data, headers),
            escalation_id=self.escalation_id or data.get("id")
            or (data.get("escalation") or {}).get("id"), at=at)


def run(command: Command[S], render: Render, body: Any,
        escalation_id: str | None = None) -> tuple[Response, int, dict[str, str]]:
    """One write over HTTP: `command` is the service layer's call, given the version
    If-Match expects and the Idempotency-Key's KeptResponse (or None); the response is
    rendered from what it returns after the commit (outside SQLite's writer lock and
    PostgreSQL's log-head lock), or before it when an Idempotency-Key asks for it to be
    stored with the write."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not re.fullmatch(IDEMPOTENCY_KEY, key):
        raise Replay(problem(400, "malformed", "Malformed request",
                             "Idempotency-Key must be 1 to 200 visible ASCII characters",
                             errors={"Idempotency-Key": "malformed"}))
    actor = current_actor().handle
    expected = if_match()
    once = None if key is None else KeptResponse(actor, key, _request_hash(body), render,
                                                 escalation_id)
    try:
        written = command(expected, once)
    except Replayed as done:  # answered as the first time, through the view
        return done.response  # type: ignore[no-any-return]
    except VersionConflict as exc:
        if expected is not None:
            raise Replay(problem(412, "precondition-failed", "Precondition failed",
                                 str(exc))) from None
        raise
    if once is not None and once.kept is not None:
        return _respond(*once.kept)
    return _respond(*render(written))
