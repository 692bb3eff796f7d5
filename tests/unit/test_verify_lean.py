"""The verifier's lean reading of format 2 bytes (audit/verifier/verify_lean.py) accepts
only what record_of accepts, and then says what record_of's record says; everything else
it leaves to record_of, which names the problem (issue #29)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from audit.log.canonical import commitment
from audit.log.event_record import RecordError, encode, record_of
from audit.verifier.verify_lean import lean_event

POLICY = "ab" * 32
AT = "2026-03-02T09:00:00.000000Z"


def a_record(**changes: Any) -> dict[str, Any]:
    record = {
        "v": 1, "seq": 7, "escalation_id": "esc-1", "version": 2, "action": "hand-off",
        "actor": "fiona", "role": "finance", "at": AT, "from_state": "acknowledged",
        "to_state": "handed-off", "from_owner": "fiona", "to_owner": None, "tier": 0,
        "payload": {"to": "sue", "nested": {"x": [1, "ü"]},
                    "context": {"commitment": commitment(b"s" * 32, "over"), "list": False},
                    "names": {"commitment": commitment(b"t" * 32, '["a"]'), "list": True}},
        "policy_version": POLICY, "rule": "owner.acts",
    }
    record.update(changes)
    return record


GOOD = encode(a_record(), 3)


def _edit(**changes: Any) -> dict[str, Any]:
    obj = copy.deepcopy(GOOD)
    for key, value in changes.items():
        if value is ...:
            obj.pop(key)
        else:
            obj[key] = value
    return obj


OBJECTS = [
    GOOD, encode(a_record(), None), encode(a_record(payload={}), 3),
    encode(a_record(escalation_id=None, version=None), 3),
    encode(a_record(via="sso:groups=finance"), 3),
    _edit(c={}), _edit(c=None), _edit(payload=None), _edit(payload=[1]),
    _edit(payload={"context": "clear"}),  # committed and in clear
    _edit(payload={"x": {"commitment": "00" * 32}}),  # a commitment in the clear payload
    _edit(c={"n": "A" * 42}), _edit(c={"n": "A" * 42 + "B"}), _edit(c={"n": "A" * 42 + "+"}),
    _edit(c={"n": ["A" * 43, "A" * 43]}), _edit(c={"n": []}), _edit(c={"n": 5}),
    _edit(c=["A" * 43]), _edit(c={"n": "A" * 43}),
    _edit(pr=0), _edit(pr="3"), _edit(pr=None), _edit(pr=True), _edit(pr=...),
    _edit(s=8), _edit(s=True), _edit(s=7.0), _edit(s=...), _edit(v=2.0), _edit(v=True),
    _edit(zz=1), _edit(actor="x"), _edit(seq=7), _edit(long_extra_key=1),
    _edit(a="policy-applied"), _edit(a="content-erased"), _edit(a=["x"]),
    _edit(e=1), _edit(e=None), _edit(n=True), _edit(n=2.0), _edit(t=None),
]


def compact(obj: dict[str, Any]) -> bytes:
    """Canonical JSON's layout, floats allowed (bytes no Baton wrote)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def record_answer(data: bytes) -> tuple[Any, dict[str, Any]] | None:
    """(escalation id, {field: commitment hex}) as record_of reads the bytes; None when
    it refuses them or they are not the line's (seq 7 of esc-1, version 2, at AT)."""
    try:
        record = record_of(json.loads(data), {3: POLICY}.get)
    except (RecordError, ValueError):
        return None
    beside = (record.get("seq"), record.get("escalation_id"), record.get("version"),
              record.get("at"))
    if [(x, type(x)) for x in beside] != [(x, type(x)) for x in (7, "esc-1", 2, AT)]:
        return None
    payload = record.get("payload")
    payload = payload if isinstance(payload, dict) else {}
    return record["escalation_id"], {k: v["commitment"] for k, v in payload.items()
                                     if isinstance(v, dict) and "commitment" in v}


@pytest.mark.parametrize("obj", OBJECTS, ids=[str(i) for i in range(len(OBJECTS))])
def test_what_the_lean_reading_accepts_record_of_reads_the_same(obj: dict[str, Any]) -> None:
    data = compact(obj)
    lean = lean_event(data, 7, "esc-1", 2, AT, {3: POLICY}.get)
    if lean is None:
        return  # record_of reads it, and names any problem
    escalation, commits = lean
    assert record_answer(data) == (escalation, {k: v.hex() for k, v in commits.items()})


def test_the_usual_event_is_read_lean_and_the_rest_is_not() -> None:
    lean = lean_event(compact(GOOD), 7, "esc-1", 2, AT, {3: POLICY}.get)
    assert lean is not None and set(lean[1]) == {"context", "names"}
    for obj in (_edit(pr=0), _edit(a="policy-applied"), _edit(s=8), _edit(zz=1)):
        assert lean_event(compact(obj), 7, "esc-1", 2, AT, {3: POLICY}.get) is None
    spaced = json.dumps(GOOD).encode()  # not canonical, still JSON: left to record_of
    assert lean_event(b" " + spaced, 7, "esc-1", 2, AT, {3: POLICY}.get) is None
    for beside in (("esc-2", 2, AT), ("esc-1", 3, AT), ("esc-1", "2", AT),
                   ("esc-1", 2, "2026")):
        assert lean_event(compact(GOOD), 7, *beside, {3: POLICY}.get) is None


def test_a_clear_commitment_spelt_with_escapes_is_left_to_record_of() -> None:
    escaped = compact(GOOD).replace(b'"payload":{', b'"payload":{"y":{"commitmen\\u0074":"00"},')
    assert record_answer(escaped) is not None and "y" in record_answer(escaped)[1]
    lean = lean_event(escaped, 7, "esc-1", 2, AT, {3: POLICY}.get)
    assert lean is None or record_answer(escaped) == (
        lean[0], {k: v.hex() for k, v in lean[1].items()})
