"""Baton's doors: the Flask app factory, the HTTP API and the `baton` CLI."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, current_app
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from api import (
    auth,
    config,
    container,
    http_transaction,
    json_provider,
    openapi_doc,
    problems,
    request_guard,
    schemas,
    security_headers,
)
from api.container import Baton
from api.read_access import init_app as init_read_access

DESCRIPTION = """Baton keeps customer escalations owned: every escalation is a state machine,
every move is checked against the authority of the role asking for it under a versioned
policy, and every move is written, in the same transaction, to an append-only,
hash-chained ledger with signed checkpoints that auditors verify offline.

Personal data: titles, descriptions, customer names and contacts, notes, reasons, handoff
context, resolution summaries and debrief texts are stored outside the hashed ledger bytes
(which hold a salted SHA-256 commitment to each) and can be erased (POST
/api/v1/admin/erasures). Kept forever: who did what, when, in which role, under which rule
and policy version; states, tiers, owners, amounts, the customer id, every hash and
checkpoint."""


class BatonApi(Api):  # type: ignore[misc]
    """flask-smorest's Api with RFC 9457 problems documented and returned."""

    ERROR_SCHEMA = problems.ProblemSchema
    DEFAULT_RESPONSE_CONTENT_TYPE: str  # flask-smorest's, typed here for _register_responses

    def _openapi_json(self) -> Response:
        """The document, with the active policy's vocabularies (api.openapi_doc)."""
        baton = container.current()
        with baton.engine.connect() as conn:
            policy = baton.policy(conn)
        doc = openapi_doc.served(self.spec.to_dict(), policy, schemas.EXACTLY_ONE)
        return current_app.response_class(json.dumps(doc, indent=2),
                                          mimetype="application/json")

    def handle_http_exception(self, error: HTTPException) -> Any:
        return problems.answer(error)

    def _register_responses(self) -> None:
        saved = self.DEFAULT_RESPONSE_CONTENT_TYPE
        self.DEFAULT_RESPONSE_CONTENT_TYPE = problems.PROBLEM
        try:
            super()._register_responses()
        finally:
            self.DEFAULT_RESPONSE_CONTENT_TYPE = saved


def create_app(config_overrides: dict[str, Any] | None = None) -> Flask:
    """The app factory: settings, wiring, error handling, authentication, blueprints."""
    app = Flask(__name__)
    json_provider.init_app(app)
    app.config.update(
        API_TITLE="Baton", API_VERSION="v1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1", OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": DESCRIPTION},
            "components": {"securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        },
        JSON_SORT_KEYS=False,
    )
    overrides = dict(config_overrides or {})
    clock = overrides.pop("BATON_CLOCK", None)
    app.config.update(config.settings(overrides))
    baton = Baton(app.config, clock) if clock else Baton(app.config)
    app.extensions["baton"] = baton
    problems.init_app(app)
    app.register_error_handler(http_transaction.Replay, lambda e: e.response)
    container.init_app(app)
    auth.init_app(app)
    init_read_access(app)
    request_guard.init_app(app)  # after authentication: no body is read before it
    security_headers.init_app(app)
    api = BatonApi(app)
    api.ma_plugin.converter.add_attribute_function(openapi_doc.nul_free)
    app.extensions["baton_api"] = api
    _register_doors(app, api)
    return app


def _register_doors(app: Flask, api: BatonApi) -> None:
    """The routes and pages, imported here rather than with the package: the `baton`
    command's operator and agent commands need none of them, and SCIM's and the pages'
    libraries cost more to import than those commands take to run."""
    from api import ui
    from api.views import (
        access,
        audit_stream,
        customer,
        escalations,
        feedback_page,
        log,
        ops,
        reads,
        scim,
        webhooks,
    )

    for blueprint in (escalations.blp, reads.blp, ops.blp, webhooks.blp, customer.blp,
                      access.blp, audit_stream.blp):
        api.register_blueprint(blueprint)
    ops.init_app(app)
    escalations.init_app(app)
    ui.init_app(app)
    app.register_blueprint(feedback_page.bp)
    app.register_blueprint(log.bp)  # /log/: the ledger as C2SP tiles
    app.register_blueprint(scim.bp)  # /scim/v2: provisioning (RFC 7643, 7644)
