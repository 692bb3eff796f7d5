"""Escalations: open, list, read, act, timeline, ownership."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask, Response, url_for
from flask.views import MethodView

from api import http_transaction, representation
from api.auth import current_actor
from api.container import current as current_baton
from api.container import request_uow
from api.schemas import (
    ACTION_SCHEMAS,
    ActionResultSchema,
    AtArgsSchema,
    EscalationCreateSchema,
    EscalationListSchema,
    EscalationSchema,
    ListArgsSchema,
    OwnershipSchema,
    TimelineArgsSchema,
    TimelineSchema,
)
from api.views.strict_blueprint import Blueprint
from audit.reads import escalation_list, records, shown, timeline, trails
from audit.reads.shown import Shown
from workflow import handlers, services
from workflow.errors import EscalationNotFound
from workflow.handlers import Written
from workflow.model import rfc3339

blp = Blueprint("escalations", __name__, url_prefix="/api/v1/escalations",
                description="Open escalations, act on them, read their timelines and trails")


def _etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


@blp.route("")
class Escalations(MethodView):
    @blp.arguments(ListArgsSchema(), location="query")
    @blp.response(200, EscalationListSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List escalations, filtered, oldest first or soonest deadline first
        (`sort=next_due`), with a cursor that survives writes. `breached=true`: a clock
        is overdue now, or a recorded breach's blocker has not cleared. Unknown
        parameters and values no escalation can have are refused (422)."""
        baton = current_baton()
        now = baton.now()
        actor = current_actor()
        for who in ("owner", "proposed_owner"):
            if args.get(who) == "me":
                args[who] = actor.handle
        with baton.engine.connect() as conn:
            policy = baton.policy(conn)
            escalation_list.check_filters(policy, **args)
            found = escalation_list.page(conn, now=now, **args)
            page = shown.many(conn, found.escalations)
        items = [representation.escalation(s, actor, policy, now) for s in page]
        return {"items": items, "next_cursor": found.next_cursor}

    @blp.arguments(EscalationCreateSchema())
    @blp.response(201, EscalationSchema)
    @blp.doc(parameters=[http_transaction.IDEMPOTENCY_KEY_PARAMETER])
    def post(self, body: dict[str, Any]) -> tuple[Response, int, dict[str, str]]:
        """Open an escalation at tier 0; its team and governor come from the policy."""
        baton = current_baton()
        actor = current_actor()

        def render(written: Written[Shown]) -> http_transaction.Result:
            esc = written.outcome.escalation
            data = representation.escalation(written.shown, actor, written.policy,
                                             baton.now())
            headers = {"Location": url_for("escalations.Escalation", escalation_id=esc.id),
                       **_etag(esc.version)}
            return data, 201, headers

        return http_transaction.run(
            lambda _expected, once: handlers.open_escalation(
                uow=request_uow, actor=actor, escalation_id=str(uuid.uuid4()),
                payload=body, now=baton.now(), shown=shown.after_write, once=once),
            render, body)


@blp.route("/<string:escalation_id>")
class Escalation(MethodView):
    @blp.response(200, EscalationSchema)
    def get(self, escalation_id: str) -> tuple[dict[str, Any], int, dict[str, str]]:
        """One escalation, with the actions the caller may take now; ETag is its version."""
        baton = current_baton()
        with baton.engine.connect() as conn:
            found = shown.one(conn, escalation_id)
            if found is None:
                raise EscalationNotFound(escalation_id)
            policy = baton.policy(conn)
        data = representation.escalation(found, current_actor(), policy, baton.now())
        return data, 200, _etag(found.escalation.version)


def _action_view(action: str) -> None:
    schema = ACTION_SCHEMAS[action]

    class ActionView(MethodView):
        @blp.arguments(schema())
        @blp.response(200, ActionResultSchema)
        @blp.doc(summary=f"{action}", parameters=[http_transaction.IF_MATCH_PARAMETER,
                                                  http_transaction.IDEMPOTENCY_KEY_PARAMETER])
        def post(self, body: dict[str, Any],
                 escalation_id: str) -> tuple[Response, int, dict[str, str]]:
            baton = current_baton()
            actor = current_actor()
            now = baton.now()

            def render(written: Written[Shown]) -> http_transaction.Result:
                out = written.outcome
                data = {
                    "seq": out.seq,
                    "event": {"action": action, "actor": actor.handle,
                              "role": out.event.role, "rule": out.event.rule,
                              "at": rfc3339(out.event.at),
                              "policy_version": out.event.policy_version},
                    "escalation": representation.escalation(written.shown, actor,
                                                             written.policy, now),
                }
                return data, 200, _etag(out.escalation.version)

            return http_transaction.run(
                lambda expected, once: handlers.act(
                    uow=request_uow, actor=actor, escalation_id=escalation_id,
                    action=action, payload=body, now=now, shown=shown.after_write,
                    expected_version=expected, once=once),
                render, body, escalation_id)

    ActionView.__name__ = f"Action_{action.replace('-', '_')}"
    ActionView.__doc__ = f"{action} an escalation"
    blp.route(f"/<string:escalation_id>/actions/{action}",
              endpoint=f"action-{action}")(ActionView)


for _action in ACTION_SCHEMAS:
    _action_view(_action)


@blp.route("/<string:escalation_id>/timeline")
class Timeline(MethodView):
    @blp.arguments(TimelineArgsSchema(), location="query")
    @blp.response(200, TimelineSchema)
    @blp.doc(responses={"200": {  # the one 200, in each of its three forms
        "description": "JSON by default; format=csv: one row per event; format=markdown: "
                       "a post-mortem page",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Timeline"}},
                    "text/csv": {"schema": {"type": "string"}},
                    "text/markdown": {"schema": {"type": "string"}}}}})
    def get(self, args: dict[str, Any], escalation_id: str) -> Any:
        """Every event, milestones and durations, for a post-mortem."""
        with current_baton().engine.connect() as conn:
            recs = records.history(conn, escalation_id)
        if not recs:
            raise EscalationNotFound(escalation_id)
        built = timeline.build(recs)
        if args["format"] == "csv":
            return Response(timeline.to_csv(built), mimetype="text/csv")
        if args["format"] == "markdown":
            return Response(timeline.to_markdown(built), mimetype="text/markdown")
        return built


@blp.route("/<string:escalation_id>/ownership")
class Ownership(MethodView):
    @blp.arguments(AtArgsSchema(), location="query")
    @blp.response(200, OwnershipSchema)
    def get(self, args: dict[str, Any], escalation_id: str) -> dict[str, Any]:
        """The ownership trail; with ?at=, who owned it at that instant."""
        with current_baton().engine.connect() as conn:
            recs = records.history(conn, escalation_id)
        if not recs:
            raise EscalationNotFound(escalation_id)
        spans = trails.trail(recs)
        at = trails.owner_at(spans, args["at"], recs[0]["at"]) if "at" in args else None
        return {"escalation_id": escalation_id, "spans": spans, "at": at}


def unknown_action(escalation_id: str, action: str) -> Response:
    """POST to an action the catalogue does not have: a 404 problem listing them."""
    raise services.unknown_action(action)


def init_app(app: Flask) -> None:
    """Route actions nobody defined to a problem that lists the ones there are (the
    defined actions' routes are more specific and win)."""
    app.add_url_rule("/api/v1/escalations/<string:escalation_id>/actions/<string:action>",
                     "unknown-action", unknown_action, methods=["POST"])
