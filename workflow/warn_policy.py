"""The policy's `[warnings]` table: when to warn before a clock runs out.

    [warnings]
    default = ["75%"]            # every clock and promise of every severity
    promise = ["75%", "15m"]     # one clock (acknowledge, update, resolve, handoff,
                                 # follow_up, promise, item), every severity
    [warnings.urgent]            # one severity
    default = ["50%", "75%"]
    acknowledge = ["50%", "2m"]  # one severity's one clock

A threshold is a fraction of the clock ("75%": three quarters of its time has run) or a
duration before its deadline ("15m"); `[]` warns never. The most specific entry wins:
severity and clock, then the clock, then the severity's default, then the default. A
policy without the table warns never."""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from typing import Any

from workflow.durations import parse_duration
from workflow.policy import CLOCKS, OPTIONAL_CLOCKS, Policy

TABLE = "warnings"
DEFAULT = "default"
# The kinds of clock a threshold may name: the policy's clocks, promises, action items.
KINDS = (*CLOCKS, *OPTIONAL_CLOCKS, "promise", "item")
MAX_THRESHOLDS = 5
_PERCENT = re.compile(r"^([1-9][0-9]?)%$")


def kind_of(clock: str) -> str:
    """The kind of a running clock (`promise-p3` is a promise, `item-a5.1` an item)."""
    for prefix in ("promise", "item"):
        if clock.startswith(prefix + "-"):
            return prefix
    return clock


@lru_cache(maxsize=256)
def fraction(threshold: str) -> float | None:
    """0.75 for "75%"; None for a duration."""
    found = _PERCENT.match(threshold)
    return int(found[1]) / 100 if found else None


def _threshold(text: object) -> str:
    """One threshold, checked; ValueError says why not."""
    if isinstance(text, str) and _PERCENT.match(text):
        return text
    if isinstance(text, str) and text.endswith("%"):
        raise ValueError(f"{text!r}: a fraction is a whole percentage from 1% to 99%")
    parse_duration(text)  # raises ValueError with the duration's own message
    return str(text)


def _list(raw: Any, key: str, problems: list[tuple[str, str]]) -> tuple[str, ...]:
    if not isinstance(raw, list):
        problems.append((key, 'must be a list of thresholds such as ["75%", "15m"]'))
        return ()
    if len(raw) > MAX_THRESHOLDS:
        problems.append((key, f"at most {MAX_THRESHOLDS} thresholds"))
    out: list[str] = []
    for item in raw:
        try:
            checked = _threshold(item)
        except ValueError as exc:
            problems.append((key, str(exc)))
            continue
        if checked in out:
            problems.append((key, f"{checked!r} is given twice"))
        out.append(checked)
    return tuple(out)


def _entries(table: dict[str, Any], severities: set[str], problems: list[tuple[str, str]]
             ) -> dict[str, tuple[str, ...]]:
    """Flattened entries: "default", a kind, "<severity>/default", "<severity>/<kind>"."""
    out: dict[str, tuple[str, ...]] = {}
    for name, raw in table.items():
        key = f"{TABLE}.{name}"
        if name == DEFAULT or name in KINDS:
            out[name] = _list(raw, key, problems)
        elif name in severities:
            if not isinstance(raw, dict):
                problems.append((key, "must be a table of clock = [thresholds]"))
                continue
            for sub, value in raw.items():
                if sub != DEFAULT and sub not in KINDS:
                    problems.append((f"{key}.{sub}", f"unknown clock; known: "
                                                     f"{', '.join((DEFAULT, *KINDS))}"))
                    continue
                out[f"{name}/{sub}"] = _list(value, f"{key}.{sub}", problems)
        else:
            problems.append((key, f"neither {DEFAULT!r}, a clock ({', '.join(KINDS)}) nor "
                                  "a severity of the policy"))
    return out


def checked(doc: dict[str, Any], policy: Policy | None, problems: list[tuple[str, str]]
            ) -> tuple[Policy | None, list[tuple[str, str]]]:
    """The policy with its warnings, or the problems the table adds."""
    table = doc.get(TABLE)
    if table is None:
        return policy, problems
    problems = list(problems)
    if not isinstance(table, dict):
        return None, [*problems, (TABLE, "must be a table")]
    severities = set(policy.severities) if policy is not None else set(
        (doc.get("severities") or {}) if isinstance(doc.get("severities"), dict) else ())
    entries = _entries(table, severities, problems)
    if policy is None or problems:
        return None, problems
    return replace(policy, warnings=entries), problems


def thresholds(policy: Policy, severity: str, clock: str) -> tuple[str, ...]:
    """The thresholds at which a running `clock` of a `severity` escalation warns."""
    kind = kind_of(clock)
    for key in (f"{severity}/{kind}", kind, f"{severity}/{DEFAULT}", DEFAULT):
        if key in policy.warnings:
            return policy.warnings[key]
    return ()
