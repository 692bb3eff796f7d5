"""Event bytes in format 2 decode to the record format 1 held, and the verifier still reads
the format 1 export an earlier Baton wrote (tests/data/v1_export) (issue #29)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from audit.log.canonical import canonical_bytes, commitment
from audit.log.event_record import (
    KEYS,
    RecordError,
    encode,
    encoded_bytes,
    hex_of_b64,
    record_of,
    seq_of,
)
from audit.verifier.verify import verify_bundle, verify_path

V1 = Path(__file__).parent.parent / "data" / "v1_export"
VKEY = (V1 / "public_key.txt").read_text(encoding="utf-8").strip()
POLICY = "ab" * 32


def a_record(**changes: Any) -> dict[str, Any]:
    """A record as ledger.append holds it: format 1's shape, commitments filled in."""
    record = {
        "v": 1, "seq": 7, "escalation_id": "esc-1", "version": 2, "action": "hand-off",
        "actor": "fiona", "role": "finance", "at": "2026-03-02T09:00:00.000000Z",
        "from_state": "acknowledged", "to_state": "handed-off", "from_owner": "fiona",
        "to_owner": None, "tier": 0,
        "payload": {"to": "sue", "amount": None, "nested": {"x": [1, "ü"]},
                    "context": {"commitment": commitment(b"s" * 32, "over"), "list": False},
                    "names": {"commitment": commitment(b"t" * 32, '["a"]'), "list": True}},
        "policy_version": POLICY, "rule": "owner.acts",
    }
    record.update(changes)
    return record


def canonical_record(record: dict[str, Any]) -> dict[str, Any]:
    """What json.loads of format 1's bytes of the record gives."""
    return json.loads(canonical_bytes(record))


@pytest.mark.parametrize("changes", [
    {}, {"via": "sso:groups=finance"}, {"escalation_id": None, "version": None,
                                        "from_state": None, "to_state": None, "tier": None},
    {"payload": {}}, {"payload": {"x": None}}, {"tier": 0, "version": 0},
    {"payload": {"only": {"commitment": "00" * 32, "list": False}}}])
@pytest.mark.parametrize("ref", [3, None])
def test_format_2_decodes_to_the_record_format_1_held(changes: dict[str, Any],
                                                       ref: int | None) -> None:
    record = a_record(**changes)
    data = encoded_bytes(record, ref)
    back = record_of(data, {3: POLICY}.get)
    assert back == canonical_record(record)
    assert list(back) == sorted(back) and list(back["payload"]) == sorted(back["payload"])
    assert seq_of(json.loads(data)) == 7
    assert len(data) < len(canonical_bytes(record))


def test_format_2_writes_short_keys_no_nulls_a_policy_reference_and_base64url() -> None:
    record = a_record()
    obj = encode(record, 3)
    assert obj["v"] == 2 and obj["pr"] == 3 and "pv" not in obj and "to" not in obj
    assert set(obj) <= {"v", "pr", "c", *KEYS.values()}
    assert obj["c"]["names"] == [base64.urlsafe_b64encode(bytes.fromhex(
        record["payload"]["names"]["commitment"])).rstrip(b"=").decode()]
    assert len(obj["c"]["context"]) == 43 and "context" not in obj["payload"]
    assert encode(record, None)["pv"] == POLICY  # no earlier policy-applied event
    assert record_of(canonical_bytes(record), {}.get) == canonical_record(record)  # format 1


@pytest.mark.parametrize("obj, why", [
    ({"v": 2, "s": 1, "pr": 0}, "policy reference 0 is not an earlier policy-applied event"),
    ({"v": 2, "s": 1, "pr": "0"}, "policy reference '0' is not a seq"),
    ({"v": 2, "s": 1, "zz": 1}, "unknown key 'zz' in format 2 bytes"),
    ({"v": 2, "s": 1, "actor": "x"}, "unknown key 'actor' in format 2 bytes"),
    ({"v": 2, "s": 1, "payload": {"n": 1}, "c": {"n": "A" * 43}},
     "payload field 'n' is both committed and in clear"),
    ({"v": 2, "s": 1, "c": {"n": "A" * 42}}, "is not 43 characters of base64url"),
    ({"v": 2, "s": 1, "c": {"n": "A" * 42 + "B"}}, "is not canonical base64url"),
    ({"v": 2, "s": 1, "c": {"n": ["A" * 43, "A" * 43]}}, "commitment of 'n' is not one value"),
])
def test_format_2_bytes_that_no_baton_wrote_are_refused(obj: dict[str, Any], why: str) -> None:
    with pytest.raises(RecordError, match=why.replace("(", r"\(").replace("[", r"\[")):
        record_of(canonical_bytes(obj), {}.get)


def test_a_key_that_would_clash_with_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="clashes"):
        encode(a_record(pr=1), None)
    assert hex_of_b64("A" * 43) == "00" * 32


# --- the format 1 export an earlier Baton wrote -------------------------------------


def test_the_format_1_export_still_verifies() -> None:
    with open(V1 / "bundle.jsonl", encoding="utf-8") as fh:
        report = verify_bundle(fh, VKEY)
    assert report.ok, report.problems
    assert (report.events, report.checkpoints, report.contents, report.erased) == \
        (18, 5, 13, 13)
    for jobs in (1, 2):
        parallel = verify_path(str(V1 / "bundle.jsonl"), VKEY, jobs=jobs, parallel_from=0)
        assert parallel.ok and parallel.contents == 13, parallel.problems
        assert parallel.cores == jobs, "the parallel path verified it (no fallback)"
        binary = verify_path(str(V1 / "bundle.bin"), VKEY, jobs=jobs, parallel_from=0)
        assert binary.ok and binary.structural and binary.events == 18, binary.problems
        assert binary.cores == jobs


def test_the_format_1_export_is_format_1_and_an_edit_of_it_is_still_caught() -> None:
    lines = (V1 / "bundle.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if '"type":"event"' in line)
    item = json.loads(lines[at])
    body = base64.b64decode(item["bytes"])
    assert json.loads(body)["v"] == 1 and b'"policy_version":' in body
    item["bytes"] = base64.b64encode(body.replace(b'"root"', b'"rooT"')).decode()
    lines[at] = json.dumps(item, separators=(",", ":")) + "\n"
    report = verify_bundle(lines, VKEY)
    assert report.problems == [f"seq {item['seq']}: bytes do not match leaf hash"]
