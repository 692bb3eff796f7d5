"""Signing in by pasting a token, and signing out."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for

from api.ui import session as ui_session
from api.ui.blueprint import ui
from workflow.dashboard_sessions import ENDED_BY_ADMIN, EXPIRED, IDLE, SIGNED_OUT, TOKEN_REVOKED
from workflow.errors import AuthorityDenied

# Why the last session ended, as the sign-in page says it (a fixed vocabulary: the
# query string never puts text of its own on the page).
ENDED = {SIGNED_OUT: "Signed out.",
         IDLE: "Your session ended after a while unused: sign in again.",
         EXPIRED: "Your session reached its time limit: sign in again.",
         TOKEN_REVOKED: "Your session ended: its token was revoked or replaced.",
         ENDED_BY_ADMIN: "Your session was ended by an administrator."}


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a page of the dashboard, else the queue."""
    # Only a page of the dashboard: never an open redirect to another site.
    if (target and target.startswith("/ui/") and not target.startswith("/ui//")
            and target.isprintable() and "\\" not in target  # no CR/LF nor controls
            and not {".", ".."} & set(unquote(urlsplit(target).path).split("/"))):
        return target  # ("/ui/../api/…" would climb out: browsers resolve dot segments)
    return url_for("ui.queue")


@ui.get("/login")
def login() -> Any:
    """The sign-in form (saying why the last session ended, when it did)."""
    why = request.args.get("ended", "")
    if why in ENDED:
        flash(ENDED[why], "done")
    return render_template("ui/login.html", next=request.args.get("next", ""),
                           sso=bool(current_app.config.get("BATON_OIDC_ISSUER")))


@ui.post("/login")
def login_post() -> Any:
    """Sign in with a token: a session for its actor, or the form again with why not."""
    token = request.form.get("token", "").strip()
    try:
        actor = ui_session.sign_in(token) if token else None
    except AuthorityDenied as exc:
        return render_template("ui/login.html", next=request.form.get("next", ""),
                               error=f"Refused by rule {exc.rule}: {exc.reason}."), 403
    if actor is None:
        return render_template("ui/login.html", next=request.form.get("next", ""),
                               error="That token is unknown or has been revoked."), 401
    flash(f"Signed in as {actor.handle} ({', '.join(actor.roles)}).", "done")
    return redirect(safe_next(request.form.get("next")), 303)


@ui.post("/logout")
def logout() -> Any:
    """Sign out: the session ends, on the server and on the ledger."""
    ui_session.sign_out()
    return redirect(url_for("ui.login", ended=SIGNED_OUT), 303)
