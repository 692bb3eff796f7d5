"""Bearer-token authentication: who the actor of a request is (not what it may do), and
the back-off that slows whoever guesses tokens (on the API and the sign-in form alike)."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, Response, current_app, g, render_template, request
from werkzeug.exceptions import ServiceUnavailable

from api import jwt_auth
from api.container import current as current_baton
from api.container import request_connection
from api.problems import problem
from api.rate_limit import FailureBackoff, retry_after
from audit.errors import SigningUnavailable
from audit.store import actors
from workflow.authority import permit
from workflow.model import Actor

PUBLIC = ("/api/v1/healthz", "/healthz", "/api/v1/openapi.json", "/api/v1/docs")
BACKOFF = "baton_auth_backoff"
# The dashboard's sign-in form: its failures count like the API's, and it is slowed alike.
LOGIN_ENDPOINT = "ui.login_post"


def current_actor() -> Actor:
    """The authenticated actor of this request."""
    actor: Actor = g.actor
    return actor


def _backoff() -> FailureBackoff:
    backoff: FailureBackoff = current_app.extensions[BACKOFF]
    return backoff


def _slowed() -> Response | None:
    """429 (Retry-After) when this client has failed to authenticate too often lately."""
    wait = _backoff().wait(request.remote_addr)
    if wait <= 0:
        return None
    seconds = retry_after(wait)
    if request.endpoint == LOGIN_ENDPOINT:
        page = render_template("ui/error.html", status=429, title="Too many attempts",
                               detail=f"Too many unknown tokens were tried from here. Try "
                                      f"again in {seconds} seconds.")
        return Response(page, status=429, headers={"Retry-After": str(seconds)})
    return problem(429, "too-many-failures", "Too many failed authentications",
                   f"too many unknown tokens were sent from this address; retry in "
                   f"{seconds} seconds", retry_after=seconds)


def _authenticate() -> Response | None:
    if request.endpoint == LOGIN_ENDPOINT:
        return _slowed()
    if request.path in PUBLIC or not (request.path.startswith("/api/")
                                      or request.path == "/metrics"):
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _slowed() or problem(401, "unauthenticated", "Unauthenticated",
                                    "send Authorization: Bearer TOKEN")
    slowed = _slowed()
    if slowed is not None:
        return slowed
    if jwt_auth.enabled() and jwt_auth.looks_like_jwt(token.strip()):
        return jwt_auth.authenticate(token.strip())  # the provider's JWT (api/jwt_auth.py)
    found = actors.signed_in(request_connection(), token.strip())
    if found is None:
        _backoff().failed(request.remote_addr)
        return problem(401, "unauthenticated", "Unauthenticated",
                       "the token is unknown or revoked")
    # The policy version in force came with the actor, for the read gate (read_access).
    g.actor, g.policy_version = found
    return None


def _pages_need_the_key() -> None:
    # The dashboard's session secret and the feedback links are derived from the signing
    # key: without a usable key (missing, garbled, a directory) the pages answer 503, as
    # the API's writes do, instead of failing on a session that cannot be signed.
    if not request.path.startswith(("/ui/", "/feedback/")):
        return
    try:
        current_baton().key.get()
    except SigningUnavailable:
        raise ServiceUnavailable("Baton's signing key is unavailable, so sessions and "
                                 "links cannot be checked now; try again later",
                                 retry_after=2) from None


def _count_login_failure(response: Response) -> Response:
    if request.endpoint == LOGIN_ENDPOINT and response.status_code == 401:
        _backoff().failed(request.remote_addr)
    return response


def optional_actor() -> Actor | None:
    """The actor of this request's bearer token on a public route, or None (no token, or
    an unknown one: a public route answers anyone, and counts nothing)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return actors.by_token(request_connection(), token.strip())


def _number(app: Flask, key: str, default: float) -> float:
    raw = app.config.get(key, os.environ.get(key, default))
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be a number, not {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{key} must be positive, not {raw!r}")
    return value


# What /healthz shows anyone: whether writes can succeed and which part fails. The rest
# (how long deliveries wait, when one was last tried, any detail added later) is for an
# operator: a token whose roles may operate Baton (the admin's `manage-actors`).
PUBLIC_HEALTH = ("status", "database", "signing", "worker")
OPERATOR_PERMISSION = "manage-actors"


def health_as_seen(body: dict[str, Any], status: int) -> tuple[dict[str, Any], int]:
    """The health answer as this request may see it: the details only for an operator."""
    actor = optional_actor() if len(body) > len(PUBLIC_HEALTH) else None
    if actor is not None:
        policy = current_baton().policy(request_connection())
        if permit(actor, OPERATOR_PERMISSION, policy).allowed:
            return body, status
    return {k: v for k, v in body.items() if k in PUBLIC_HEALTH}, status


def init_app(app: Flask, **backoff: Any) -> None:
    """Authenticate every request but health and the API documents; slow down clients
    that keep failing to (BATON_AUTH_FAILURE_RATE a second after BATON_AUTH_FAILURE_BURST
    failures; `backoff`: FailureBackoff's arguments, e.g. a test's clock)."""
    backoff.setdefault("rate", _number(app, "BATON_AUTH_FAILURE_RATE", 0.2))
    backoff.setdefault("burst", _number(app, "BATON_AUTH_FAILURE_BURST", 10))
    app.extensions[BACKOFF] = FailureBackoff(**backoff)
    jwt_auth.init_app(app)
    app.before_request(_pages_need_the_key)
    app.before_request(_authenticate)
    app.after_request(_count_login_failure)
