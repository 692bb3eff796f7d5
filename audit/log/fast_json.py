"""orjson where it is installed (it is with Baton), the standard library where it is not
(the offline verifier runs on the standard library alone): the same values read and the
same bytes written either way (tests/unit/test_fast_json.py), orjson taking about a
tenth of the time to write and two thirds to read."""

from __future__ import annotations

import json
import re
from typing import Any

try:
    import orjson
except ImportError:  # tests/unit/test_canonical.py runs the verifier without it
    orjson = None  # type: ignore[assignment]

# JSON nested deeper than this is refused by the ledger's readers and the offline verifier
# before any parser sees it: a parser's own limit depends on how deep the call stack
# already is (json) or on the parser (orjson 254), so a verdict near it would depend on
# which path read the line, and where. Baton writes nothing near it (the API refuses a
# body nested deeper than 32 levels).
MAX_DEPTH = 500
IN_A_LINE = MAX_DEPTH + 1  # a bundle's event line: the event, content, erasures in an array
# An escape first (a backslash and what follows), then what is left of a string: a quote
# to the next quote, or to the end when none closes it. Linear; no backtracking.
_ESCAPES = re.compile(r"\\.", re.DOTALL).sub
_STRINGS = re.compile(r'"[^"]*"?').sub
_BRACKETS = re.compile(r"[][{}]").findall

# orjson reads an integer literal beyond 64 bits as a float, json.loads as an integer:
# below -2**63 that is from 19 digits on (-9223372036854775809), above 2**64-1 from 20.
_LONG_TEXT = re.compile(r"\d{19}").search
_LONG_BYTES = re.compile(rb"\d{19}").search


def too_deep(data: str | bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether JSON text nests arrays and objects deeper than `limit` (brackets inside
    strings do not count). Cheap for what cannot: shorter text, or fewer brackets."""
    if len(data) <= 2 * limit:
        return False
    if isinstance(data, str):
        text = data
    else:  # as json.loads reads bytes: UTF-8, -16 or -32 (what it cannot read it refuses)
        try:
            text = data.decode(json.detect_encoding(data), "surrogatepass")
        except UnicodeDecodeError:
            return False
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for bracket in _BRACKETS(_STRINGS("", _ESCAPES("", text))):
        depth += 1 if bracket in "[{" else -1
        if depth > limit:
            return True
    return False


def any_too_deep(texts: list[str], limit: int = MAX_DEPTH) -> bool:
    """Whether any of `texts` is too_deep: one look at the longest first (a run of
    lines as an export writes them is all far shorter than deep nesting needs)."""
    if max(map(len, texts), default=0) <= 2 * limit:
        return False
    return any(too_deep(text, limit) for text in [t for t in texts if len(t) > 2 * limit])


def loads(data: str | bytes) -> Any:
    """json.loads(data): by orjson when it reads the same value, else by json.loads, which
    decides what orjson refuses (it accepts NaN, a lone surrogate's escape, UTF-16 bytes;
    it refuses what orjson refuses too, with its own error)."""
    if orjson is not None:
        long = _LONG_TEXT(data) if isinstance(data, str) else _LONG_BYTES(data)
        if long is None:
            try:
                return orjson.loads(data)
            except orjson.JSONDecodeError:
                pass
    return json.loads(data)


def sorted_compact(value: Any) -> bytes | None:
    """Compact JSON with sorted keys as UTF-8 (what json.dumps(value, sort_keys=True,
    separators=(",", ":"), ensure_ascii=False) encodes, for values of JSON's own types
    with string keys); None when orjson is missing or will not write it (a lone surrogate,
    an integer beyond 64 bits, a key that is not a string, nesting beyond 254 levels)."""
    if orjson is None:
        return None
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None
