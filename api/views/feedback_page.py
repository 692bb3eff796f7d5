"""The customer's feedback page, /feedback/<token>: no account, one use, plain HTML that
works without JavaScript. The customer acts as `customer:<id>` in the customer role,
through the same use case and authority as everyone else."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from api import feedback_links
from api.container import current as current_baton
from api.form_integers import form_int
from audit.store import projection
from workflow import handlers
from workflow.action_effects import LINK_USED, LINK_VOID
from workflow.errors import PayloadInvalid, WorkflowError
from workflow.model import Escalation, parse_rfc3339

bp = Blueprint("feedback", __name__, url_prefix="/feedback")
VOID = ("Your case was reopened after this link was sent, so it no longer applies. When it "
        "is resolved again you will get a new one.")


def _refused(why: str, status: int) -> tuple[str, int]:
    # 422 is the customer's answer to correct, on a link that still works: the page says so.
    return render_template("feedback/refused.html", why=why, retry=status == 422), status


def _link(token: str) -> feedback_links.Link | tuple[str, int]:
    baton = current_baton()
    try:
        link = feedback_links.read(baton.settings["BATON_SIGNING_KEY"], token)
    except feedback_links.LinkRefused as exc:
        return _refused(f"{exc}.", 400)
    return link


def _spent(esc: Escalation | None, link: feedback_links.Link) -> tuple[str, int] | None:
    """The page for a link that can no longer be answered (used already, void since a
    reopen, past its time, or unknown to the ledger), or None while it can. An answered
    link says so even once expired: the customer's answer is what matters to them."""
    state = esc.feedback_links.get(link.link_id) if esc is not None else None
    if state is None:
        return _refused("This link was not issued by Baton.", 400)
    if state == LINK_USED:
        return render_template("feedback/answered.html"), 409
    if state == LINK_VOID:
        return _refused(VOID, 410)
    if current_baton().now() > parse_rfc3339(link.expires):
        return _refused(f"This link expired at {link.expires}: the time to confirm the "
                        "resolution has passed.", 410)
    return None


@bp.get("/<token>")
def page(token: str) -> Any:
    """The form: is it resolved, how satisfied, anything to add (or, for a link already
    answered or void, the page that says so)."""
    found = _answerable(token)
    if not isinstance(found, feedback_links.Link):
        return found
    return render_template("feedback/form.html", expires=found.expires)


def _answerable(token: str) -> feedback_links.Link | tuple[str, int]:
    """The link while it can be answered, else the page that says why not."""
    found = _link(token)
    if not isinstance(found, feedback_links.Link):
        return found
    with current_baton().engine.connect() as conn:
        spent = _spent(projection.load(conn, found.escalation_id), found)
    return found if spent is None else spent


@bp.post("/<token>")
def answer(token: str) -> Any:
    """Record the customer's answer once; 'not resolved' reopens the case as a repeat."""
    found = _answerable(token)
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
        return render_template("feedback/answered.html"), 409
    except handlers.LinkVoid:
        return _refused(VOID, 410)
    except PayloadInvalid as exc:
        return _refused(f"Your answer could not be recorded: {exc}", 422)
    except WorkflowError as exc:
        return _refused(f"Your answer could not be recorded: {exc}", 409)
    return render_template("feedback/done.html", confirmed=payload["confirmed"])
