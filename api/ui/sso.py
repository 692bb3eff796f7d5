"""Signing in to the dashboard through the organisation's OpenID Connect provider: the
authorization-code flow with PKCE (S256), `state` and `nonce`, by Authlib's Flask client,
configured by BATON_OIDC_ISSUER, BATON_OIDC_CLIENT_ID and BATON_OIDC_CLIENT_SECRET
(endpoints and keys by discovery from the issuer).

Between the redirect to the provider and its answer, the flow's secrets (state, nonce,
PKCE verifier, where to go next) travel in a cookie of their own, encrypted and
authenticated with a key derived from the signing key file, scoped to /ui/sso and good for
ten minutes: nothing is stored for a visitor who never comes back, and any worker can
finish what another began. The person's roles and team come from their ID token's claims
through the policy (workflow.identity_claims); their session is the dashboard's usual
server-side one, its `dashboard-signed-in` record naming the claim that granted the role.
Every failure is a page that says what went wrong, never a 500, and nothing of a token or
a claim but the handle is logged."""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
from typing import Any

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from cryptography.fernet import Fernet, InvalidToken
from flask import Flask, current_app, flash, redirect, render_template, request, session, url_for
from joserfc.errors import JoseError

from api.container import current as current_baton
from api.read_access import DASHBOARD
from api.ui import session as ui_session
from api.ui.blueprint import ui
from api.ui.login import safe_next
from audit.store import sessions
from audit.store.sessions import SqlSessions
from audit.store.sign_on_accounts import SqlSignOnAccounts
from workflow import sign_on
from workflow.errors import AuthorityDenied
from workflow.identity_claims import IdentityRefused

PENDING = "baton_sso"
PENDING_SECONDS = 600
SCOPE = "openid profile email"
_LABEL = b"baton/sso-pending/v1"
_STATE = "_state_baton_"  # Authlib's session keys for this client's pending flows
_ERROR_CODE = re.compile(r"^[a-z_]{1,40}$")
log = logging.getLogger("baton.ui")

# Why a person was refused, as the page says it (keys: IdentityRefused.why).
REFUSED = {
    "no-role": "None of your groups is given a role in Baton by its policy, so you have "
               "no access. Ask your administrator to map one of your groups (the policy's "
               "[identity.groups] table) or to add you to a mapped group.",
    "no-handle": "Your identity provider sent no name Baton can use for you.",
    "teams": "Your groups give you different teams in Baton, and a person has one team. "
             "Ask your administrator to correct the mapping or your groups.",
    "taken": "Your name in Baton already belongs to another account (a service account "
             "or another sign-on). Ask your administrator.",
    "revoked": "Your access to Baton has been revoked. Ask your administrator.",
}


def enabled(app: Flask | None = None) -> bool:
    """Whether single sign-on is configured (BATON_OIDC_ISSUER)."""
    return bool((app or current_app).config.get("BATON_OIDC_ISSUER"))


def _client() -> Any:
    return current_app.extensions["authlib.integrations.flask_client"].create_client("baton")


def _fernet() -> Fernet | None:
    secret = ui_session.derive_secret(current_app.config["BATON_SIGNING_KEY"], _LABEL)
    return None if secret is None else Fernet(base64.urlsafe_b64encode(secret))


def _page(status: int, title: str, detail: str) -> Any:
    return render_template("ui/sso_error.html", status=status, title=title,
                           detail=detail), status


@ui.get("/sso/login")
def sso_login() -> Any:
    """Send the browser to the provider, the flow's secrets in the pending cookie."""
    fernet = _fernet() if enabled() else None
    if fernet is None:
        return _page(404, "Single sign-on is not available",
                     "This installation has no identity provider configured (or no "
                     "signing key): sign in with a token.")
    try:
        client = _client()
        issuer = str(client.load_server_metadata().get("issuer", "")).rstrip("/")
        if issuer != current_app.config["BATON_OIDC_ISSUER"]:
            log.warning("identity provider's discovery document names another issuer")
            return _page(503, "Identity provider misconfigured", "The identity provider "
                         "names another issuer than Baton is configured with: ask your "
                         "administrator.")
        answer = client.authorize_redirect(url_for("ui.sso_callback", _external=True))
    except (requests.RequestException, ValueError) as exc:
        log.warning("identity provider out of reach: %s", type(exc).__name__)
        return _page(503, "Identity provider unavailable",
                     "Baton could not reach the identity provider. Try again in a "
                     "moment, or sign in with a token.")
    pending = {k: session.pop(k) for k in list(session) if k.startswith(_STATE)}
    sealed = fernet.encrypt(json.dumps(
        {"state": pending, "next": safe_next(request.args.get("next"))}).encode())
    answer.set_cookie(PENDING, sealed.decode(), max_age=PENDING_SECONDS, path="/ui/sso",
                      secure=request.is_secure, httponly=True, samesite="Lax")
    return answer


def _pending() -> dict[str, Any] | None:
    fernet, sealed = _fernet(), request.cookies.get(PENDING, "")
    if fernet is None or not sealed:
        return None
    try:
        found = json.loads(fernet.decrypt(sealed.encode(), ttl=PENDING_SECONDS))
    except (InvalidToken, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _claims() -> dict[str, Any] | Any:
    """The verified ID token's claims, or the page saying why there are none."""
    try:
        token = _client().authorize_access_token()
    except MismatchingStateError:
        return _page(400, "Sign-in refused", "The answer from the identity provider does "
                     "not belong to the sign-in this browser started (state mismatch). "
                     "Start again.")
    except OAuthError as exc:
        code = exc.error if _ERROR_CODE.match(str(exc.error)) else "error"
        return _page(401, "Sign-in refused", f"The identity provider did not sign you in "
                     f"({code}). Start again, or ask your administrator.")
    except JoseError as exc:
        claim = getattr(exc, "claim", None)  # which check: nonce, iss, aud, exp…
        check = f"{exc.error}: {claim}" if isinstance(claim, str) else exc.error
        log.warning("ID token refused: %s", check)
        return _page(401, "Sign-in refused", f"The identity provider's ID token could not "
                     f"be verified ({check}). Start again.")
    except (requests.RequestException, ValueError) as exc:
        log.warning("identity provider out of reach: %s", type(exc).__name__)
        return _page(503, "Identity provider unavailable", "Baton could not reach the "
                     "identity provider to finish signing you in. Try again in a moment.")
    claims = token.get("userinfo")
    if not claims:
        return _page(401, "Sign-in refused", "The identity provider sent no ID token.")
    return dict(claims)


@ui.get("/sso/callback")
def sso_callback() -> Any:
    """The provider's answer: verify it, enrol the person and open their session."""
    pending = _pending() if enabled() else None
    if pending is None:
        return _page(400, "Sign-in expired", "This sign-in was not started in this browser "
                     "or took longer than ten minutes. Start again.")
    session.update(pending.get("state") or {})
    claims = _claims()
    if not isinstance(claims, dict):
        return _forget(claims)
    baton = current_baton()
    session_id = secrets.token_urlsafe(32)
    try:
        done = sign_on.sign_in(
            uow=baton.uow, accounts=SqlSignOnAccounts, sessions=SqlSessions, claims=claims,
            issuer=current_app.config["BATON_OIDC_ISSUER"], reads=DASHBOARD,
            id_hash=sessions.id_hash(session_id), now=baton.now())
    except IdentityRefused as exc:
        return _forget(_page(403, "No access to Baton", REFUSED[exc.why]))
    except AuthorityDenied as exc:
        return _forget(_page(403, "No access to Baton",
                             f"Refused by rule {exc.rule}: {exc.reason}."))
    # Who signed in is on the ledger (dashboard-signed-in); the handle stays out of the log,
    # as the provider's preferred_username is often an email address.
    log.info("signed in through the identity provider")
    ui_session.adopt(session_id, done.actor, baton.now())
    session[ui_session.VIA] = dict(done.actor.via)
    flash(f"Signed in as {done.actor.handle} ({', '.join(done.actor.roles)}) through "
          "single sign-on.", "done")
    return _forget(redirect(pending.get("next") or url_for("ui.queue"), 303))


def _forget(answer: Any) -> Any:
    """The answer, with the pending cookie dropped (one use only)."""
    made = current_app.make_response(answer)
    made.delete_cookie(PENDING, path="/ui/sso", secure=request.is_secure, httponly=True,
                       samesite="Lax")
    return made


def init_app(app: Flask) -> None:
    """Register the provider with Authlib when BATON_OIDC_ISSUER is set."""
    if not enabled(app):
        return
    oauth = OAuth(app)
    oauth.register(
        "baton", client_id=app.config["BATON_OIDC_CLIENT_ID"],
        client_secret=app.config["BATON_OIDC_CLIENT_SECRET"] or None,
        server_metadata_url=f"{app.config['BATON_OIDC_ISSUER']}/.well-known/"
                            "openid-configuration",
        client_kwargs={"scope": SCOPE, "code_challenge_method": "S256",
                       "default_timeout": 10})
