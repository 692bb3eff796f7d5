"""The ownership swimlane's geometry: one lane per person who owned or covered an
escalation, a span per ownership or cover (coloured by how it began), and tier changes and
breaches marked on the time axis. The template draws it as SVG; nothing runs in the page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from api.ui.countdown import duration
from workflow.model import parse_rfc3339

LABEL_WIDTH = 120
PLOT_WIDTH = 680
LANE_HEIGHT = 26
LANE_GAP = 10
TOP = 30  # room for the markers' labels
AXIS = 34  # room for the time axis below the lanes
# How a span began -> its colour class (others: "other").
BEGAN = ("acknowledged", "accepted-handoff", "reassigned", "temporary-cover")


@dataclass(frozen=True)
class Box:
    """One span drawn in a lane."""

    x: float
    width: float
    began: str
    kind: str
    title: str


@dataclass(frozen=True)
class Lane:
    """One person's lane."""

    owner: str
    y: float
    boxes: list[Box]


@dataclass(frozen=True)
class Marker:
    """A tier change or a breach on the time axis."""

    x: float
    kind: str
    label: str


@dataclass(frozen=True)
class Swimlane:
    """Everything the template needs to draw the SVG."""

    lanes: list[Lane]
    markers: list[Marker]
    ticks: list[tuple[float, str]]
    width: int
    height: int
    plot_left: int
    plot_bottom: float


# Tick label formats, coarse to fine: the first whose labels all differ is used.
_TICK_FORMATS = ("%H:%M", "%H:%M:%S", "%d %b %H:%M", "%d %b %H:%M:%S")


def tick_labels(moments: list[datetime], zone: tzinfo = UTC) -> list[str]:
    """Labels for the axis' ticks in `zone`: the shortest format that tells every tick
    apart (a date once they span more than a day; seconds when minutes repeat)."""
    local = [m.astimezone(zone) for m in moments]
    days = len({m.date() for m in local}) > 1
    for fmt in _TICK_FORMATS[2:] if days else _TICK_FORMATS:
        labels = [m.strftime(fmt) for m in local]
        if len(set(labels)) == len(labels):
            return labels
    return [m.strftime("%d %b %H:%M:%S.%f")[:-3] for m in local]


def _shown(moment: datetime, zone: tzinfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()}"


def build(spans: list[dict[str, Any]], events: list[dict[str, Any]],
          end: datetime, zone: tzinfo = UTC) -> Swimlane:
    """The swimlane of one escalation from its trail and timeline events, up to `end`
    (now for a live escalation; open spans run to it)."""
    start = parse_rfc3339(events[0]["at"])
    last = max(end, parse_rfc3339(events[-1]["at"]))
    whole = max((last - start).total_seconds(), 1.0)

    def x(moment: datetime) -> float:
        return LABEL_WIDTH + PLOT_WIDTH * (moment - start).total_seconds() / whole

    owners: list[str] = []
    for span in spans:
        if span["owner"] not in owners:
            owners.append(span["owner"])
    lanes = []
    for i, owner in enumerate(owners):
        boxes = []
        for span in (s for s in spans if s["owner"] == owner):
            a = parse_rfc3339(span["from"])
            b = parse_rfc3339(span["to"]) if span["to"] else last
            began = span["began"] if span["began"] in BEGAN else "other"
            held = "covered" if span["kind"] == "acting" else "owned"
            title = (f"{owner} {held} it from {_shown(a, zone)} "
                     f"{'to ' + _shown(b, zone) if span['to'] else 'until now'} "
                     f"({duration((b - a).total_seconds())}); began: {span['began']} "
                     f"by {span['began_by']}, rule {span['began_rule']}")
            boxes.append(Box(x(a), max(x(b) - x(a), 2.0), began, span["kind"], title))
        lanes.append(Lane(owner, TOP + i * (LANE_HEIGHT + LANE_GAP), boxes))
    markers = []
    for event in events:
        if event["action"] == "escalate":
            markers.append(Marker(x(parse_rfc3339(event["at"])), "tier",
                                  f"tier {event['tier']}"))
        elif event["action"] == "sla-breached":
            markers.append(Marker(x(parse_rfc3339(event["at"])), "breach", "breach"))
    bottom = TOP + max(len(lanes), 1) * (LANE_HEIGHT + LANE_GAP)
    moments = [start + (last - start) * n / 4 for n in range(5)]
    ticks = list(zip([x(m) for m in moments], tick_labels(moments, zone), strict=True))
    return Swimlane(lanes, markers, ticks, LABEL_WIDTH + PLOT_WIDTH + 50,
                    int(bottom + AXIS), LABEL_WIDTH, bottom)
