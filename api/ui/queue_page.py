"""The queue: open escalations, soonest deadline first, filtered, counted per team and
state, refreshed by polling a fragment of the page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import current_app, g, render_template, request, url_for

from api.auth import current_actor
from api.container import current as current_baton
from api.container import request_connection
from api.ui.blueprint import ui
from api.ui.countdown import Countdown, countdown, late_clocks, next_clock
from audit.reads import escalation_list, queue, shown
from audit.store import actors
from workflow import sla
from workflow.model import Actor, Escalation
from workflow.policy import Policy
from workflow.states import Shape

PAGE_SIZE = 50
FILTERS = ("q", "team", "tier", "category", "severity", "owner", "handoff", "breached")


@dataclass(frozen=True)
class Row:
    """One escalation as the queue shows it."""

    escalation: Escalation
    title: str | None
    next_due: Countdown | None
    next_clock: str | None
    breached_clocks: list[str]
    handoff: dict[str, Any] | None
    at_risk: list[str]  # clocks past a warning threshold (workflow.sla_warnings)


def open_states(policy: Policy) -> list[str]:
    """The states of an open escalation: not yet resolved (the lifecycle's live group)."""
    return Shape(policy.max_tier).live


def _filters(actor: Actor) -> tuple[dict[str, str], dict[str, Any]]:
    """The filters as the form shows them, and as escalation_list.page takes them."""
    shown = {k: request.args.get(k, "").strip() for k in FILTERS}
    args: dict[str, Any] = {}
    for key in ("team", "category", "severity"):
        if shown[key]:
            args[key] = shown[key]
    if re.fullmatch(r"[0-9]{1,2}", shown["tier"]):  # a tier, not any run of digits
        args["tier"] = int(shown["tier"])
    else:
        shown["tier"] = ""
    if shown["owner"]:
        args["owner"] = actor.handle if shown["owner"] == "mine" else shown["owner"]
    if shown["q"]:
        shown["q"] = shown["q"][:200]
        args["q"] = shown["q"]
    if shown["handoff"] == "mine":
        args["proposed_owner"] = actor.handle
    elif shown["handoff"] == "pending":
        args["handoff"] = "pending"
    else:
        shown["handoff"] = ""
    if shown["breached"] in ("yes", "no"):
        args["breached"] = shown["breached"] == "yes"
    else:
        shown["breached"] = ""
    return shown, args


def _rows(conn: Any, found: list[Escalation], now: datetime, policy: Policy) -> list[Row]:
    rows = []
    # The queue shows each escalation's title, clocks and pending hand-off (read only
    # for the rows waiting on one), not its related cases.
    for each in shown.many(conn, found, related=False):
        esc = each.escalation
        first = next_clock(esc)
        handoff = None
        if each.handoff is not None:
            due = esc.deadlines.get("handoff")
            handoff = {**each.handoff,
                       "answer": countdown(due, now, esc.team, policy) if due else None}
        rows.append(Row(esc, each.texts.get("title"),
                        countdown(first[1], now, esc.team, policy) if first else None,
                        first[0] if first else None, late_clocks(esc, now), handoff,
                        sla.status(esc, now)["at_risk"]))
    return rows


def _live_context() -> dict[str, Any]:
    baton = current_baton()
    conn = request_connection()
    policy = baton.policy(conn)
    now = baton.now()
    actor = current_actor()
    shown, args = _filters(actor)
    cursor = request.args.get("cursor") or None
    states = open_states(policy)
    found = escalation_list.page(conn, now=now, limit=PAGE_SIZE, cursor=cursor,
                                 sort="next_due", states=states, **args)
    query = {k: v for k, v in shown.items() if v}
    next_url = (url_for("ui.queue") + "?" + urlencode({**query, "cursor": found.next_cursor})
                if found.next_cursor else None)
    live_query = urlencode({**query, **({"cursor": cursor} if cursor else {})})
    return {
        "rows": _rows(conn, found.escalations, now, policy),
        "counts": queue.counts(conn, states=states, now=now),
        "shown": shown, "now": now, "cursor": cursor, "next_url": next_url,
        "first_url": url_for("ui.queue") + ("?" + urlencode(query) if query else ""),
        "live_url": url_for("ui.queue_live") + ("?" + live_query if live_query else ""),
        "refresh": current_app.config["BATON_UI_REFRESH_SECONDS"],
        "states": states, "policy": policy,
    }


@ui.context_processor
def _offers() -> dict[str, Any]:
    """How many hand-offs wait on the viewer's answer, for the page header."""
    actor = g.get("actor")
    if actor is None:
        return {"offered_count": None}
    return {"offered_count": queue.offered_to(request_connection(), actor.handle)}


@ui.get("/", endpoint="queue")
def queue_page() -> Any:
    """The queue page: filters, counts, rows, and the fragment that refreshes itself."""
    context = _live_context()
    handles = [a["handle"] for a in actors.listing(request_connection())
               if a["revoked_at"] is None]
    return render_template("ui/queue.html", handles=handles, **context)


@ui.get("/queue/live")
def queue_live() -> Any:
    """The part of the queue page that polls: counts, rows and the pager."""
    return render_template("ui/_queue_live.html", **_live_context())

