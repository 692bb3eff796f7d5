"""Who may read what, enforced in one place: every route of the API and the dashboard is
named here with the reads it shows (workflow.read_grants decides each, by the policy, with
a rule id), and a hook refuses a route whose reads the actor's roles are not granted: a
403 problem naming the rule for the API, a page for the dashboard. A route missing from
the table is refused (tests/integration/test_read_access.py walks app.url_map)."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, render_template, request

from api.container import current as current_baton
from api.container import request_connection
from api.problems import problem
from workflow.catalogue import ACTION_ROUTES
from workflow.decision import Decision
from workflow.model import Actor
from workflow.read_grants import may_read_all

# Open to anyone: health, the API's documents, static files, the published checkpoint,
# and signing in to the dashboard.
PUBLIC = frozenset({"ops.Health", "healthz_root", "api-docs.openapi_json", "docs", "static",
                    "log.checkpoint", "ui.login", "ui.login_post", "ui.logout",
                    "ui.sso_login", "ui.sso_callback"})
# Opened by something other than a token, decided by that door: a customer's signed
# one-time link (their feedback page), SCIM clients' own bearer tokens (/scim/v2), and
# the log's tiles (hash tiles are published;
# entry bundles need the read-audit permission unless BATON_LOG_PUBLIC=1).
OWN_DOOR = frozenset({"feedback.page", "feedback.answer", "log.tile", "scim.users",
                      "scim.user", "scim.groups", "scim.group", "scim.discovery",
                      "scim.fallback"})
_ESCALATION = ("escalations",)
# Every other route: the reads it shows, all of which must be granted. Writes name what
# their response shows (an action answers with the escalation); the action itself is then
# decided by workflow.authority. An empty tuple: the use case's permission decides alone.
ROUTES: dict[str, tuple[str, ...]] = {
    "escalations.Escalations": _ESCALATION,
    "escalations.Escalation": _ESCALATION,
    "unknown-action": _ESCALATION,
    **{f"escalations.action-{action}": _ESCALATION for action in ACTION_ROUTES},
    "customer.FeedbackLink": _ESCALATION,
    "escalations.Timeline": ("timelines",),
    "customer.DebriefPack": ("debrief-packs",),
    "customer.ActionItems": ("action-items",),
    "escalations.Ownership": ("trails",),
    "reads.ActorOwnership": ("trails",),
    "reads.EscalationMetrics": ("metrics",),
    "reads.CurrentPolicy": ("policy",),
    "reads.PolicyVersion": ("policy",),
    "ops.Metrics": ("prometheus",),
    "metrics_root": ("prometheus",),
    "reads.LatestCheckpoint": ("proofs",),
    "reads.PublicKey": ("proofs",),
    "reads.InclusionProof": ("proofs",),
    "reads.ConsistencyProof": ("proofs",),
    "reads.AuditEvents": ("audit-log",),
    "reads.AuditExport": ("audit-log",),
    "access.AccessReport": ("audit-log",),  # access reviews: read-audit
    "audit_stream.AuditStream": ("audit-log",),  # the SIEM stream: read-audit
    "webhooks.Webhooks": ("webhooks",),
    "webhooks.Webhook": ("webhooks",),
    "webhooks.RotateSecret": ("webhooks",),
    "webhooks.Deliveries": ("delivery-log",),
    "webhooks.RetryDelivery": ("delivery-log",),
    "webhooks.NotificationDeliveries": ("delivery-log",),
    "ops.Erasures": (),
    # The dashboard's pages.
    "ui.queue": _ESCALATION,
    "ui.queue_live": _ESCALATION,
    "ui.escalation": ("escalations", "timelines", "trails"),
    "ui.act": _ESCALATION,
    "ui.new_escalation": _ESCALATION,
    "ui.open_escalation": _ESCALATION,
    "ui.time_zone": (),
    "ui.time_zone_post": (),
    "ui.metrics_page": ("metrics",),
    "ui.audit": ("audit-log",),
    "ui.checkpoint_download": ("audit-log",),
    "ui.export_download": ("audit-log",),
}
# The reads that make the dashboard worth signing in to (its pages' first reads).
DASHBOARD = ("escalations", "metrics", "audit-log")


def decide(endpoint: str, actor: Actor) -> Decision:
    """Whether `actor` may open the route `endpoint` (an unlisted route is refused)."""
    if endpoint not in ROUTES:
        return Decision(False, "read.unlisted", f"route {endpoint} grants no read yet")
    # The version authentication read with the token (none for a provider's JWT).
    policy = current_baton().policy(request_connection(), g.get("policy_version"))
    return may_read_all(actor, ROUTES[endpoint], policy)


def _open(endpoint: str | None) -> bool:
    # No endpoint: the router answers 404 or 405 itself.
    return endpoint is None or endpoint in PUBLIC or endpoint in OWN_DOOR


def _check_api() -> Any:
    if request.blueprint == "ui" or _open(request.endpoint):
        return None  # the dashboard's guard calls refused_page once its viewer is known
    actor: Actor | None = g.get("actor")
    if actor is None:
        return problem(401, "unauthenticated", "Unauthenticated",
                       "send Authorization: Bearer TOKEN")
    decision = decide(str(request.endpoint), actor)
    if decision.allowed:
        return None
    return problem(403, "authority-denied", "Beyond this role's authority",
                   decision.reason, rule=decision.rule)


def refused_page(actor: Actor) -> Any:
    """The dashboard's refusal page when `actor` may not read this page, else None."""
    if _open(request.endpoint):
        return None
    decision = decide(str(request.endpoint), actor)
    if decision.allowed:
        return None
    return render_template("ui/error.html", status=403, title="Not yours to read",
                           detail=f"Refused by rule {decision.rule}: {decision.reason}."), 403


def init_app(app: Flask) -> None:
    """Refuse every API route whose reads the authenticated actor is not granted (after
    authentication, which registers its hook first)."""
    app.before_request(_check_api)
