"""Metrics over a chosen period, per team: time to first response, containment and
resolution, SLA compliance per clock, ownership changes and reopen rate, as charts with
their numbers (the same report as GET /api/v1/metrics/escalations)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import render_template, request

from api.container import current as current_baton
from api.container import request_connection
from api.ui.blueprint import ui
from api.ui.charts import Chart, bars
from api.ui.countdown import duration
from audit.reads import metrics, report_period
from workflow.errors import PayloadInvalid

DEFAULT_DAYS = 30


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def _charts(report: dict[str, Any], overall: dict[str, Any]) -> list[Chart]:
    groups = report["groups"]

    def per_team(key: str, sub: str | None = None) -> list[tuple[str, float | None]]:
        return [(g["key"], g[key][sub] if sub else g[key]) for g in groups]

    return [
        bars("Time to first response (median) per team",
             per_team("time_to_first_response", "p50"), duration),
        bars("Time to containment (median) per team",
             per_team("time_to_containment", "p50"), duration),
        bars("Time to resolution (median) per team",
             per_team("time_to_resolution", "p50"), duration),
        bars("SLA compliance per clock, customer promises included (all teams)",
             [*overall["sla_compliance"].items(),
              ("customer promises", overall["promise_kept_rate"])], _percent, scale_max=1.0),
        bars("Breaches per clock, missed promises included (all teams)",
             [*((k, float(v)) for k, v in overall["breaches_by_clock"].items()),
              ("customer promises", float(_missed(overall)))], lambda v: f"{v:.0f}"),
        bars("Ownership changes per escalation, per team",
             per_team("ownership_changes_per_escalation"), lambda v: f"{v:.2f}"),
        bars("Reopen rate per team", per_team("reopen_rate"), _percent, scale_max=1.0),
        bars("Customer satisfaction (mean CSAT, 1-5) per team", per_team("csat", "mean"),
             lambda v: f"{v:.1f}", scale_max=5.0),
        bars("Promise-kept rate per team", per_team("promise_kept_rate"), _percent,
             scale_max=1.0),
        bars("Follow-up compliance per team", per_team("follow_up_compliance"), _percent,
             scale_max=1.0),
        bars("Repeat rate per team", per_team("repeat_rate"), _percent, scale_max=1.0),
    ]


def _missed(group: dict[str, Any]) -> int:
    """How many promises to the customer were not kept."""
    rate = group["promise_kept_rate"]
    return 0 if rate is None else round(group["promises"] * (1 - rate))


@ui.get("/metrics")
def metrics_page() -> Any:
    """The metrics page for the escalations opened in [since, until] (whole days, UTC);
    debrief actions overdue as of now."""
    baton = current_baton()
    conn = request_connection()
    today = baton.now().astimezone(UTC).date()
    until = _day(request.args.get("until")) or today
    since = _day(request.args.get("since")) or until - timedelta(days=DEFAULT_DAYS)
    start = datetime.combine(since, time(), UTC)
    end = datetime.combine(until + timedelta(days=1), time(), UTC)
    max_tier = baton.policy(conn).max_tier
    try:  # the API's bounds: a period of at most 92 days, a report of at most 10,000
        report_period.bounded(start, end, baton.now())
        by_team, overall = metrics.reports(conn, start, end, ("team", None), max_tier,
                                           baton.now(), limit=report_period.MAX_ESCALATIONS)
    except PayloadInvalid as refused:
        return render_template("ui/metrics.html", since=since, until=until, report=None,
                               overall=None, charts=[],
                               refused="; ".join(refused.errors.values())), 422
    everyone = overall["groups"][0] if overall["groups"] else None
    return render_template("ui/metrics.html", since=since, until=until, report=by_team,
                           overall=everyone, refused=None, missed=_missed(everyone)
                           if everyone else 0,
                           charts=_charts(by_team, everyone) if everyone else [])
