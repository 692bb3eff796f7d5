"""Dashboard sessions: a signed cookie naming the signed-in token (by its hash), the
secret it is signed with, and the CSRF token every form carries.

The secret is an HMAC-SHA256 of a fixed label keyed with the bytes of the checkpoint
signing key file (BATON_SIGNING_KEY). Every worker and every server that shares the key
derives the same secret with nothing new to create, copy or back up; rotating the signing
key ends every session; and the HMAC reveals nothing about the key it is keyed with.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, Request, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from api.container import request_connection
from audit.store import session_actors
from audit.store.actors import token_hash
from workflow.model import Actor

_LABEL = b"baton/ui-session/v1"
COOKIE = "baton_session"
CSRF_FIELD = "csrf_token"


def derive_secret(key_path: str | Path, label: bytes = _LABEL) -> bytes | None:
    """A secret derived from the signing key file for one purpose (`label`: the UI's
    sessions by default), or None when the key is missing."""
    try:
        key = Path(key_path).read_bytes()
    except OSError:  # missing, a directory, unreadable: no secret, as without a key
        return None
    return hmac.new(key, label, hashlib.sha256).digest()


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, keyed by the derived secret, Secure over https."""

    salt = "baton-ui-session"

    def __init__(self, key_path: str) -> None:
        self.key_path = key_path
        self._secret: bytes | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if self._secret is None:
            # Derived at first use: the key may be created (baton init) after the app.
            self._secret = derive_secret(self.key_path)
            if self._secret is None:
                return None  # Flask's NullSession: signing in explains the missing key
        return URLSafeTimedSerializer(
            self._secret, salt=self.salt, serializer=self.serializer,
            signer_kwargs={"key_derivation": self.key_derivation,
                           "digest_method": self.digest_method})

    def get_cookie_secure(self, app: Flask) -> bool:
        # Secure whenever this request came over https (through ProxyFix behind a proxy).
        return bool(has_request_context() and request.is_secure)


def sign_in(token: str) -> Actor | None:
    """Start a session for the token's actor; None (and no session) if it is unknown."""
    digest = token_hash(token)
    actor = session_actors.by_token_hash(request_connection(), digest)
    if actor is None:
        return None
    session.clear()
    session["token_hash"] = digest
    session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return actor


def sign_out() -> None:
    """End this session."""
    session.clear()


def viewer() -> Actor | None:
    """The actor this request's session names, while its token is still active."""
    digest = session.get("token_hash")
    if not isinstance(digest, str):
        return None
    return session_actors.by_token_hash(request_connection(), digest)


def csrf_token() -> str:
    """This session's CSRF token (created on first use, e.g. by the sign-in form)."""
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


def csrf_ok(req: Request) -> bool:
    """Whether a posted form carries this session's CSRF token."""
    expected = session.get(CSRF_FIELD)
    sent = req.form.get(CSRF_FIELD, "")
    return isinstance(expected, str) and hmac.compare_digest(expected.encode(), sent.encode())


def cookie_settings() -> dict[str, Any]:
    """The session cookie's flags (Secure is decided per request)."""
    return {"SESSION_COOKIE_NAME": COOKIE, "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax", "SESSION_COOKIE_PATH": "/ui"}
