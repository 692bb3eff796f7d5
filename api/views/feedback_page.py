"""The customer's feedback page, /feedback/<token>: no account, one use, plain HTML that
works without JavaScript. The customer acts as `customer:<id>` in the customer role,
through the same use case and authority as everyone else."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from api import feedback_links
from api.container import current as current_baton
from api.form_integers import form_int
from workflow import handlers
from workflow.errors import WorkflowError
from workflow.model import parse_rfc3339

bp = Blueprint("feedback", __name__, url_prefix="/feedback")


def _refused(why: str, status: int) -> tuple[str, int]:
    return render_template("feedback/refused.html", why=why), status


def _link(token: str) -> feedback_links.Link | tuple[str, int]:
    baton = current_baton()
    try:
        link = feedback_links.read(baton.settings["BATON_SIGNING_KEY"], token)
    except feedback_links.LinkRefused as exc:
        return _refused(f"{exc}.", 400)
    if baton.now() > parse_rfc3339(link.expires):
        return _refused(f"This link expired at {link.expires}: the time to confirm the "
                        "resolution has passed.", 410)
    return link


@bp.get("/<token>")
def page(token: str) -> Any:
    """The form: is it resolved, how satisfied, anything to add."""
    found = _link(token)
    if not isinstance(found, feedback_links.Link):
        return found
    return render_template("feedback/form.html", expires=found.expires)


@bp.post("/<token>")
def answer(token: str) -> Any:
    """Record the customer's answer once; 'not resolved' reopens the case as a repeat."""
    found = _link(token)
    if not isinstance(found, feedback_links.Link):
        return found
    confirmed = request.form.get("confirmed")
    if confirmed not in ("true", "false"):
        return _refused("Please say whether your issue is resolved.", 422)
    payload: dict[str, Any] = {"confirmed": confirmed == "true", "link": found.link_id}
    if request.form.get("csat", "").strip():
        csat = form_int(request.form["csat"])
        if csat is None:
            return _refused("Please rate your satisfaction with a whole number.", 422)
        payload["csat"] = csat
    if request.form.get("comment", "").strip():
        payload["comment"] = request.form["comment"]
    try:
        handlers.answer_feedback(uow=current_baton().uow, escalation_id=found.escalation_id,
                                 link_id=found.link_id, payload=payload,
                                 now=current_baton().now())
    except handlers.LinkNotIssued:
        return _refused("This link was not issued by Baton.", 400)
    except handlers.LinkUsed:
        return _refused("This link has been used already; thank you.", 409)
    except WorkflowError as exc:
        return _refused(f"Your answer could not be recorded: {exc}", 409)
    return render_template("feedback/done.html", confirmed=payload["confirmed"])
