"""The customer's side and the lessons: the feedback link, the debrief pack, and the
debrief action items across escalations."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView

from api import feedback_links, http_transaction
from api.auth import current_actor
from api.container import current as current_baton
from api.container import request_uow
from api.schemas import (
    ActionItemListSchema,
    ActionItemsArgsSchema,
    DebriefPackArgsSchema,
    DebriefPackSchema,
    FeedbackLinkSchema,
)
from api.views.strict_blueprint import Blueprint
from audit.reads import action_items, debrief_pack, escalation_ids, records
from audit.store import projection
from workflow import handlers
from workflow.errors import EscalationNotFound
from workflow.handlers import Written
from workflow.services import Outcome

blp = Blueprint("customer", __name__, url_prefix="/api/v1",
                description="The customer's side: feedback links, debrief packs, actions")


@blp.route("/escalations/<string:escalation_id>/feedback-link")
class FeedbackLink(MethodView):
    @blp.response(201, FeedbackLinkSchema)
    @blp.doc(parameters=[http_transaction.IF_MATCH_PARAMETER,
                         http_transaction.IDEMPOTENCY_KEY_PARAMETER])
    def post(self, escalation_id: str) -> tuple[Response, int, dict[str, str]]:
        """A one-time link for the customer to confirm the resolution (or not), valid
        until the follow-up window ends; issuing it is recorded on the ledger."""
        baton = current_baton()
        actor = current_actor()

        def link(_uow: Any, out: Outcome) -> str:
            # Signed inside the transaction: a link that cannot be signed is not issued.
            token = feedback_links.sign(baton.settings["BATON_SIGNING_KEY"], escalation_id,
                                        out.event.payload["link"], out.event.payload["expires"])
            return f"{baton.settings['BATON_PUBLIC_URL'].rstrip('/')}/feedback/{token}"

        def render(written: Written[str]) -> http_transaction.Result:
            out = written.outcome
            return ({"link": written.shown, "link_id": out.event.payload["link"],
                     "expires_at": out.event.payload["expires"], "seq": out.seq}, 201,
                    {"ETag": f'"{out.escalation.version}"'})

        return http_transaction.run(
            lambda expected, once: handlers.act(
                uow=request_uow, actor=actor, escalation_id=escalation_id,
                action="issue-feedback-link", payload={}, now=baton.now(), shown=link,
                expected_version=expected, once=once, reads_ahead=False),
            render, {}, escalation_id)


@blp.route("/escalations/<string:escalation_id>/debrief-pack")
class DebriefPack(MethodView):
    @blp.arguments(DebriefPackArgsSchema(), location="query")
    @blp.response(200, DebriefPackSchema)
    @blp.alt_response(200, success=True, content_type="text/markdown",
                      description="format=markdown: a page for the debrief meeting")
    def get(self, args: dict[str, Any], escalation_id: str) -> Any:
        """Who initiated, owned, covered, contributed and closed it; which clocks held;
        promises, contacts, grants and the customer's confirmations; lessons and action
        items: derived from the ledger alone."""
        baton = current_baton()
        with baton.engine.connect() as conn:
            recs = records.history(conn, escalation_id)
            esc = projection.load(conn, escalation_id)
            if not recs or esc is None:
                raise EscalationNotFound(escalation_id)
            others = escalation_ids.related(conn, escalation_id)
        built = debrief_pack.pack(recs, others, baton.now())
        if args["format"] == "markdown":
            return Response(debrief_pack.to_markdown(built), mimetype="text/markdown")
        return built


@blp.route("/actions")
class ActionItems(MethodView):
    @blp.arguments(ActionItemsArgsSchema(), location="query")
    @blp.response(200, ActionItemListSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The debriefs' action items, soonest due first: by owner (`me` for the caller)
        and open or completed; each says whether it is overdue."""
        baton = current_baton()
        owner = args.get("owner")
        if owner == "me":
            owner = current_actor().handle
        with baton.engine.connect() as conn:
            items = action_items.listing(conn, baton.now(), owner, args.get("open"))
        return {"items": items}

