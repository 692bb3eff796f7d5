"""Dashboard sessions, kept on the server: the cookie holds only a random session id; the
database keeps its SHA-256 with the actor, the token it was opened with, when it was
opened and last used, and when and why it ended (audit/store/sessions.py). A session ends
at sign-out, when its token is revoked or rotated, when an administrator ends it (`baton
sessions end`), after BATON_SESSION_IDLE unused (default 30m) and, whatever happens,
BATON_SESSION_LIFETIME after sign-in (default 12h; never renewed). A cookie copied before
sign-out names an ended session and is refused.

Before sign-in the cookie holds an id no row has: the key of the sign-in form's CSRF
token. Every CSRF token is an HMAC of the session id under a secret derived from the
checkpoint signing key file (BATON_SIGNING_KEY), so that every worker sharing the key
checks it with nothing new to create, copy or back up.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Request, Response, current_app, has_request_context, request, session
from flask.sessions import SecureCookieSession
from flask.sessions import SessionInterface as FlaskSessionInterface

from api.container import current as current_baton
from api.container import request_connection
from api.fault_log import log_fault
from api.read_access import DASHBOARD
from audit.store import session_actors, sessions
from audit.store.actors import token_hash
from audit.store.sessions import SqlSessions
from workflow import dashboard_sessions
from workflow.dashboard_sessions import Limits
from workflow.identity_claims import with_via
from workflow.model import Actor
from workflow.policy_loader import parse_duration

_LABEL = b"baton/ui-session/v1"
COOKIE = "baton_session"
CSRF_FIELD = "csrf_token"
_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)
DEFAULT_LIFETIME = "12h"
DEFAULT_IDLE = "30m"
VIA = "via"  # the session's data: {role: the claim that granted it}, when signed on (sso.py)
log = logging.getLogger("baton.ui")


def derive_secret(key_path: str | Path, label: bytes = _LABEL) -> bytes | None:
    """A secret derived from the signing key file for one purpose (`label`: the UI's
    CSRF tokens by default), or None when the key cannot be read."""
    try:
        key = Path(key_path).read_bytes()
    except OSError:  # missing, a directory, unreadable: no secret, as without a key
        return None
    return hmac.new(key, label, hashlib.sha256).digest()


def limits(settings: Mapping[str, Any]) -> Limits:
    """The absolute lifetime and idle timeout (BATON_SESSION_LIFETIME, _IDLE: "12h",
    "30m" or seconds), from the settings (an app's config) or the environment."""
    def read(name: str, default: str) -> timedelta:
        value = settings.get(name, os.environ.get(name, default))
        try:
            return timedelta(seconds=parse_duration(value))
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    return Limits(read("BATON_SESSION_LIFETIME", DEFAULT_LIFETIME),
                  read("BATON_SESSION_IDLE", DEFAULT_IDLE))


class ServerSession(SecureCookieSession):
    """This request's session: its id, the stored session once looked up (the viewer,
    when it is running), and what the response must do with the cookie."""

    def __init__(self, session_id: str | None = None) -> None:
        super().__init__({})
        self.sid = session_id
        self.hash: str | None = None
        self.viewer: Actor | None = None
        self.seen: datetime | None = None
        self.looked_up = False
        self.ended: str | None = None  # why the session the cookie named has ended
        self.close_hash: str | None = None  # it ran out now: mark it ended
        self.set_cookie = False
        self.drop_cookie = False


def _this() -> ServerSession:
    found = session._get_current_object()  # type: ignore[attr-defined]
    assert isinstance(found, ServerSession)
    return found


class SessionInterface(FlaskSessionInterface):
    """Server-side sessions: the cookie carries the id; the lookup waits until the
    dashboard's guard asks who the viewer is (inside the request, where errors become
    pages); the response writes the cookie and, when due, when the session was last seen."""

    def __init__(self, key_path: str) -> None:
        self.key_path = key_path

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        # Parsed only when a cookie was sent (an API client sends none: it is for /ui).
        sent = request.cookies.get(COOKIE, "") if "HTTP_COOKIE" in request.environ else ""
        return ServerSession(sent if _ID.match(sent) else None)

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        if not isinstance(session, ServerSession):
            return
        secure = bool(has_request_context() and request.is_secure)
        if session.drop_cookie:
            response.delete_cookie(COOKIE, path="/ui", secure=secure, httponly=True,
                                   samesite="Lax")
        elif session.set_cookie and session.sid:
            response.set_cookie(COOKIE, session.sid, path="/ui", secure=secure,
                                httponly=True, samesite="Lax")
        if session.looked_up:
            response.vary.add("Cookie")
        try:
            _write_back(app, session)
        except Exception as exc:  # noqa: BLE001 - the response is made; never a 500 here
            log_fault(log, "session not written back", exc)


def _write_back(app: Flask, s: ServerSession) -> None:
    if s.close_hash is None and s.viewer is None:
        return  # nothing to write (every request that is not a signed-in page's)
    baton = current_baton()
    now = baton.now()
    if s.close_hash is not None and s.ended is not None:
        uow = baton.uow()
        dashboard_sessions.close(uow=uow, store=SqlSessions(uow), id_hash=s.close_hash,
                                 why=s.ended, now=now)
    if s.viewer is None or s.hash is None or s.seen is None:
        return
    if s.modified or now - s.seen >= limits(app.config).touch_every:
        uow = baton.uow()
        dashboard_sessions.keep(uow=uow, store=SqlSessions(uow), id_hash=s.hash,
                                data=dict(s) if s.modified else None, now=now)


def viewer() -> Actor | None:
    """The actor of this request's running session, or None (signed out, or the session
    has ended: `ended()` says why)."""
    s = _this()
    if s.looked_up or s.sid is None:
        return s.viewer
    s.looked_up = True
    s.hash = sessions.id_hash(s.sid)
    stored = sessions.lookup(request_connection(), s.hash)
    if stored is None:
        return None  # an id no session has: a visitor who has not signed in
    why = dashboard_sessions.ended_why(stored, current_baton().now(),
                                       limits(current_app.config))
    if why is not None:
        s.ended, s.sid, s.drop_cookie = why, None, True
        s.close_hash = s.hash if stored.ended_at is None else None
        return None
    s.update(stored.data)
    s.modified = False
    s.viewer, s.seen = with_via(stored.actor, stored.data.get(VIA)), stored.last_seen_at
    return s.viewer


def ended() -> str | None:
    """Why the session this request's cookie named has ended, if it has."""
    return _this().ended


def sign_in(token: str) -> Actor | None:
    """Open a session for the token's actor, on the ledger; None (and no session) if the
    token is unknown. AuthorityDenied when the actor's roles read nothing here."""
    token_id = token_hash(token)
    conn = request_connection()
    actor = session_actors.by_token_hash(conn, token_id)
    if actor is None:
        return None
    baton = current_baton()
    policy, now = baton.policy(conn), baton.now()
    session_id = secrets.token_urlsafe(32)
    uow = baton.uow()
    dashboard_sessions.sign_in(uow=uow, store=SqlSessions(uow), actor=actor,
                               token_id=token_id, id_hash=sessions.id_hash(session_id),
                               reads=DASHBOARD, policy=policy, now=now)
    adopt(session_id, actor, now)
    return actor


def adopt(session_id: str, actor: Actor, now: datetime) -> None:
    """Make a session just opened (on the ledger) this request's, its cookie sent."""
    s = _this()
    s.clear()
    s.sid, s.hash, s.viewer, s.seen = session_id, sessions.id_hash(session_id), actor, now
    s.looked_up = s.set_cookie = True
    s.drop_cookie = False


def sign_out() -> None:
    """End this session (on the ledger when one was running) and drop the cookie."""
    s = _this()
    actor = viewer()
    if actor is not None and s.hash is not None:
        baton = current_baton()
        uow = baton.uow()
        dashboard_sessions.sign_out(uow=uow, store=SqlSessions(uow), actor=actor,
                                    id_hash=s.hash, policy=baton.policy(request_connection()),
                                    now=baton.now())
    forget()


def forget() -> None:
    """Drop this request's session and its cookie (nothing is written)."""
    s = _this()
    s.clear()
    s.modified = False
    s.sid = s.viewer = None
    s.drop_cookie = True


def _secret() -> bytes | None:
    return derive_secret(current_app.config["BATON_SIGNING_KEY"])


def csrf_token() -> str:
    """This session's CSRF token: an HMAC of its id (a visitor not yet signed in is
    given an id for it)."""
    s = _this()
    if s.sid is None:
        s.sid, s.set_cookie, s.drop_cookie = secrets.token_urlsafe(32), True, False
    secret = _secret()
    if secret is None:
        return ""  # no signing key: nothing can be signed in or written anyway
    return hmac.new(secret, b"csrf:" + s.sid.encode(), hashlib.sha256).hexdigest()


def csrf_ok(req: Request) -> bool:
    """Whether a posted form carries this session's CSRF token."""
    s = _this()
    if s.sid is None or _secret() is None:
        return False
    sent = req.form.get(CSRF_FIELD, "")
    return hmac.compare_digest(csrf_token().encode(), sent.encode())


def cookie_settings() -> dict[str, Any]:
    """The session cookie's flags (Secure is decided per request)."""
    return {"SESSION_COOKIE_NAME": COOKIE, "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax", "SESSION_COOKIE_PATH": "/ui"}
