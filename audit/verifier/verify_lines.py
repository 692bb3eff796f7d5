"""Reading a JSON Lines bundle of format 1 (the layout written before issue #29; format 2
is audit/verifier/verify_embedded.py) into the verifier, fast where the line is in the
layout the export wrote. Its records (header, checkpoint, end) are format 2's too.

An event line as `baton audit export` writes it (compact JSON, keys in a fixed order) is
checked without json.loads: one anchored pattern reads seq and the repeated fields, the
base64 between `"bytes":"` and the next quote is decoded strictly, and the rest of the
line must equal, character for character, what the export would write for the hashes
the verifier computed. Only a line that matches is taken this way, and then it says
exactly what json.loads would read from it; any other line (other spacing, key order,
escapes, a wrong hash) goes through json.loads and the checks in their usual order, so
the problem named is the same.

Standard library plus `cryptography` only (the offline verifier imports this).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any

from audit.errors import BundleError
from audit.log.fast_json import MAX_DEPTH, too_deep
from audit.verifier.verify_lean import lean_event
from audit.verifier.verify_log import ABSENT, Failed, Verifier

BUNDLE_TYPE = "baton-ledger-export"
EVENT_PREFIX = '{"type":"event",'
CONTENT_PREFIX = '{"type":"content",'
ERASED_PREFIX = '{"type":"erased",'

# What an event line repeats beside its signed bytes: the line's key -> the bytes' key.
EVENT_LINE_FIELDS = {"escalation_id": "escalation_id", "escalation_seq": "version",
                     "at": "at"}

_INT = r"0|[1-9][0-9]{0,15}"
# A JSON string with no escapes: its text is then exactly what is between the quotes.
_STRING = r'"([^"\\\x00-\x1f]*)"'
# Groups: seq, escalation_id's text (None: null), escalation_seq (None: null), at's text.
_EVENT_HEAD = re.compile(
    rf'\{{"type":"event","seq":({_INT}),"escalation_id":(?:null|{_STRING}),'
    rf'"escalation_seq":(?:null|({_INT})),"at":{_STRING},"bytes":"').match
_CONTENT = re.compile(
    rf'\{{"type":"content","seq":({_INT}),"field":"([^"\\\x00-\x1f]*)",'
    # the text's plain runs between escapes: one character class per run, not an
    # alternation per character (9x faster on a 300-character text)
    r'"salt":"([0-9a-f]{64})","text":"([^"\\\x00-\x1f]*'
    r'(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*)"'
    r'\}\n?').fullmatch
_A2B = binascii.a2b_base64
_SHA = hashlib.sha256


def fast_event(v: Verifier, line: str) -> bool:
    """Verify an event line written in the export's layout; False (nothing changed) when
    the line is in another layout or anything in it is wrong."""
    m = _EVENT_HEAD(line)
    if m is None:
        return False
    start = m.end()
    end = line.find('"', start)
    seq_text, escalation, eseq, at = m.groups()
    seq = int(seq_text)
    if end < 0 or seq != v.seq + 1:
        return False
    try:
        data = _A2B(line[start:end], strict_mode=True)
    except ValueError:
        return False
    leaf = _SHA(b"\x00" + data).digest()
    chain = _SHA(b"\x02" + v.chain + leaf).digest()
    chain_hex = chain.hex()
    tail = line[end:-1] if line[-1] == "\n" else line[end:]
    if tail != (f'","leaf_hash":"{leaf.hex()}","prev_chain":"{v.chain_hex}",'
                f'"chain_hash":"{chain_hex}"}}'):
        return False
    if v.structural:
        v.accept(seq, leaf, chain, chain_hex, None)
        return True
    version = None if eseq is None else int(eseq)
    lean = lean_event(data, seq, escalation, version, at, v.policy_of)
    if lean is not None:
        v.accept_lean(seq, leaf, chain, chain_hex, *lean)
    else:
        v.accept(seq, leaf, chain, chain_hex, v.signed_body(seq, data, {
            "escalation_id": ("escalation_id", escalation),
            "escalation_seq": ("version", version), "at": ("at", at)}))
    return True


def fast_content(v: Verifier, line: str) -> bool:
    """Verify a content line written in the export's layout; False when it is not."""
    m = _CONTENT(line)
    if m is None:
        return False
    seq, name, salt, text = m.groups()
    if "\\" in text:  # escapes (a list's canonical JSON, a quote): only they are parsed
        text = json.loads(f'"{text}"')
    v.content(int(seq), name, bytes.fromhex(salt), text)
    return True


def parse_record(data: str | bytes, where: str, hint: str = "") -> dict[str, Any]:
    """The JSON object of a bundle record, a line of JSON Lines or a binary bundle's J
    frame; BundleError, its message starting with `where`, when it is nested too deep,
    not JSON, or not an object with a type."""
    if too_deep(data):
        raise BundleError(f"{where} nested deeper than {MAX_DEPTH} levels")
    try:
        item = json.loads(data)
    except (ValueError, RecursionError):
        raise BundleError(f"{where} not JSON{hint}") from None
    if not isinstance(item, dict) or "type" not in item:
        raise BundleError(f"{where} not a bundle record")
    return item


def read_record(line: str, number: int) -> dict[str, Any] | None:
    """One bundle record (None for a blank line); BundleError when it is not one."""
    if not line.strip():
        return None
    item = parse_record(line, f"line {number}:", " (is this a JSON Lines bundle?)")
    if type(item["type"]) is not str:  # a format 2 bundle looks it up in a set
        raise BundleError(f"line {number}: not a bundle record")
    return item


def _hex(value: Any, where: str) -> bytes:
    try:
        return bytes.fromhex(value)
    except (TypeError, ValueError):
        raise Failed(f"{where}: not hex") from None


def _seq_of(v: Verifier, item: dict[str, Any]) -> int:
    """The seq a content or erased record names (-1, out of place, when it names none)."""
    seq = item.get("seq", -1)
    if type(seq) is not int:
        raise Failed(f"a {item['type']} record after seq {v.seq}: its seq is not an integer")
    return seq


def feed(v: Verifier, item: dict[str, Any]) -> dict[str, Any] | None:
    """One parsed record into the verifier; returns the end record when it is one."""
    kind = item["type"]
    if kind == "checkpoint":
        cosigned = item.get("cosignatures", [])
        if not isinstance(cosigned, list):
            raise Failed("a checkpoint's cosignatures are not a list of lines")
        v.checkpoint(str(item.get("note", "")), [str(c) for c in cosigned])
    elif kind == "event":
        seq = item.get("seq")
        if type(seq) is not int:  # not true for 1, nor 1.0
            raise Failed(f"event after seq {v.seq}: no seq")
        try:
            data = base64.b64decode(item["bytes"], validate=True)
        except (KeyError, TypeError, ValueError):  # binascii.Error; a non-ASCII str
            raise Failed(f"seq {seq}: bytes are not base64") from None
        try:
            hashes = (bytes.fromhex(item["leaf_hash"]), bytes.fromhex(item["prev_chain"]),
                      bytes.fromhex(item["chain_hash"]))
        except (KeyError, TypeError, ValueError):
            raise Failed(f"seq {seq}: hashes are missing or not hex") from None
        v.event(seq, data, *hashes, beside={k: (key, item.get(k, ABSENT))
                                            for k, key in EVENT_LINE_FIELDS.items()})
    elif kind == "content":
        if not v.structural:
            v.content(_seq_of(v, item), str(item.get("field")),
                      _hex(item.get("salt"), f"seq {item.get('seq')}"),
                      str(item.get("text", "")))
    elif kind == "erased":
        if not v.structural:
            v.erased(_seq_of(v, item), str(item.get("field")),
                     item.get("erased_at"), item.get("erased_by"))
    elif kind == "end":
        return item
    else:
        raise Failed(f"unknown record type {kind!r}")
    return None


def feed_lines(v: Verifier, lines: Iterable[str], first: int = 1) -> dict[str, Any] | None:
    """Every record after the header; returns the end record (None: truncated).
    `first` is the line number of the first line given."""
    ended = None
    structural = v.structural
    for number, line in enumerate(lines, first):
        if ended is None:
            if line.startswith(EVENT_PREFIX):
                if fast_event(v, line):
                    continue
            elif line.startswith(CONTENT_PREFIX):
                if structural or fast_content(v, line):
                    continue
            elif structural and line.startswith(ERASED_PREFIX):
                continue
        item = read_record(line, number)
        if item is None:
            continue
        if ended is not None:
            raise Failed("records after the end record")
        ended = feed(v, item)
    return ended
