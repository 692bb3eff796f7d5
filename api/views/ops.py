"""Operations: health, Prometheus metrics, the offline docs page, admin erasure."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template
from flask.views import MethodView
from flask_smorest import Blueprint
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from api.auth import current_actor, require_roles
from api.container import current as current_baton
from api.schemas import ErasureInSchema, ErasureSchema, HealthSchema
from audit import erasure, ledger
from audit.projection import parse_time
from audit.schema import escalations
from audit.schema import ledger as ledger_table

blp = Blueprint("ops", __name__, url_prefix="/api/v1",
                description="Health, metrics and administration")

ACK_BUCKETS = (60, 300, 600, 1800, 3600, 4 * 3600, 86400)


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema, description="The database is unreachable")
    @blp.doc(security=[])
    def get(self) -> Any:
        """Liveness and database reachability (no authentication)."""
        return health()


def health() -> tuple[dict[str, str], int]:
    """Whether the database answers."""
    try:
        with current_baton().engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok"}, 200


class LedgerCollector:
    """Figures read from the database at scrape time (every worker sees the same), kept
    for a few seconds so that frequent scrapes of a large ledger stay cheap."""

    TTL_SECONDS = 10.0

    def __init__(self, app: Flask):
        self.app = app
        self._cached: tuple[float, list[Any]] | None = None

    def collect(self) -> Iterator[Any]:
        now = time.monotonic()
        if self._cached is None or now - self._cached[0] > self.TTL_SECONDS:
            self._cached = (now, list(self._read()))
        yield from self._cached[1]

    def _read(self) -> Iterator[Any]:
        baton = self.app.extensions["baton"]
        with baton.engine.connect() as conn:
            by_state = conn.execute(select(escalations.c.state, escalations.c.tier,
                                           func.count()).group_by(
                escalations.c.state, escalations.c.tier)).all()
            actions = conn.execute(select(ledger_table.c.action, func.count()).group_by(
                ledger_table.c.action)).all()
            head = ledger.read_head(conn, lock=False)
            clocks = Counter(json.loads(body)["payload"]["clock"] for body in conn.execute(
                select(ledger_table.c.body).where(ledger_table.c.action == "sla-breached"))
                .scalars())
            by_clock = sorted(clocks.items())
            acks = conn.execute(text(
                "SELECT o.at AS opened, MIN(a.at) AS acked FROM ledger o JOIN ledger a "
                "ON a.escalation_id = o.escalation_id AND a.action = 'acknowledge' "
                "WHERE o.action = 'open' GROUP BY o.escalation_id, o.at")).all()
        g = GaugeMetricFamily("baton_escalations", "Escalations by state and tier",
                              labels=["state", "tier"])
        for state, tier, count in by_state:
            g.add_metric([state, str(tier)], count)
        yield g
        e = GaugeMetricFamily("baton_ledger_events", "Ledger events by action",
                              labels=["action"])
        for action, count in actions:
            e.add_metric([action], count)
        yield e
        breaches = GaugeMetricFamily("baton_sla_breaches", "SLA breaches recorded, by clock",
                                     labels=["clock"])
        for clock, count in by_clock:
            breaches.add_metric([clock], count)
        yield breaches
        yield GaugeMetricFamily("baton_ledger_size", "Events in the ledger", value=head.size)
        yield GaugeMetricFamily("baton_checkpoint_size", "Tree size of the last checkpoint",
                                value=head.checkpoint_size)
        waits = []
        for row in acks:
            a, b = parse_time(row.opened), parse_time(row.acked)
            if a and b:
                waits.append((b - a).total_seconds())
        buckets = []
        for bound in ACK_BUCKETS:
            buckets.append((str(float(bound)), sum(1 for w in waits if w <= bound)))
        buckets.append(("+Inf", len(waits)))
        total = sum(waits)
        yield HistogramMetricFamily("baton_time_to_acknowledge_seconds",
                                    "Time from opening to first acknowledgment",
                                    buckets=buckets, sum_value=total)


def metrics_response() -> Response:
    """Prometheus text exposition."""
    registry = current_app.extensions["baton_registry"]
    return Response(generate_latest(registry), mimetype="text/plain; version=0.0.4")


@blp.route("/metrics")
class Metrics(MethodView):
    @blp.response(200, content_type="text/plain", description="Prometheus text format")
    def get(self) -> Response:
        """Escalations by state and tier, ledger figures, time-to-acknowledge histogram."""
        return metrics_response()


@blp.route("/admin/erasures")
class Erasures(MethodView):
    @blp.arguments(ErasureInSchema())
    @blp.response(200, ErasureSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Erase a customer's personal content (admin). Who did what, when and under which
        rule stays on the ledger forever; titles, descriptions, names, contacts, notes,
        reasons, handoff context, summaries and debrief texts are deleted, text and salt,
        and a content-erased event is appended. Escalations under legal hold are kept."""
        require_roles(("admin",), "erasing content")
        baton = current_baton()
        actor = current_actor()
        with baton.uow() as uow:
            done = erasure.erase_customer(uow, body["customer_id"], actor=actor.handle,
                                          role="admin", now=baton.now(),
                                          policy=baton.policy(uow.conn))
            uow.commit()
        return {"customer_id": body["customer_id"], "events": done.events,
                "fields_erased": done.fields, "held": done.held}


def docs_page() -> str:
    """An API reference rendered on the server from the OpenAPI document: no CDN."""
    spec = current_app.extensions["baton_api"].spec.to_dict()
    return render_template("docs.html", spec=spec)


def init_app(app: Flask) -> None:
    """Metrics registry, the /metrics alias and the docs page."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LedgerCollector(app))  # type: ignore[arg-type]
    app.extensions["baton_registry"] = registry
    app.add_url_rule("/metrics", "metrics_root", metrics_response)
    app.add_url_rule("/api/v1/docs", "docs", docs_page)
    app.add_url_rule("/healthz", "healthz_root", lambda: jsonify(health()[0]))
