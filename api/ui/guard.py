"""Every dashboard request: the CSRF check on posts, the signed-in viewer (or a redirect
to sign in), and errors rendered as pages (the API's problem+json is for the API)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from api import read_access
from api.container import current as current_baton
from api.container import request_connection
from api.fault_log import log_fault
from api.ui import session as ui_session
from api.ui.blueprint import ui
from audit.errors import AuditError, DatabaseBusy, NotInitialised
from workflow.authority import decide, permit
from workflow.errors import EscalationNotFound, WorkflowError

log = logging.getLogger("baton.ui")

# Pages reachable signed out; every other page redirects to the sign-in page.
_OPEN = frozenset(("ui.login", "ui.login_post", "ui.sso_login", "ui.sso_callback"))


@ui.before_request
def _guard() -> Any:
    """Refuse posts without this session's CSRF token; send signed-out visits to sign in."""
    if request.method == "POST" and not ui_session.csrf_ok(request):
        return render_template("ui/error.html", status=400, title="Form refused",
                               detail="The form did not carry this session's CSRF token "
                                      "(it may be stale): reload the page and try again."), 400
    if request.endpoint in _OPEN:
        return None
    actor = ui_session.viewer()
    if actor is None:
        why = ui_session.ended()
        ui_session.forget()
        target = url_for("ui.login", next=request.full_path.rstrip("?"), ended=why)
        if request.headers.get("HX-Request"):
            # A polled fragment: send the whole page to sign in, not the fragment.
            return Response(status=204, headers={"HX-Redirect": target})
        return redirect(target, 303)
    g.actor = actor
    return read_access.refused_page(actor)


@ui.context_processor
def _navigation() -> dict[str, Any]:
    """Whether to offer the audit page and the new-escalation form: the same decisions
    the pages themselves make."""
    actor = g.get("actor")
    if actor is None:
        return {"can_read_audit": False, "can_open": False}
    policy = current_baton().policy(request_connection())
    return {"can_read_audit": permit(actor, "read-audit", policy).allowed,
            "can_open": decide(actor, "open", None, None, policy).allowed}


@ui.errorhandler(Exception)
def _error(exc: Exception) -> Any:
    """Errors inside the dashboard as pages (the API's problem+json is for the API)."""
    if isinstance(exc, HTTPException):
        code = exc.code or 500
        return render_template("ui/error.html", status=code, title=exc.name,
                               detail=exc.description), code
    if isinstance(exc, EscalationNotFound):
        return render_template("ui/error.html", status=404, title="Not found",
                               detail=str(exc)), 404
    if isinstance(exc, (NotInitialised, DatabaseBusy)):
        return render_template("ui/error.html", status=503, title="Unavailable",
                               detail=str(exc) or "the database is busy; retry"), 503
    if isinstance(exc, (WorkflowError, AuditError)):
        return render_template("ui/error.html", status=400, title="Refused",
                               detail=str(exc)), 400
    log_fault(log, "unhandled error in the dashboard", exc)
    return render_template("ui/error.html", status=500, title="Internal error",
                           detail="an unexpected error occurred"), 500
