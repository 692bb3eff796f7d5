"""The JSON Lines bundle's layouts for tests that edit a bundle: the tests edit the records
of format 1 (an event record with its bytes in base64 and its hashes, content and erased
records with their seq), and `lines` writes them in either layout, so one attack is tried
on both. Format 2 (audit/verifier/verify_embedded.py) folds each event's content and
erased records into its line, as the export writes them.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from audit.verifier import verify_embedded

LAYOUTS = (1, 2)


def items(text: str) -> list[dict[str, Any]]:
    """The records of a bundle of either layout, as format 1's records."""
    out: list[dict[str, Any]] = []
    for line in text.splitlines(keepends=True):
        if not line.startswith(verify_embedded.EVENT_START):
            out.append(json.loads(line))
            continue
        seq, chain, _, *rest = json.loads(line)
        found = verify_embedded.event_bytes(line)
        assert found is not None, line
        out.append({"type": "event", "seq": seq, "bytes": base64.b64encode(found[1]).decode(),
                    "chain_hash": chain})
        content, erased = (rest + [[], []])[:2]
        out += [{"type": "content", "seq": seq, "field": f, "salt": s, "text": t}
                for f, s, t in content]
        out += [{"type": "erased", "seq": seq, "field": f, "erased_at": a, "erased_by": b}
                for f, a, b in erased]
    if out and out[0].get("format") == verify_embedded.FORMAT:
        out[0] = {**out[0], "format": 1}
    return out


def lines(records: list[dict[str, Any]], layout: int) -> list[str]:
    """The records as the lines of a bundle in `layout`: format 1's as they are, or
    format 2's with each content and erased record on the line of the event before it."""
    if layout == 1:  # compact, as the export writes them
        return [json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n"
                for r in records]
    out: list[str] = []
    event: dict[str, Any] | None = None
    side: tuple[list[list[Any]], list[list[Any]]] = ([], [])

    def flush() -> None:
        if event is not None:
            out.append(verify_embedded.event_row(
                event["seq"], bytes.fromhex(event["chain_hash"]),
                base64.b64decode(event["bytes"]), *side))

    for r in records:
        kind = r.get("type")
        if kind == "content" and event is not None:
            side[0].append([r["field"], r["salt"], r["text"]])
        elif kind == "erased" and event is not None:
            side[1].append([r["field"], r["erased_at"], r["erased_by"]])
        elif kind == "event":
            flush()
            event, side = r, ([], [])
        else:
            flush()
            event = None
            if r.get("type") == "baton-ledger-export":
                r = {**r, "format": verify_embedded.FORMAT}
            out.append(json.dumps(r) + "\n")
    flush()
    return out
