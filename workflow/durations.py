"""Durations as the policy and payloads write them: 90s, 10m, 2h, 1d, 1h30m."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: object) -> int:
    """Seconds from '10m', '2h', '1d', '1h30m' (or a plain integer of seconds)."""
    if isinstance(text, int) and not isinstance(text, bool) and text > 0:
        return text
    if isinstance(text, str):
        match = _DURATION.match(text)
        if match and any(match.groups()):
            d, h, m, s = (int(g or 0) for g in match.groups())
            total = ((d * 24 + h) * 60 + m) * 60 + s
            if total > 0:
                return total
    raise ValueError(f"{text!r} is not a duration such as \"10m\", \"2h\" or \"3d\"")
