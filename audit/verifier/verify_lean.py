"""The verifier's lean reading of format 2 event bytes (issue #29): what the checks need
(seq, the fields a line repeats, the committed fields and their commitments as raw
digests, the policy reference) without building the format 1 record.

It answers only for bytes it is sure about: the usual event of format 2, keys all of
format 2's own, not a policy-applied or content-erased event, nothing it would have to
refuse. For anything else it answers None and the verifier reads the bytes the usual way
(event_record.record_of), which names the problem, if there is one, as it always has.
Whatever it accepts, record_of accepts too, with the same seq, repeated fields, committed
fields and commitments (tests/unit/test_verify_lean.py holds it to that).

Standard library only (the offline verifier imports this).
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable
from json import JSONDecoder
from json.scanner import make_scanner
from typing import Any

from audit.log import event_record
from audit.log.fast_json import too_deep

# The C scanner json.loads runs, without the wrapper's checks (done here: the bytes
# start with '{"', are strict UTF-8, and the value ends where the bytes end).
SCAN: Callable[[str, int], tuple[Any, int]] = make_scanner(
    JSONDecoder())  # type: ignore[arg-type]  # typeshed: the context is the decoder
# Format 2's keys, and the actions whose events always take the usual reading.
SHORT_KEYS = frozenset([*event_record.LONG, event_record.POLICY_REF,
                        event_record.COMMITMENTS, "v"])
SPECIAL_ACTIONS = frozenset([event_record.POLICY_APPLIED, event_record.CONTENT_ERASED])
# 32 bytes as canonical unpadded base64url: the last character holds 2 bits, 4 zero.
_B64URL = re.compile(r"[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]").fullmatch
_TO_STD = bytes.maketrans(b"-_", b"+/")  # bytes.translate: str.translate is 20x slower
_A2B = binascii.a2b_base64

Commits = dict[str, Any]  # field -> its commitment (raw digest here, hex in format 1)


def whole_json(data: bytes) -> tuple[str, Any] | None:
    """(text, value) of bytes that are strict UTF-8 and one JSON value with nothing after
    it; None otherwise."""
    if too_deep(data):
        return None  # the usual reading refuses it by name
    try:
        text = data.decode()
        value, end = SCAN(text, 0)
    except (UnicodeDecodeError, StopIteration, ValueError, RecursionError):
        return None
    return (text, value) if end == len(text) else None


def lean_event(data: bytes, seq: int, escalation: Any, version: Any, at: Any,
               policy_of: Callable[[int], str | None]) -> tuple[Any, Commits] | None:
    """(escalation id, {field: commitment digest}) of format 2 bytes that say `seq` and
    the line's escalation, version and at, when nothing in them needs the usual reading;
    None otherwise."""
    found = whole_json(data) if data[:2] == b'{"' else None
    if found is None:
        return None
    text, obj = found
    v = obj.get("v")
    s = obj.get("s")
    if (type(v) is not int or v != event_record.FORMAT_2
            or type(s) is not int or s != seq or not obj.keys() <= SHORT_KEYS):
        return None
    e, n, t = obj.get("e"), obj.get("n"), obj.get("t")
    if (e != escalation or type(e) is not type(escalation) or n != version
            or type(n) is not type(version) or t != at or type(t) is not type(at)):
        return None
    a = obj.get("a")
    if (type(a) is str and a in SPECIAL_ACTIONS) or '"commitment"' in text or "\\u" in text:
        return None  # a clear payload field shaped like a commitment counts as one (its
        # key may be spelt with \u escapes: canonical JSON writes them for controls only)
    commits: Commits = {}
    committed = obj.get(event_record.COMMITMENTS)
    if committed is not None:
        payload = obj.get("payload")
        if type(committed) is not dict or (payload is not None and type(payload) is not dict):
            return None
        for name, value in committed.items():
            if type(value) is list:
                if len(value) != 1:
                    return None
                value = value[0]
            if type(value) is not str or not _B64URL(value) or (payload and name in payload):
                return None
            commits[name] = _A2B(value.encode().translate(_TO_STD) + b"=")
    if event_record.POLICY_REF in obj:  # last: a range verifier notes the reference
        ref = obj[event_record.POLICY_REF]
        if type(ref) is not int or policy_of(ref) is None:
            return None
    return e, commits
