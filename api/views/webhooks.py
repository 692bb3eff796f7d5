"""Webhook subscriptions, and the delivery log of every notification (webhooks and
mail): the policy's manage-webhooks permission, admin by default."""

from __future__ import annotations

import time
from typing import Any

from flask.views import MethodView

from api.auth import current_actor
from api.container import REDELIVERIES, WEBHOOKS
from api.container import current as current_baton
from api.delivery import Targets, resolve
from api.schemas import (
    DeliveryListSchema,
    DeliveryQuerySchema,
    RotateSecretInSchema,
    WebhookInSchema,
    WebhookListSchema,
    WebhookSchema,
)
from api.views.strict_blueprint import Blueprint
from audit.reads import delivery_log
from audit.store import webhooks
from workflow import admin_handlers, webhook_admin
from workflow.webhook_admin import SubscriptionNotFound

blp = Blueprint("webhooks", __name__, url_prefix="/api/v1",
                description="Signed webhooks (Standard Webhooks): subscriptions; the "
                            "delivery log of webhooks and mail")


def _targets() -> Targets:
    s = current_baton().settings
    return Targets(s["BATON_WEBHOOK_ALLOW_INSECURE"], s["BATON_WEBHOOK_ALLOW_PRIVATE"])


def _may_manage(conn: Any) -> None:
    webhook_admin.require(actor=current_actor(), policy=current_baton().policy(conn))


@blp.route("/webhooks")
class Webhooks(MethodView):
    @blp.response(200, WebhookListSchema)
    def get(self) -> dict[str, Any]:
        """Every subscription (never a secret)."""
        with current_baton().engine.connect() as conn:
            _may_manage(conn)
            return {"items": webhooks.listing(conn)}

    @blp.arguments(WebhookInSchema())
    @blp.response(201, WebhookSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Subscribe a URL to event types; the secret (whsec_…) is shown this once."""
        baton = current_baton()
        return admin_handlers.subscribe_webhook(
            uow=baton.uow, webhooks=WEBHOOKS, actor=current_actor(), url=body["url"],
            events=body["events"], description=body.get("description"),
            secret=webhooks.new_secret(), vet=lambda url: resolve(url, _targets())[1],
            now=baton.now())


@blp.route("/webhooks/<string:webhook_id>")
class Webhook(MethodView):
    @blp.response(200, WebhookSchema)
    def get(self, webhook_id: str) -> dict[str, Any]:
        """One subscription (never its secret)."""
        with current_baton().engine.connect() as conn:
            _may_manage(conn)
            found = webhooks.find(conn, webhook_id)
        if found is None:
            raise SubscriptionNotFound(webhook_id)
        return found

    @blp.response(204)
    def delete(self, webhook_id: str) -> None:
        """Remove a subscription: its pending messages are dropped, its log is kept."""
        baton = current_baton()
        admin_handlers.remove_webhook(uow=baton.uow, webhooks=WEBHOOKS, actor=current_actor(),
                                      webhook_id=webhook_id, now=baton.now())


@blp.route("/webhooks/<string:webhook_id>/rotate-secret")
class RotateSecret(MethodView):
    @blp.arguments(RotateSecretInSchema())
    @blp.response(200, WebhookSchema)
    def post(self, body: dict[str, Any], webhook_id: str) -> dict[str, Any]:
        """A new secret; the old one keeps signing beside it for the grace period."""
        baton = current_baton()
        grace = body.get("grace_seconds")
        return admin_handlers.rotate_webhook_secret(
            uow=baton.uow, webhooks=WEBHOOKS, actor=current_actor(), webhook_id=webhook_id,
            secret=webhooks.new_secret(),
            grace_seconds=baton.settings["BATON_WEBHOOK_ROTATION_GRACE"]
            if grace is None else grace, now=baton.now())


@blp.route("/webhooks/<string:webhook_id>/deliveries")
class Deliveries(MethodView):
    @blp.response(200, DeliveryListSchema)
    def get(self, webhook_id: str) -> dict[str, Any]:
        """The subscription's messages, newest first, with every attempt."""
        with current_baton().engine.connect() as conn:
            _may_manage(conn)
            if webhooks.find(conn, webhook_id) is None:
                raise SubscriptionNotFound(webhook_id)
            return {"items": webhooks.message_log(conn, webhook_id)}


@blp.route("/webhooks/<string:webhook_id>/deliveries/<int:delivery_id>/retry")
class RetryDelivery(MethodView):
    @blp.response(202, DeliveryListSchema)
    def post(self, webhook_id: str, delivery_id: int) -> dict[str, Any]:
        """Send a message again, from the start of the retry schedule."""
        admin_handlers.retry_delivery(
            uow=current_baton().uow, webhooks=WEBHOOKS, redeliveries=REDELIVERIES,
            actor=current_actor(), webhook_id=webhook_id, delivery_id=delivery_id,
            at=time.time())
        with current_baton().engine.connect() as conn:
            items = [d for d in webhooks.message_log(conn, webhook_id)
                     if d["id"] == delivery_id]
        return {"items": items}


@blp.route("/notifications/deliveries")
class NotificationDeliveries(MethodView):
    @blp.arguments(DeliveryQuerySchema(), location="query")
    @blp.response(200, DeliveryListSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Every notification message, webhook or mail, newest first, with every attempt
        (outcome, status, timing, error): whether a mail reached its recipient. A mail is
        named by the recipient's handle, never the address."""
        with current_baton().engine.connect() as conn:
            _may_manage(conn)
            return {"items": delivery_log.messages(conn, **query)}
