"""Signing in by pasting a token, and signing out."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from api.ui import session as ui_session
from api.ui.blueprint import ui


def _safe_next(target: str | None) -> str:
    # Only a page of the dashboard: never an open redirect to another site.
    if (target and target.startswith("/ui/") and not target.startswith("/ui//")
            and target.isprintable()):  # no CR/LF (a header) nor other controls
        return target
    return url_for("ui.queue")


@ui.get("/login")
def login() -> Any:
    """The sign-in form."""
    return render_template("ui/login.html", next=request.args.get("next", ""))


@ui.post("/login")
def login_post() -> Any:
    """Sign in with a token: a session for its actor, or the form again with why not."""
    token = request.form.get("token", "").strip()
    actor = ui_session.sign_in(token) if token else None
    if actor is None:
        return render_template("ui/login.html", next=request.form.get("next", ""),
                               error="That token is unknown or has been revoked."), 401
    flash(f"Signed in as {actor.handle} ({', '.join(actor.roles)}).", "done")
    return redirect(_safe_next(request.form.get("next")), 303)


@ui.post("/logout")
def logout() -> Any:
    """Sign out: the session ends."""
    ui_session.sign_out()
    flash("Signed out.", "done")
    return redirect(url_for("ui.login"), 303)
