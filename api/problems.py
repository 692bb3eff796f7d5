"""RFC 9457 problem details: every error of the app, mapped in this one place."""

from __future__ import annotations

import logging
from typing import Any

import marshmallow as ma
from flask import Flask, Response, json, render_template, request
from werkzeug.exceptions import HTTPException

from api.fault_log import log_fault
from audit.errors import (
    AuditError,
    BundleError,
    CheckpointMissing,
    DatabaseBusy,
    DatabaseFailed,
    DatabaseUnavailable,
    KeyFileError,
    NotInitialised,
    OutcomeUnknown,
    ProofUnavailable,
    ReadOnly,
    SchemaMissing,
    SigningUnavailable,
    StorageFull,
)
from workflow.errors import (
    ActorNotFound,
    AuthorityDenied,
    EscalationNotFound,
    InvalidTransition,
    NothingToChange,
    PayloadInvalid,
    PolicyError,
    UnknownAction,
    VersionConflict,
    WorkflowError,
)
from workflow.webhook_admin import SubscriptionNotFound

PROBLEM = "application/problem+json"
TYPE = "urn:baton:problem:"
log = logging.getLogger("baton.api")


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, with Baton's extensions."""

    type = ma.fields.String(metadata={"description": "A URI naming the kind of problem"})
    title = ma.fields.String(metadata={"description": "Short summary of the kind"})
    status = ma.fields.Integer(metadata={"description": "The HTTP status"})
    detail = ma.fields.String(metadata={"description": "What went wrong this time"})
    rule = ma.fields.String(metadata={"description": "403: the policy rule that refused"})
    state = ma.fields.String(metadata={"description": "409: the escalation's state"})
    allowed_actions = ma.fields.List(ma.fields.String(),
                                     metadata={"description": "409: possible actions"})
    errors = ma.fields.Dict(metadata={"description": "422: errors per field"})
    actions = ma.fields.List(ma.fields.String(),
                             metadata={"description": "404 unknown-action: the actions"})


def problem(status: int, slug: str, title: str, detail: str, *,
            retry_after: int | None = None, **extra: Any) -> Response:
    """A problem+json response (`retry_after`: seconds, sent as Retry-After)."""
    body = {"type": TYPE + slug if slug else "about:blank", "title": title,
            "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="baton"'
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return Response(json.dumps(body), status=status, mimetype=PROBLEM, headers=headers)


# Faults of the server's, not the caller's: 503 with Retry-After, so that clients and load
# balancers retry. Details name no path and quote no driver message (both are logged).
_RETRY_SECONDS = 2
_WRITES_RETRY = ("; a write may be retried with the same Idempotency-Key, which returns "
                 "its first response if it was written")


def _unavailable(error: AuditError) -> Response:
    log.warning("answered 503: %s", type(error).__name__)
    if isinstance(error, OutcomeUnknown):
        return problem(503, "outcome-unknown", "Outcome unknown",
                       "the write was committed but its flush to disk failed, so it is "
                       "in the ledger unless the database then lost it; retrying with the "
                       "same Idempotency-Key is safe (it returns the first response, or "
                       "writes it once)", retry_after=_RETRY_SECONDS)
    if isinstance(error, StorageFull):
        return problem(503, "storage-full", "Storage full",
                       "the database's disk is full; nothing was written" + _WRITES_RETRY,
                       retry_after=30)
    if isinstance(error, ReadOnly):
        return problem(503, "database-read-only", "Database read-only",
                       "the database cannot be written now; nothing was written"
                       + _WRITES_RETRY, retry_after=_RETRY_SECONDS)
    if isinstance(error, SigningUnavailable):
        return problem(503, "signing-unavailable", "Signing unavailable",
                       "checkpoints cannot be signed, so writes are refused until the "
                       "signing key is back; nothing was written",
                       retry_after=_RETRY_SECONDS)
    return problem(503, "database-unavailable", "Database unavailable",
                   "the database cannot be reached or is starting up" + _WRITES_RETRY,
                   retry_after=_RETRY_SECONDS)


def _flatten(messages: Any) -> dict[str, str]:
    """webargs errors {location: {field: [msgs]}} -> {field: "msg; msg"}."""
    out: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[prefix or "_body"] = "; ".join(value)
        else:
            out[prefix or "_body"] = str(value)

    if isinstance(messages, dict):
        for location, fields in messages.items():
            walk("" if location in ("json", "query", "path", "headers") else location, fields)
    return out


_SLUGS = {413: "body-too-large", 415: "unsupported-media-type"}


def from_http(error: HTTPException) -> Response:
    """Werkzeug/webargs HTTP errors as problems."""
    code = error.code or 500
    data = getattr(error, "data", None) or {}
    if code == 422 and "messages" in data:
        return problem(422, "validation", "Validation failed",
                       "the request does not match the schema", errors=_flatten(data["messages"]))
    own = error.description if error.description != type(error).description else None
    if code == 400:
        return problem(400, "malformed", "Malformed request",
                       data.get("message") or own or "the request body is not valid JSON")
    if code in _SLUGS:
        return problem(code, _SLUGS[code], error.name, own or error.name)
    response = problem(code, "", error.name, error.description or error.name)
    if code == 405 and error.get_headers():
        for key, value in error.get_headers():
            if key.lower() == "allow":
                response.headers["Allow"] = value
    return response


def from_exception(error: Exception) -> Response:
    """Domain and audit errors as problems; anything else as a logged 500 problem."""
    if isinstance(error, HTTPException):
        return from_http(error)
    if isinstance(error, PayloadInvalid):
        return problem(422, "validation", "Validation failed", str(error),
                       errors=error.errors)
    if isinstance(error, AuthorityDenied):
        return problem(403, "authority-denied", "Beyond this role's authority",
                       error.reason, rule=error.rule)
    if isinstance(error, InvalidTransition):
        return problem(409, "invalid-transition", "Not possible from this state", str(error),
                       state=error.state, allowed_actions=error.allowed_actions)
    if isinstance(error, NothingToChange):
        return problem(409, "no-change", "Nothing to change", error.reason, rule=error.rule,
                       state=error.state)
    if isinstance(error, UnknownAction):
        return problem(404, "unknown-action", "No such action", str(error),
                       actions=error.known)
    if isinstance(error, VersionConflict):
        return problem(409, "version-conflict", "Changed by someone else", str(error))
    if isinstance(error, (EscalationNotFound, ActorNotFound, CheckpointMissing,
                          SubscriptionNotFound)):
        return problem(404, "not-found", "Not found", str(error))
    if isinstance(error, PolicyError):
        return problem(422, "invalid-policy", "Invalid policy", str(error),
                       errors={k or "_policy": v for k, v in error.problems})
    if isinstance(error, ProofUnavailable):
        return problem(404, "proof-unavailable", "No such proof", str(error))
    if isinstance(error, (DatabaseUnavailable, OutcomeUnknown, SigningUnavailable)):
        return _unavailable(error)
    if isinstance(error, NotInitialised):
        return problem(503, "not-initialised", "Not initialised", str(error))
    if isinstance(error, (BundleError, KeyFileError)):
        return problem(422, "invalid-input", "Invalid input", str(error))
    if isinstance(error, SchemaMissing):
        return problem(503, "not-initialised", "Not initialised",
                       "the database has no schema: run `baton init`")
    if isinstance(error, DatabaseBusy):
        return problem(503, "busy", "Busy", "the database is busy; retry",
                       retry_after=_RETRY_SECONDS)
    # Any other failure of the database is ours, not the caller's: a logged 500 below.
    if isinstance(error, (WorkflowError, AuditError)) and not isinstance(error, DatabaseFailed):
        return problem(400, "refused", "Refused", str(error))
    log_fault(log, "unhandled error", error)  # its message may quote what must not be logged
    return problem(500, "internal", "Internal error", "an unexpected error occurred")


def answer(error: Exception) -> Response:
    """The answer to an exception: a problem, or a page on the feedback pages."""
    # The customer's feedback page is a page: its refusals are pages too (same status).
    response = from_exception(error)
    if not request.path.startswith("/feedback/"):
        return response
    detail = json.loads(response.get_data(as_text=True)).get("detail", "")
    page = render_template("feedback/refused.html", why=f"{detail[:1].upper()}{detail[1:]}.")
    return Response(page, status=response.status_code, mimetype="text/html",
                    headers={k: v for k, v in response.headers.items()
                             if k in ("Retry-After", "Allow")})


def init_app(app: Flask) -> None:
    """Route every exception through from_exception (a page on the feedback pages)."""
    app.register_error_handler(Exception, answer)
