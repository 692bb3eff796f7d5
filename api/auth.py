"""Bearer-token authentication: who the actor of a request is (not what it may do)."""

from __future__ import annotations

from flask import Flask, Response, g, request

from api import jwt_auth
from api.container import request_connection
from api.problems import problem
from audit.store import actors
from workflow.model import Actor

PUBLIC = ("/api/v1/healthz", "/healthz", "/api/v1/openapi.json", "/api/v1/docs")


def current_actor() -> Actor:
    """The authenticated actor of this request."""
    actor: Actor = g.actor
    return actor


def _authenticate() -> Response | None:
    if request.path in PUBLIC or not (request.path.startswith("/api/")
                                      or request.path == "/metrics"):
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return problem(401, "unauthenticated", "Unauthenticated",
                       "send Authorization: Bearer TOKEN")
    if jwt_auth.enabled() and jwt_auth.looks_like_jwt(token.strip()):
        return jwt_auth.authenticate(token.strip())  # the provider's JWT (api/jwt_auth.py)
    actor = actors.by_token(request_connection(), token.strip())
    if actor is None:
        return problem(401, "unauthenticated", "Unauthenticated",
                       "the token is unknown or revoked")
    g.actor = actor
    return None


def init_app(app: Flask) -> None:
    """Authenticate every request but health and the API documents."""
    jwt_auth.init_app(app)
    app.before_request(_authenticate)
