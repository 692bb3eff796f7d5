"""The "New escalation" page: the open payload as a form, its choices from the active
policy's vocabularies, checked by the API's schema and opened by the same handler as
POST /api/v1/escalations (workflow.handlers.open_escalation); errors are shown beside
their fields with what was typed kept, and the new escalation's page follows."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask import flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from api.auth import current_actor
from api.container import current as current_baton
from api.container import request_connection, request_uow
from api.schemas import EscalationCreateSchema
from api.ui.blueprint import ui
from workflow import handlers
from workflow.authority import decide
from workflow.errors import AuthorityDenied, PayloadInvalid
from workflow.policy import Policy

# The form's controls, by the name the page gives them.
TEXTS = ("title", "description", "customer_id", "customer_name", "customer_contact",
         "amount")
CHOICES = ("category", "severity", "customer_value")


def payload(form: MultiDict[str, str], policy: Policy) -> dict[str, Any]:
    """The JSON body POST /api/v1/escalations would carry for this form (empty optional
    fields left out)."""

    def typed(name: str) -> str | None:
        value = form.get(name, "").strip()
        return value or None

    body: dict[str, Any] = {"title": typed("title"), "category": typed("category"),
                            "severity": typed("severity")}
    if typed("description"):
        body["description"] = typed("description")
    customer = {"id": typed("customer_id"), "name": typed("customer_name"),
                "contact": typed("customer_contact"), "value": typed("customer_value")}
    body["customer"] = {k: v for k, v in customer.items() if v is not None}
    if typed("amount"):
        body["amount"] = {"value": typed("amount"), "currency": policy.currency}
    return {k: v for k, v in body.items() if v is not None}


def _flat(errors: Any, prefix: str = "") -> dict[str, str]:
    """marshmallow's (nested) messages or the use case's dotted keys, as the form's
    control names (customer.id -> customer_id, amount.value -> amount)."""
    out: dict[str, str] = {}
    items = errors.items() if isinstance(errors, dict) else [("", errors)]
    for key, value in items:
        name = f"{prefix}{key}" if key != "" else prefix.rstrip(".")
        if isinstance(value, dict):
            out.update(_flat(value, f"{name}."))
            continue
        text = "; ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        control = name.replace(".", "_")
        if control.startswith("amount"):
            control = "amount"
        out[control] = text if control not in out else f"{out[control]}; {text}"
    return out


def _page(policy: Policy, typed: MultiDict[str, str], errors: dict[str, str],
          status: int = 200) -> Any:
    known = set(TEXTS) | set(CHOICES)
    # A message the form has no control for is shown above the form.
    general = [f"{k}: {v}" for k, v in errors.items() if k not in known]
    return render_template("ui/new_escalation.html", policy=policy, typed=typed,
                           errors=errors, general=general), status


@ui.get("/escalations/new")
def new_escalation() -> Any:
    """The empty form (the customer's value defaults to the policy's first); to one who
    may not open an escalation, the rule that refuses it before anything is typed."""
    policy = current_baton().policy(request_connection())
    decision = decide(current_actor(), "open", None, None, policy)
    if not decision.allowed:
        return _page(policy, MultiDict(),
                     {"form": f"refused by rule {decision.rule}: {decision.reason}"}, 403)
    return _page(policy, MultiDict(), {})


@ui.post("/escalations/new")
def open_escalation() -> Any:
    """Open it through the API's schema and handler; its page, or the form again."""
    baton = current_baton()
    policy = baton.policy(request_connection())
    body = payload(request.form, policy)
    try:
        body = EscalationCreateSchema().load(body)
    except ma.ValidationError as invalid:
        return _page(policy, request.form, _flat(invalid.messages), 422)
    try:
        written = handlers.open_escalation(
            uow=request_uow, actor=current_actor(), escalation_id=str(uuid.uuid4()),
            payload=body, now=baton.now(), shown=handlers.nothing_shown)
    except PayloadInvalid as invalid:
        return _page(policy, request.form, _flat(invalid.errors), 422)
    except AuthorityDenied as refused:
        return _page(policy, request.form,
                     {"form": f"refused by rule {refused.rule}: {refused.reason}"}, 403)
    esc = written.outcome.escalation
    flash(f"Opened (rule {written.outcome.event.rule}, ledger seq {written.outcome.seq}): "
          f"team {esc.team}, governor {esc.governor}.", "done")
    return redirect(url_for("ui.escalation", escalation_id=esc.id), 303)
