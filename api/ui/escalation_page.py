"""One escalation: facts, clocks, the pending hand-off, the actions the viewer may take
(as forms, posted back through the same use case as the API), the timeline and the
ownership swimlane."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from api.auth import current_actor
from api.container import current as current_baton
from api.container import request_connection, request_uow
from api.form_integers import form_int
from api.ui import action_forms, swimlane
from api.ui.blueprint import ui
from api.ui.countdown import clock_name, countdown
from api.ui.local_time import viewer_zone
from api.ui.queue_page import open_states
from audit.reads import records, shown, timeline
from audit.store import actors
from workflow import handlers, services, sla
from workflow.catalogue import CATALOGUE
from workflow.errors import (
    AuthorityDenied,
    EscalationNotFound,
    InvalidTransition,
    NothingToChange,
    PayloadInvalid,
    VersionConflict,
)
from workflow.model import Escalation, parse_rfc3339
from workflow.policy import Policy


def _pending_handoff(esc: Escalation, recs: list[dict[str, Any]], now: datetime,
                     policy: Policy) -> dict[str, Any] | None:
    if esc.proposed_owner is None:
        return None
    due = esc.deadlines.get("handoff")
    answer = countdown(due, now, esc.team, policy) if due else None
    proposal = next((r for r in reversed(recs) if r["action"] == "hand-off"), None)
    if proposal is None:
        return {"to": esc.proposed_owner, "from": esc.owner, "context": None, "at": None,
                "answer": answer}
    return {"to": esc.proposed_owner, "from": proposal["actor"],
            "context": proposal["payload"].get("context"), "at": proposal["at"],
            "erased": "context" in proposal["erased"], "answer": answer}


def _is_primary(action: str, esc: Escalation) -> bool:
    """What the state invites: an action that moves the escalation on, or stops one of
    its running clocks (the others are kept behind a disclosure)."""
    spec = CATALOGUE[action]
    return spec.moves_state or any(clock in esc.deadlines for clock in spec.stops)


@ui.get("/escalations/<string:escalation_id>")
def escalation(escalation_id: str) -> Any:
    """The escalation page."""
    return _page(escalation_id)


def _page(escalation_id: str, typed: dict[str, Any] | None = None) -> str:
    """The page; `typed`: {action: what its refused form held}, shown back in that form."""
    baton = current_baton()
    conn = request_connection()
    # The pending hand-off is shown from the history the timeline reads anyway.
    found = shown.one(conn, escalation_id, handoffs=False, related=False)
    if found is None:
        raise EscalationNotFound(escalation_id)
    esc = found.escalation
    policy = baton.policy(conn)
    now = baton.now()
    actor = current_actor()
    recs = records.history(conn, escalation_id)
    built = timeline.build(recs)
    for event, rec in zip(built["events"], recs, strict=True):
        event["policy_version"] = rec["policy_version"]
    allowed = services.allowed_actions(esc, actor, policy)
    refused = services.refusals(esc, actor, policy)  # what `act` would answer each
    live = esc.state in open_states(policy)
    end = now if live else parse_rfc3339(recs[-1]["at"])
    clocks = [(clock_name(esc, clock), countdown(due, now, esc.team, policy),
               esc.breached.get(clock) == due)
              for clock, due in sorted(esc.deadlines.items(), key=lambda kv: kv[1])]
    forms = [action_forms.form(a, policy) for a in allowed]
    return render_template(
        "ui/escalation.html", esc=esc, texts=found.texts, timeline=built, clocks=clocks,
        handoff=_pending_handoff(esc, recs, now, policy),
        primary=[f for f in forms if _is_primary(f.action, esc)],
        others=[f for f in forms if not _is_primary(f.action, esc)], refused=refused,
        lane=swimlane.build(built["ownership"], built["events"], end, viewer_zone()),
        policy=policy, handles=_handles_if_needed(allowed), now=now, typed=typed or {},
        at_risk=sla.status(esc, now)["at_risk"])


def _handles_if_needed(allowed: list[str]) -> list[str]:
    # The handle suggestions are read only when a form names an actor.
    if not any(CATALOGUE[a].names_actor for a in allowed):
        return []
    return [a["handle"] for a in actors.listing(request_connection())
            if a["revoked_at"] is None]


@ui.post("/escalations/<string:escalation_id>/actions/<string:action>")
def act(escalation_id: str, action: str) -> Any:
    """Take an action from its form; back to the page with what happened (post/redirect/
    get), or the refusal with its rule and sentence."""
    spec = CATALOGUE.get(action)
    if spec is None or not spec.requestable:
        abort(404)
    baton = current_baton()
    actor = current_actor()
    version = request.form.get("version", "")
    try:
        out = handlers.act(
            uow=request_uow, actor=actor, escalation_id=escalation_id, action=action,
            payload=lambda policy: action_forms.payload(action, request.form, policy),
            now=baton.now(), shown=handlers.nothing_shown,
            expected_version=form_int(version)).outcome
    except (AuthorityDenied, NothingToChange) as exc:
        flash(f"{action} refused by rule {exc.rule}: {exc.reason}", "refused")
        return _page(escalation_id, {action: request.form}), 409 if isinstance(
            exc, NothingToChange) else 403
    except PayloadInvalid as exc:
        problems = "; ".join(f"{k}: {v}" for k, v in sorted(exc.errors.items()))
        flash(f"{action} not done, the form has errors: {problems}", "refused")
        return _page(escalation_id, {action: request.form}), 422
    except InvalidTransition as exc:
        flash(f"{action} is not possible now: {exc}", "refused")
    except VersionConflict:
        flash(f"{action} not done: someone changed this escalation since the page was "
              "loaded. Check the page as it is now and try again.", "refused")
        return _page(escalation_id, {action: request.form}), 409
    else:
        owner = out.escalation.owner or "nobody"
        flash(f"{action} done (rule {out.event.rule}, ledger seq {out.seq}): now "
              f"{out.escalation.state}, owned by {owner}.", "done")
    return redirect(url_for("ui.escalation", escalation_id=escalation_id) + "#outcome", 303)
