"""Times on the dashboard's pages: to the second, one format, in the viewer's time zone
(a preference kept in a cookie, UTC by default), never microseconds; and the page that
sets the preference."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import make_response, redirect, render_template, request

from api.container import current as current_baton
from api.ui.blueprint import ui
from api.ui.login import safe_next
from workflow.model import parse_rfc3339

COOKIE = "baton_tz"
FORMAT = "%Y-%m-%d %H:%M:%S"
_YEAR = 365 * 24 * 3600


@lru_cache(maxsize=1)
def zones() -> tuple[str, ...]:
    """Every IANA time zone name this machine knows, sorted, UTC first."""
    return ("UTC", *sorted(z for z in available_timezones() if z != "UTC"))


def zone_named(name: str | None) -> tzinfo | None:
    """The time zone of that IANA name, or None when there is none of that name."""
    if not name or name not in zones():
        return None
    try:
        return UTC if name == "UTC" else ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def viewer_zone_name() -> str:
    """The viewer's time zone: the cookie's when it names one, else UTC."""
    name = request.cookies.get(COOKIE, "UTC")
    return name if zone_named(name) is not None else "UTC"


def viewer_zone() -> tzinfo:
    """The viewer's time zone."""
    return zone_named(viewer_zone_name()) or UTC


def moment(value: datetime | str | None) -> datetime | None:
    """A datetime or RFC 3339 text in the viewer's zone, to the second (None stays)."""
    if value is None or value == "":
        return None
    when = parse_rfc3339(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(viewer_zone()).replace(microsecond=0)


def shown(value: datetime | str | None, fmt: str = FORMAT) -> str:
    """The one way a time reads on a page: 2026-11-23 10:05:00 CET (— for none)."""
    when = moment(value)
    if when is None:
        return "—"
    return f"{when.strftime(fmt)} {when.tzname() or ''}".rstrip()


def clock_time(value: datetime | str) -> str:
    """A deadline as a short time of day in the viewer's zone (14:05, or with the date
    when it is not today's)."""
    when = moment(value)
    if when is None:
        return ""
    today = current_baton().now().astimezone(viewer_zone()).date()
    return when.strftime("%H:%M" if when.date() == today else "%d %b %H:%M")


def machine(value: datetime | str | None) -> str:
    """The datetime attribute of a <time> element (RFC 3339, UTC, to the second)."""
    when = moment(value)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if when else ""


@ui.get("/time-zone")
def time_zone() -> Any:
    """The time zone preference's page."""
    return render_template("ui/time_zone.html", zones=zones(), current=viewer_zone_name(),
                           back=_back(request.args.get("next")), error=None)


@ui.post("/time-zone")
def time_zone_post() -> Any:
    """Keep the chosen time zone in a cookie (a year), back to the page the viewer was on."""
    name = request.form.get("zone", "").strip()
    back = _back(request.form.get("next"))
    if zone_named(name) is None:
        return render_template("ui/time_zone.html", zones=zones(), current=viewer_zone_name(),
                               back=back, error=f"“{name[:80]}” is no time zone name "
                                                "this server knows (e.g. Europe/Paris)",
                               typed=name), 422
    response = make_response(redirect(back, 303))
    response.set_cookie(COOKIE, name, max_age=_YEAR, path="/ui", httponly=True,
                        samesite="Lax", secure=request.is_secure)
    return response


def _back(target: str | None) -> str:
    # Only a page of this dashboard, by the sign-in's one rule (no CR/LF, no "..").
    return safe_next(target)


# The templates' filters and the viewer's zone, for every page of the app.
ui.add_app_template_filter(shown, "when")
ui.add_app_template_filter(clock_time, "clock_time")
ui.add_app_template_filter(machine, "machine_time")
ui.add_app_template_global(viewer_zone_name, "viewer_zone")
