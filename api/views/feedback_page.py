"""The customer's feedback page, /feedback/<token>: no account, one use, plain HTML that
works without JavaScript. The customer acts as `customer:<id>` in the customer role,
through the same use case and authority as everyone else."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from api import feedback_links
from api.container import current as current_baton
from audit.store import projection
from workflow import services
from workflow.action_effects import LINK_USED, LINK_VOID
from workflow.authority import customer_actor
from workflow.errors import WorkflowError
from workflow.model import Escalation, parse_rfc3339

bp = Blueprint("feedback", __name__, url_prefix="/feedback")


def _refused(why: str, status: int) -> tuple[str, int]:
    return render_template("feedback/refused.html", why=why), status


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
        return _refused("Your case was reopened after this link was sent, so it no longer "
                        "applies. When it is resolved again you will get a new one.", 410)
    if current_baton().now() > parse_rfc3339(link.expires):
        return _refused(f"This link expired at {link.expires}: the time to confirm the "
                        "resolution has passed.", 410)
    return None


@bp.get("/<token>")
def page(token: str) -> Any:
    """The form: is it resolved, how satisfied, anything to add (or, for a link already
    answered or void, the page that says so)."""
    found = _link(token)
    if not isinstance(found, feedback_links.Link):
        return found
    with current_baton().engine.connect() as conn:
        spent = _spent(projection.load(conn, found.escalation_id), found)
    if spent is not None:
        return spent
    return render_template("feedback/form.html", expires=found.expires)


@bp.post("/<token>")
def answer(token: str) -> Any:
    """Record the customer's answer once; 'not resolved' reopens the case as a repeat."""
    found = _link(token)
    if not isinstance(found, feedback_links.Link):
        return found
    confirmed = request.form.get("confirmed")
    payload: dict[str, Any] = {"confirmed": confirmed == "true", "link": found.link_id}
    if request.form.get("csat", "").isdigit():
        payload["csat"] = int(request.form["csat"])
    if request.form.get("comment", "").strip():
        payload["comment"] = request.form["comment"]
    baton = current_baton()
    with baton.uow() as uow:
        esc = uow.escalations.get(found.escalation_id)
        spent = _spent(esc, found)
        if esc is None or spent is not None:
            return spent
        if confirmed not in ("true", "false"):
            return _refused("Please say whether your issue is resolved.", 422)
        try:
            services.act(uow=uow, actor=customer_actor(esc.customer_id),
                         escalation_id=found.escalation_id, action="confirm-resolution",
                         payload=payload, policy=baton.policy(uow.conn), now=baton.now())
        except WorkflowError as exc:
            return _refused(f"Your answer could not be recorded: {exc}", 409)
        uow.commit()
    return render_template("feedback/done.html", confirmed=payload["confirmed"])
