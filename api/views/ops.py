"""Operations: health, Prometheus metrics, the offline docs page, admin erasure."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from flask import Flask, Response, current_app, jsonify, render_template
from flask.views import MethodView
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily

from api.auth import current_actor, health_as_seen
from api.container import current as current_baton
from api.delivery_lanes import LONGEST_PAUSE
from api.schemas import ErasureInSchema, ErasureSchema, HealthSchema
from api.views.strict_blueprint import Blueprint
from audit.errors import SigningUnavailable
from audit.reads import ledger_gauges
from audit.store import health as readiness
from audit.store import outbox
from workflow import handlers
from workflow.model import rfc3339

blp = Blueprint("ops", __name__, url_prefix="/api/v1",
                description="Health, metrics and administration")


class ReadinessSchema(HealthSchema):
    """What can take writes now, part by part."""

    status = ma.fields.String(metadata={"description": "ok; degraded (writes succeed, the "
                                        "worker is behind); unavailable (writes fail)"})
    database = ma.fields.String(metadata={
        "description": "ok, unreachable, not-initialised, read-only or storage-full"})
    signing = ma.fields.String(metadata={"description": "ok, or unavailable (no usable "
                                         "signing key: writes are refused)"})
    worker = ma.fields.String(metadata={"description": "ok, or what it has left undone "
                                        "for three of its intervals: sweeps, deliveries"})
    deliveries_waiting_seconds = ma.fields.Float(metadata={
        "description": "How long the oldest notification that is due and not being sent "
                       "has waited (absent when none waits): grows while no worker "
                       "delivers"})
    workers_alive = ma.fields.Integer(metadata={
        "description": "Workers whose heartbeat is recent (each beats every 2 s)"})
    deadline_lag_seconds = ma.fields.Float(metadata={
        "description": "How far past the oldest deadline not yet recorded is (0 when none)"})
    reasons = ma.fields.List(ma.fields.String(), metadata={
        "description": "Why the status is degraded (absent when ok)"})
    last_delivery_attempt = ma.fields.String(metadata={
        "description": "When a worker last tried to deliver a notification (absent "
                       "while the delivery log is empty)"})


# The worker's intervals (its defaults: `baton worker --interval`, BATON_WORKER_POLL plus
# one attempt's timeout): three of them pass before it is reported behind.
SWEEP_EVERY = 10.0


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200, ReadinessSchema)
    @blp.alt_response(503, schema=ReadinessSchema,
                      description="Writes cannot succeed now; the fields say why")
    @blp.doc(security=[])
    def get(self) -> Any:
        """Readiness for writes: the database takes a write transaction, the signing key
        is loaded, the worker keeps up (no authentication; the details for an operator's
        token). 503 when writes would fail."""
        return health_as_seen(*health())


def health() -> tuple[dict[str, Any], int]:
    """Each part's state, and 503 when a write cannot succeed now."""
    baton = current_baton()
    database = readiness.write_readiness(baton.engine)
    try:
        baton.key.get()
        signing = "ok"
    except SigningUnavailable:
        signing = "unavailable"
    worker = "ok"
    if database == "ok":
        late = readiness.worker_behind(
            baton.engine, baton.now(), sweep_every=SWEEP_EVERY,
            deliver_every=baton.settings["BATON_WORKER_POLL"]
            + baton.settings["BATON_WEBHOOK_TIMEOUT"], receiver_pause=LONGEST_PAUSE)
        worker = "behind: " + ", ".join(late) if late else "ok"
    body: dict[str, Any] = {"status": "ok", "database": database, "signing": signing,
                            "worker": worker}
    if database == "ok":
        body.update(_backlog(baton.engine))
        found, wrong = readiness.workers(baton.engine, baton.now(),
                                         max_lag=baton.settings["BATON_HEALTH_MAX_LAG"])
        body.update(found)
        if wrong:
            body["reasons"] = wrong
            worker = body["worker"] = "behind: " + ", ".join([*late, *wrong])
    if database != "ok" or signing != "ok":
        body["status"] = "unavailable"
        return body, 503
    if worker != "ok":
        body["status"] = "degraded"
    return body, 200


def _backlog(engine: Any) -> dict[str, Any]:
    """The outbox's figures of the worker (its timestamps are the wall clock's), each
    only when there is something to say: a message waits, a delivery was tried."""
    with engine.connect() as conn:
        found = outbox.backlog(conn, time.time())
    out: dict[str, Any] = {}
    if found.oldest_due_seconds > 0:
        out["deliveries_waiting_seconds"] = round(found.oldest_due_seconds, 1)
    if found.last_attempt_at is not None:
        out["last_delivery_attempt"] = rfc3339(datetime.fromtimestamp(found.last_attempt_at,
                                                                      UTC))
    return out


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
        with self.app.extensions["baton"].engine.connect() as conn:
            figures = ledger_gauges.read(conn)
        g = GaugeMetricFamily("baton_escalations", "Escalations by state and tier",
                              labels=["state", "tier"])
        for state, tier, count in figures.escalations:
            g.add_metric([state, str(tier)], count)
        yield g
        e = GaugeMetricFamily("baton_ledger_events", "Ledger events by action",
                              labels=["action"])
        for action, count in figures.events:
            e.add_metric([action], count)
        yield e
        breaches = GaugeMetricFamily("baton_sla_breaches", "SLA breaches recorded, by clock",
                                     labels=["clock"])
        for clock, count in figures.breaches:
            breaches.add_metric([clock], count)
        yield breaches
        yield GaugeMetricFamily("baton_ledger_size", "Events in the ledger",
                                value=figures.ledger_size)
        yield GaugeMetricFamily("baton_checkpoint_size", "Tree size of the last checkpoint",
                                value=figures.checkpoint_size)
        csat = GaugeMetricFamily("baton_csat_responses",
                                 "Customer confirmations by satisfaction score (1-5)",
                                 labels=["score"])
        for score, count in figures.csat:
            csat.add_metric([str(score)], count)
        yield csat
        promises = GaugeMetricFamily("baton_promises", "Promises to customers, made and kept",
                                     labels=["state"])
        promises.add_metric(["made"], figures.promises[0])
        promises.add_metric(["kept"], figures.promises[1])
        yield promises
        items = GaugeMetricFamily("baton_debrief_actions", "Debrief action items by state",
                                  labels=["state"])
        items.add_metric(["open"], figures.debrief_actions[0])
        items.add_metric(["done"], figures.debrief_actions[1])
        yield items
        waits = figures.time_to_acknowledge
        yield HistogramMetricFamily(
            "baton_time_to_acknowledge_seconds", "Time from opening to first acknowledgment",
            buckets=[(str(bound), n) for bound, n in waits.buckets] + [("+Inf", waits.count)],
            sum_value=waits.total)


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
        """Erase a customer's personal content (whoever the policy lets erase: admin by
        default). Who did what, when and under which rule stays on the ledger forever;
        titles, descriptions, names, contacts, notes, reasons, handoff context, summaries
        and debrief texts are deleted, text and salt, and a content-erased event is
        appended. Escalations under legal hold are kept."""
        baton = current_baton()
        done = handlers.erase_customer(uow=baton.uow, actor=current_actor(),
                                       customer_id=body["customer_id"], now=baton.now())
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
    app.add_url_rule("/healthz", "healthz_root", _health_root)


def _health_root() -> Response:
    body, status = health_as_seen(*health())
    response = jsonify(body)
    response.status_code = status
    return response
