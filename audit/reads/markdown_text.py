"""How the Markdown pages (the debrief pack, the timeline) write what they show: a table
cell nobody's text can break, a time to the second, a duration a person reads."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

from workflow.timestamps import parse_rfc3339

NOTHING = "—"

# A cell a spreadsheet would read as a formula (OWASP "CSV injection"): a Markdown table
# pasted into a sheet is read cell by cell.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# An RFC 3339 time as the ledger writes it (microseconds, Z or an offset).
_RFC3339 = re.compile(r"\b(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})")


# C0 and C1 control characters (but tab and line ends, which the callers handle): shown as
# \xNN, so a text typed with an escape sequence cannot drive a facilitator's terminal
# when a saved pack or export is printed there.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """The text with its control characters shown as \\xNN."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def cell(value: Any) -> str:
    """A table cell or list text: one line, no HTML a wiki would render, no table break,
    no formula; nothing (None) reads as a dash, never as `None`."""
    if value is None or value == "":
        return NOTHING
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = printable(" ".join(str(value).splitlines())).replace("|", "\\|")
    text = html.escape(text, quote=False)
    return "'" + text if text.startswith(FORMULA_START) else text


def moment(value: str | None) -> str:
    """An RFC 3339 time as people read it, to the second and in UTC."""
    if not value:
        return NOTHING
    at = parse_rfc3339(value)
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def times_in(text: str) -> str:
    """Every RFC 3339 time inside a text Baton wrote (never a person's), to the second."""
    return _RFC3339.sub(lambda m: moment(m.group(0)), text)


def duration(seconds: float | None) -> str:
    """A length of time: `45s`, `2m 12s`, `1h 05m`, `3d 4h` (whole seconds)."""
    if seconds is None:
        return NOTHING
    whole = int(round(abs(seconds)))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, sec = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {sec:02d}s"
    return f"{sec}s"


def table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    """A GitHub/CommonMark table (cells already written by `cell`); a line saying there
    is nothing when there are no rows, rather than a header over nothing."""
    if not rows:
        return ["Nothing recorded."]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines
