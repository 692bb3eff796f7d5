"""Bundle format 2 (issue #29): one line per event, the event's signed bytes embedded in
it as the JSON they are, its content and erased fields beside them on the same line.

    [SEQ,"CHAIN_HASH",EVENT]
    [SEQ,"CHAIN_HASH",EVENT,[["FIELD","SALT","TEXT"],...]]
    [SEQ,"CHAIN_HASH",EVENT,[...content...],[["FIELD",ERASED_AT,ERASED_BY],...]]

EVENT is the signed bytes themselves, verbatim: the characters from its `{` to its
matching `}` are what is hashed (leaf SHA-256(0x00 || bytes), chain SHA-256(0x02 ||
previous chain || leaf)). Bytes that cannot be embedded so (not one JSON object on one
line, not UTF-8) are written as a JSON string of their base64 instead. CHAIN_HASH is the
event's chain hash in hex (what the log stored): no leaf or previous chain hash is
written, the verifier computes them. Content is [field, salt in hex, text] of each
committed field whose text is kept; erased records say when and by whom. Records
(header, checkpoints, end) are the objects of format 1 (audit/verifier/verify_lines.py).

Event lines as the export writes them are taken a run at a time (verify_batch.fast_run:
the usual events of event format 2 with their content in full). A run holding anything
else is read a line at a time: one pass (`fast_line`) for the usual event; any other
line, or anything the pass is not sure of, goes through `slow_line`, which makes the
checks in their usual order and names the first problem as the serial verifier always
has.

Standard library only (the offline verifier imports this).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable
from itertools import islice
from typing import Any

from audit.log import event_record
from audit.log.fast_json import IN_A_LINE, MAX_DEPTH, too_deep
from audit.verifier.verify_batch import RUN, fast_run
from audit.verifier.verify_lean import SCAN, SHORT_KEYS, SPECIAL_ACTIONS, whole_json
from audit.verifier.verify_lines import feed, read_record
from audit.verifier.verify_log import Failed, Verifier

FORMAT = 2
EVENT_START = "["
# The records of format 1 that format 2 writes inside its event lines instead.
FORMAT_1_ONLY = frozenset(["event", "content", "erased"])
# Characters str.splitlines() cuts at beyond \n and \r that JSON leaves unescaped.
_BREAKS = re.compile("[\x85\u2028\u2029]").search

_HEAD = re.compile(r'\[(0|[1-9][0-9]{0,15}),"([0-9a-f]{64})",').match
_SHA = hashlib.sha256
_HEX = bytes.fromhex
_B2A = binascii.b2a_base64
_TO_URL = bytes.maketrans(b"+/", b"-_")


# --- writing -----------------------------------------------------------------------


def embeddable(body: bytes) -> str | None:
    """The bytes as the text a line may embed verbatim (one JSON object, UTF-8, no line
    break), or None: then the line carries their base64."""
    if body[:1] != b"{" or b"\n" in body or b"\r" in body:
        return None
    found = whole_json(body)
    return found[0] if found is not None and not _BREAKS(found[0]) else None


def _json(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if not _BREAKS(text) else json.dumps(value, separators=(",", ":"))


def event_row(seq: int, chain: bytes, body: bytes, content: list[list[Any]],
              erased: list[list[Any]]) -> str:
    """An event's line: its seq, chain hash, bytes, content ([field, salt hex, text])
    and erased records ([field, erased_at, erased_by])."""
    text = embeddable(body)
    if text is None:
        text = '"' + base64.b64encode(body).decode() + '"'
    line = f'[{seq},"{chain.hex()}",{text}'
    if content or erased:
        line += "," + _json(content)
    if erased:
        line += "," + _json(erased)
    return line + "]\n"


# --- reading -----------------------------------------------------------------------


def _commitments(obj: Any, seq: int) -> dict[str, Any] | None:
    """The commitments (field -> base64url, or a one-item list of it) of the usual
    event of format 2 saying `seq`; None when it is anything else (then the usual
    reading of the bytes decides)."""
    if (type(obj) is not dict or obj.get("v") != event_record.FORMAT_2
            or type(obj.get("s")) is not int or obj["s"] != seq
            or not SHORT_KEYS.issuperset(obj)):
        return None
    a = obj.get("a")
    if type(a) is str and a in SPECIAL_ACTIONS:
        return None
    payload = obj.get("payload")
    if payload is not None and type(payload) is not dict:
        return None
    if payload:
        for value in payload.values():  # a clear field shaped like a commitment is one
            if type(value) is dict and "commitment" in value:
                return None
    committed = obj.get(event_record.COMMITMENTS)
    if committed is None:
        return {}
    if type(committed) is not dict or (payload and not payload.keys().isdisjoint(committed)):
        return None
    return committed


def _made(content: list[Any], committed: dict[str, Any]) -> bool:
    """Every committed field's text is here, in the order of the commitments, and
    SHA-256(salt || text) of each is its commitment. The commitments are compared as
    one string: each canonical base64url digest followed by "=" (as b2a_base64 pads
    it), so equal strings mean equal commitments one by one ("=" is in no
    base64url digest, and a list holds one)."""
    if [entry[0] for entry in content] != list(committed):
        return False
    made = b"".join([_B2A(_SHA(_HEX(salt) + text.encode()).digest(), newline=False)
                     for _, salt, text in content]).translate(_TO_URL)
    wants = "=".join([w if type(w) is str else w[0] if type(w) is list and len(w) == 1
                      else "!" for w in committed.values()])
    return made == (wants + "=").encode()


def fast_line(v: Verifier, line: str) -> bool:
    """Verify an event line as the export writes it: the usual event of format 2, all its
    committed fields' text present. False (nothing changed) for anything else."""
    if too_deep(line, IN_A_LINE):  # slow_line refuses it by name, whatever the stack
        return False
    i = line.find(",", 1)
    seq = v.seq + 1
    if line[1:i] != str(seq) or line[i + 1:i + 2] != '"' or line[i + 66:i + 69] != '",{':
        return False
    start = i + 68
    try:
        obj, end = SCAN(line, start)
        data = line[start:end].encode()
    except (StopIteration, ValueError, RecursionError):
        return False
    leaf = _SHA(b"\x00" + data).digest()
    chain = _SHA(b"\x02" + v.chain + leaf).digest()
    chain_hex = chain.hex()
    if line[i + 2:i + 66] != chain_hex:
        return False
    tail = line[end:]
    if v.structural:
        if not tail.startswith(("]", ",")):
            return False
        v.accept(seq, leaf, chain, chain_hex, None)
        return True
    committed = _commitments(obj, seq)
    if committed is None:
        return False
    count = 0
    if tail == "]\n" or tail == "]":
        if committed:
            return False
    else:
        try:
            content, after = SCAN(line, end + 1)
            if (tail[0] != "," or type(content) is not list or line[after:] not in ("]\n", "]")
                    or not _made(content, committed)):
                return False
        except (StopIteration, ValueError, TypeError, AttributeError, IndexError, KeyError,
                RecursionError):
            return False
        count = len(content)
    if event_record.POLICY_REF in obj:  # last: a range verifier notes the reference
        ref = obj[event_record.POLICY_REF]
        if type(ref) is not int or v.policy_of(ref) is None:
            return False
    v.accept_lean(seq, leaf, chain, chain_hex, obj.get("e"), {})
    v.report.contents += count
    return True


def _split(line: str, number: int, after: int) -> tuple[int, str, bytes, list[Any]]:
    """(seq, chain hash hex, bytes, [content, erased]) of any event line; Failed naming
    what is wrong with it."""
    m = _HEAD(line)
    if m is None:
        raise Failed(f"line {number}: not an event line of format 2 after seq {after} "
                     '(expected [seq,"chain hash",event,...])')
    seq, start = int(m[1]), m.end()
    if too_deep(line, IN_A_LINE):
        raise Failed(f"seq {seq}: line {number} holds JSON nested deeper than {MAX_DEPTH} "
                     "levels")
    try:
        value, end = SCAN(line, start)
        if type(value) is str:
            data = base64.b64decode(value, validate=True)
        elif type(value) is dict:
            data = line[start:end].encode()
        else:
            raise Failed(f"seq {seq}: the event is neither JSON nor base64 bytes")
    except (StopIteration, ValueError, RecursionError):
        raise Failed(f"seq {seq}: the event is neither JSON nor base64 bytes") from None
    tail = line[end:-1] if line.endswith("\n") else line[end:]
    rest: Any = None
    if tail == "]":
        rest = []
    elif tail[:1] == ",":
        try:
            rest = json.loads("[" + tail[1:])
        except (ValueError, RecursionError):
            pass
    if type(rest) is not list or len(rest) > 2 or not all(type(x) is list for x in rest):
        raise Failed(f"seq {seq}: line {number} is not [seq,\"chain hash\",event] with at "
                     "most its content and erased records")
    return seq, m[2], data, rest


def slow_line(v: Verifier, line: str, number: int) -> None:
    """Verify any event line, the checks in their usual order."""
    seq, chain_hex, data, rest = _split(line, number, v.seq)
    v.linked(seq, data, chain_hex)
    if v.structural:
        return
    content, erased = (rest + [[], []])[:2]
    for entry in content:
        if type(entry) is not list or len(entry) != 3:
            raise Failed(f"seq {seq}: a content entry is not [field, salt, text]")
        name, salt, text = entry
        try:
            raw = bytes.fromhex(salt)
        except (TypeError, ValueError):
            raise Failed(f"seq {seq}: not hex") from None
        v.content(seq, str(name), raw, str(text))
    for entry in erased:
        if type(entry) is not list or len(entry) != 3:
            raise Failed(f"seq {seq}: an erased entry is not [field, erased_at, erased_by]")
        v.erased(seq, str(entry[0]), entry[1], entry[2])


def event_bytes(line: str) -> tuple[int, bytes] | None:
    """(seq, bytes) of an event line of format 2; None for any other line (a reader's
    helper: it checks nothing)."""
    try:
        seq, _, data, _ = _split(line, 0, -1)
    except Failed:
        return None
    return seq, data


def feed_embedded(v: Verifier, lines: Iterable[str], first: int = 1) -> dict[str, Any] | None:
    """Every line after a format 2 header; returns the end record (None: truncated).
    `first` is the line number of the first line given. The lines are taken a run at a
    time (verify_batch), a line at a time when the run is not all usual events."""
    ended = None
    it = iter(lines)
    number = first - 1
    while True:
        run = list(islice(it, RUN))
        if not run:
            return ended
        if ended is None and fast_run(v, run):
            number += len(run)
            continue
        for line in run:
            number += 1
            ended = _line(v, line, number, ended)


def _line(v: Verifier, line: str, number: int,
          ended: dict[str, Any] | None) -> dict[str, Any] | None:
    """One line of a format 2 bundle; returns the end record once it has been read."""
    if ended is not None:
        if line.strip():
            raise Failed("records after the end record")
        return ended
    if line[:1] == EVENT_START:
        if not fast_line(v, line):
            slow_line(v, line, number)
        return None
    item = read_record(line, number)
    if item is None:
        return None
    if item["type"] in FORMAT_1_ONLY:
        raise Failed(f"line {number}: a format 1 {item['type']} record in a format 2 "
                     "bundle")
    return feed(v, item)
