"""The ledger's event formats, and the one decoder every reader goes through.

A record is what Baton means by an event: a dict with the long keys of format 1
(`escalation_id`, `from_state`, ..., nulls present, `policy_version` the policy's full
hash, each committed payload field as `{"commitment": HEX, "list": BOOL}`). The signed
bytes are RFC 8785 canonical JSON of either

- format 1 (`"v": 1`): the record itself, or
- format 2 (`"v": 2`, issue #29): the same record with the short keys of `KEYS` (but
  `payload`, which keeps its name), null fields left out, the policy version as `pr`,
  the seq of the policy-applied event that introduced it (or as `pv`, the hash, when no
  earlier event did), and the commitments gathered in `c` as unpadded base64url
  (`{"field": "B64"}`, `["B64"]` for a list).

`record_of(bytes, policy_of_seq)` returns the record for bytes of either format, so a
reader never sees a format. Standard library only (the offline verifier imports this).
"""

from __future__ import annotations

import binascii
from collections.abc import Callable
from typing import Any

from audit.log import fast_json
from audit.log.canonical import canonical_bytes

FORMAT_1, FORMAT_2 = 1, 2
POLICY_APPLIED = "policy-applied"
CONTENT_ERASED = "content-erased"

# Format 2's key for each key of a record (docs/auditing.md#event-bytes).
KEYS = {
    "seq": "s", "escalation_id": "e", "version": "n", "action": "a", "actor": "by",
    "role": "r", "at": "t", "from_state": "fs", "to_state": "ts", "from_owner": "fo",
    "to_owner": "to", "tier": "ti", "policy_version": "pv", "rule": "ru", "via": "vi",
    # Kept long: PostgreSQL's least-privilege guards read body -> 'payload' inside the
    # database (migrations 0008 and 0011: an erasure's fields, an access event's subject).
    "payload": "payload",
}
POLICY_REF = "pr"  # the seq of the policy-applied event that introduced the version
COMMITMENTS = "c"
LONG = {short: long for long, short in KEYS.items()}
# A format 1 record holds each of these, null or not: format 2 leaves the nulls out.
NULLABLE = ("escalation_id", "version", "action", "actor", "role", "at", "from_state",
            "to_state", "from_owner", "to_owner", "tier", "payload", "policy_version",
            "rule")
RESERVED = {"v", POLICY_REF, COMMITMENTS, *LONG}
B64_LENGTH = 43  # 32 bytes, unpadded

PolicyOfSeq = Callable[[int], "str | None"]


class RecordError(ValueError):
    """Bytes that are not an event record of a format Baton wrote."""


_TO_STD = bytes.maketrans(b"-_", b"+/")  # bytes.translate: str.translate is 20x slower
_TO_URL = bytes.maketrans(b"+/", b"-_")


def b64_of_hex(digest: str) -> str:
    """A commitment's hex as format 2 writes it (base64url, no padding)."""
    return binascii.b2a_base64(bytes.fromhex(digest), newline=False).translate(
        _TO_URL).rstrip(b"=").decode()


def hex_of_b64(text: Any) -> str:
    """A format 2 commitment back to its hex; RecordError unless canonical base64url."""
    if type(text) is not str or len(text) != B64_LENGTH:
        raise RecordError(f"commitment {text!r} is not 43 characters of base64url")
    try:
        raw = binascii.a2b_base64(text.encode().translate(_TO_STD) + b"=", strict_mode=True)
    except (binascii.Error, ValueError):
        raise RecordError(f"commitment {text!r} is not base64url") from None
    if b64_of_hex(raw.hex()) != text:
        raise RecordError(f"commitment {text!r} is not canonical base64url")
    return raw.hex()


def encode(record: dict[str, Any], policy_seq: int | None) -> dict[str, Any]:
    """Format 2 of a record (its commitments filled in); `policy_seq` is the seq of an
    earlier policy-applied event of the record's policy version (None: write the hash)."""
    out: dict[str, Any] = {"v": FORMAT_2}
    for key, value in record.items():
        if key == "v" or (value is None and key in NULLABLE):
            continue
        if key == "payload":
            value = _split_payload(value, out)
        elif key == "policy_version" and policy_seq is not None:
            out[POLICY_REF] = policy_seq
            continue
        short = KEYS.get(key)
        if short is None:
            if key in RESERVED or len(key) <= 2:
                raise ValueError(f"record key {key!r} clashes with format 2's short keys")
            short = key
        out[short] = value
    return out


def _split_payload(payload: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
    """The payload without its commitments, which go to `out["c"]`."""
    kept: dict[str, Any] = {}
    committed: dict[str, Any] = {}
    for key, value in payload.items():
        if isinstance(value, dict) and "commitment" in value:
            b64 = b64_of_hex(value["commitment"])
            committed[key] = [b64] if value.get("list") else b64
        else:
            kept[key] = value
    if committed:
        out[COMMITMENTS] = committed
    return kept


def encoded_bytes(record: dict[str, Any], policy_seq: int | None) -> bytes:
    """The canonical bytes of a record in format 2."""
    return canonical_bytes(encode(record, policy_seq))


def parse(data: bytes) -> dict[str, Any]:
    """The JSON object of signed bytes; RecordError when they are not one."""
    if fast_json.too_deep(data):
        raise RecordError(f"nested deeper than {fast_json.MAX_DEPTH} levels")
    try:
        obj = fast_json.loads(data)
    except (ValueError, RecursionError):
        raise RecordError("not JSON") from None
    if not isinstance(obj, dict):
        raise RecordError("not a JSON object")
    return obj


def seq_of(obj: dict[str, Any]) -> Any:
    """The seq the parsed bytes of either format say (None when they say none)."""
    return obj.get("s") if obj.get("v") == FORMAT_2 else obj.get("seq")


def record_of(data: bytes | dict[str, Any], policy_of_seq: PolicyOfSeq) -> dict[str, Any]:
    """The record (format 1's shape) of signed bytes, or of their parsed JSON, of either
    format; `policy_of_seq(seq)` is the version the policy-applied event `seq` introduced
    (None: there is no such event)."""
    obj = parse(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
    if obj.get("v") != FORMAT_2:
        return obj
    return _decode(obj, policy_of_seq)


# A decoded record starts from this (keys in canonical order, as json.loads of format 1
# gives them), so that only a record with keys beyond it needs sorting.
_BLANK = dict.fromkeys(sorted([*NULLABLE, "seq", "v"]))
_BLANK["v"] = FORMAT_1  # the record's shape: what every reader has always been given


def _decode(obj: dict[str, Any], policy_of_seq: PolicyOfSeq) -> dict[str, Any]:
    out = _BLANK.copy()
    committed = None
    for key, value in obj.items():
        long = LONG.get(key)
        if long is not None:
            out[long] = value
        elif key == COMMITMENTS:
            committed = value
        elif key == POLICY_REF:
            out["policy_version"] = _policy(value, policy_of_seq)
        elif key == "v":
            continue
        elif len(key) <= 2 or key in KEYS:
            raise RecordError(f"unknown key {key!r} in format 2 bytes")
        else:
            out[key] = value
    if committed is not None:
        out["payload"] = _joined(out["payload"], committed)
    if len(out) > len(_BLANK) and not (len(out) == len(_BLANK) + 1 and "via" in out):
        return dict(sorted(out.items()))  # keys beyond the table ("via" sorts last)
    return out


def _policy(ref: Any, policy_of_seq: PolicyOfSeq) -> str:
    if type(ref) is not int:
        raise RecordError(f"policy reference {ref!r} is not a seq")
    version = policy_of_seq(ref)
    if version is None:
        raise RecordError(f"policy reference {ref} is not an earlier policy-applied event")
    return version


def _joined(payload: Any, committed: Any) -> dict[str, Any]:
    """The payload with each commitment back in it, in format 1's shape."""
    payload = {} if payload is None else payload
    if not isinstance(payload, dict) or not isinstance(committed, dict):
        raise RecordError("payload or commitments are not objects")
    out = dict(payload)
    for key, value in committed.items():
        if key in out:
            raise RecordError(f"payload field {key!r} is both committed and in clear")
        listed = isinstance(value, list)
        if listed and len(value) != 1:
            raise RecordError(f"commitment of {key!r} is not one value")
        out[key] = {"commitment": hex_of_b64(value[0] if listed else value), "list": listed}
    return dict(sorted(out.items()))


def policy_introduced(record: dict[str, Any]) -> str | None:
    """The version a policy-applied record introduces (None for other records)."""
    if record.get("action") != POLICY_APPLIED:
        return None
    payload = record.get("payload")
    version = payload.get("version") if isinstance(payload, dict) else None
    return version if isinstance(version, str) else None
