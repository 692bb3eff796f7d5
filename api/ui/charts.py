"""Horizontal bar charts' geometry, drawn as SVG by the templates (no script, no library):
one bar per group, its number printed beside it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

LABEL_WIDTH = 130
BAR_WIDTH = 360
ROW_HEIGHT = 24
VALUE_WIDTH = 110


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its length and place, and the number as text."""

    label: str
    y: float
    width: float
    text: str


@dataclass(frozen=True)
class Chart:
    """A titled bar chart."""

    title: str
    bars: list[Bar]
    width: int
    height: int
    label_width: int


def bars(title: str, values: list[tuple[str, float | None]],
         fmt: Callable[[float], str], scale_max: float | None = None) -> Chart:
    """A chart of `values` (None: no data, drawn as no bar and "—")."""
    top = scale_max if scale_max is not None else max(
        (v for _, v in values if v is not None), default=0.0)
    out = []
    for i, (label, value) in enumerate(values):
        width = 0.0 if value is None or top <= 0 else BAR_WIDTH * value / top
        out.append(Bar(label, i * ROW_HEIGHT, max(width, 0.0),
                       "—" if value is None else fmt(value)))
    return Chart(title, out, LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH,
                 max(len(out), 1) * ROW_HEIGHT + 4, LABEL_WIDTH)
