"""Export the ledger as a JSON Lines bundle (constant memory), or as the binary bundle
beside it (audit/verifier/verify_binary.py), and verify the live DB.

The JSON Lines bundle is written in format 2 (audit/verifier/verify_embedded.py: one
line per event, its bytes embedded, its content beside them); `bundle_format=1` writes
the earlier layout (an event line with its bytes in base64 and its hashes in hex, and a
line per content field and erased record), which the verifier reads still.

A checkpoint record carries the witnesses' cosignature lines kept for it
(`"cosignatures": [...]`, possibly empty), so that a bundle verifies against a witness
policy on its own; a bundle written before they were kept has no such field.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, BinaryIO, TextIO

from sqlalchemy import Connection, func, select

from audit.log import ledger, merkle
from audit.store.schema import checkpoints, content, cosignatures, erasures
from audit.verifier import verify_binary, verify_embedded
from audit.verifier.verify import BUNDLE_TYPE, EVENT_LINE_FIELDS, Failed, Report, Verifier
from workflow.model import rfc3339

FORMAT = verify_embedded.FORMAT  # the JSON Lines bundle's layout written by default
# The ledger's columns that repeat the signed bytes (indexed for queries): column -> key.
ROW_FIELDS = {**EVENT_LINE_FIELDS, "action": "action", "actor": "actor", "owner": "to_owner"}


def _side_rows(conn: Connection, start: int, end: int) -> tuple[dict[int, list[Any]],
                                                                 dict[int, list[Any]]]:
    texts: dict[int, list[Any]] = {}
    gone: dict[int, list[Any]] = {}
    for row in conn.execute(select(content).where(content.c.seq >= start, content.c.seq <= end)
                            .order_by(content.c.seq, content.c.field)):
        texts.setdefault(row.seq, []).append(row)
    for row in conn.execute(select(erasures).where(erasures.c.seq >= start,
                                                   erasures.c.seq <= end)):
        gone.setdefault(row.seq, []).append(row)
    return texts, gone


def _events(conn: Connection, batch: int = 2000, side: bool = True
            ) -> Iterator[tuple[Any, bytes, list[Any], list[Any]]]:
    """The ledger's rows in order, each with the chain hash it extends (the previous
    row's: not stored) and its content and erasure rows (`side`: read them; the binary
    bundle, which holds no content, does not)."""
    start, prev = 0, merkle.GENESIS
    while True:
        chunk = conn.execute(
            select(ledger.ledger).where(ledger.ledger.c.seq >= start)
            .order_by(ledger.ledger.c.seq).limit(batch)).all()
        if not chunk:
            return
        texts, gone = _side_rows(conn, chunk[0].seq, chunk[-1].seq) if side else ({}, {})
        for row in chunk:
            yield row, prev, texts.get(row.seq, []), gone.get(row.seq, [])
            prev = bytes(row.chain_hash)
        if len(chunk) < batch:
            return
        start = chunk[-1].seq + 1


def _header(conn: Connection, origin: str, vkey: str, now: datetime,
            size: int | None = None, bundle_format: int = 1
            ) -> tuple[int, list[dict[str, Any]]]:
    """The log's size now (or the `size` given: the one its audit-read recorded), and
    the header and checkpoint records of a bundle of it."""
    if size is None:
        size = ledger.read_head(conn, lock=False).size
    cosigned: dict[int, list[str]] = {}
    for row in conn.execute(select(cosignatures.c.size, cosignatures.c.line)
                            .where(cosignatures.c.size <= size)
                            .order_by(cosignatures.c.size, cosignatures.c.cosigner)):
        cosigned.setdefault(row.size, []).append(row.line)
    records: list[dict[str, Any]] = [
        {"type": BUNDLE_TYPE, "format": bundle_format, "origin": origin, "public_key": vkey,
         "size": size, "exported_at": rfc3339(now)}]
    for row in conn.execute(select(checkpoints.c.size, checkpoints.c.note)
                            .where(checkpoints.c.size <= size).order_by(checkpoints.c.size)):
        records.append({"type": "checkpoint", "note": row.note,
                        "cosignatures": cosigned.get(row.size, [])})
    return size, records


def event_line(row: Any, prev: bytes) -> str:
    """An event's line, in the layout the verifier reads fastest (audit/verifier/verify_lines.py):
    these keys in this order, compact (`prev`: the chain hash the event extends)."""
    return line({"type": "event", "seq": row.seq, "escalation_id": row.escalation_id,
                 "escalation_seq": row.escalation_seq, "at": row.at,
                 "bytes": base64.b64encode(row.body).decode(),
                 "leaf_hash": merkle.leaf_hash(bytes(row.body)).hex(),
                 "prev_chain": prev.hex(),
                 "chain_hash": bytes(row.chain_hash).hex()})


def bundle_lines(conn: Connection, origin: str, vkey: str, now: datetime,
                 size: int | None = None, bundle_format: int = FORMAT) -> Iterator[str]:
    """The export, line by line: header, checkpoints, events with content, end (of the
    first `size` events when given, else of the log as it is now), in `bundle_format`."""
    size, records = _header(conn, origin, vkey, now, size, bundle_format)
    for item in records:
        yield line(item)
    count = 0
    for row, prev, texts, gone in _events(conn):
        if row.seq >= size:
            break
        count += 1
        if bundle_format == verify_embedded.FORMAT:
            yield verify_embedded.event_row(
                row.seq, bytes(row.chain_hash), bytes(row.body),
                [[c.field, bytes(c.salt).hex(), c.text] for c in texts],
                [[g.field, g.erased_at, g.erased_by] for g in gone])
            continue
        yield event_line(row, prev)
        for c in texts:
            yield line({"type": "content", "seq": c.seq, "field": c.field,
                        "salt": bytes(c.salt).hex(), "text": c.text})
        for g in gone:
            yield line({"type": "erased", "seq": g.seq, "field": g.field,
                        "erased_at": g.erased_at, "erased_by": g.erased_by})
    yield line({"type": "end", "size": count})


def line(obj: dict[str, Any]) -> str:
    """One bundle record as a line of compact JSON."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


def write_binary_bundle(conn: Connection, out: BinaryIO, origin: str, vkey: str,
                        now: datetime, size: int | None = None) -> int:
    """Write the binary bundle (no content: the ledger's structure) to `out`; returns
    the number of events written."""
    size, records = _header(conn, origin, vkey, now, size)
    out.write(verify_binary.MAGIC)
    for item in records:
        out.write(verify_binary.record(item))
    block: list[tuple[bytes, bytes]] = []
    first, prev, count = 0, b"", 0
    for row, before, _, _ in _events(conn, side=False):
        if row.seq >= size:
            break
        if not block:
            first, prev = row.seq, before
        block.append((bytes(row.chain_hash), bytes(row.body)))
        count += 1
        if (row.seq + 1) % verify_binary.BLOCK == 0:
            out.write(verify_binary.block(first, prev, block))
            block = []
    if block:
        out.write(verify_binary.block(first, prev, block))
    out.write(verify_binary.record({"type": "end", "size": count}))
    return count


def write_bundle(conn: Connection, out: TextIO, origin: str, vkey: str, now: datetime,
                 size: int | None = None, bundle_format: int = FORMAT) -> int:
    """Write the bundle to `out` (in `bundle_format`); returns the number of events
    written."""
    events = 0
    for line in bundle_lines(conn, origin, vkey, now, size, bundle_format):
        out.write(line)
        events += line.startswith(("[", '{"type":"event"'))
    return events


def verify_db(conn: Connection, vkey: str, origin: str, trusted: Iterable[str] = (),
              progress: TextIO | None = None) -> Report:
    """The offline verifier's checks, run against the live database."""
    total = conn.execute(select(func.count()).select_from(ledger.ledger)).scalar_one()
    try:
        v = Verifier(vkey, origin, trusted, progress, total)
    except Failed as exc:
        return Report(problems=[str(exc)])
    try:
        for row in conn.execute(select(checkpoints.c.note).order_by(checkpoints.c.size)):
            v.checkpoint(row.note)
        for row, prev, texts, gone in _events(conn):
            body = bytes(row.body)
            v.event(row.seq, body, merkle.leaf_hash(body), prev, bytes(row.chain_hash),
                    beside={name: (key, getattr(row, name))
                            for name, key in ROW_FIELDS.items()})
            for c in texts:
                v.content(c.seq, c.field, bytes(c.salt), c.text)
            for g in gone:
                v.erased(g.seq, g.field, g.erased_at, g.erased_by)
        head = ledger.read_head(conn, lock=False)
        if head.size != v.size:
            raise Failed(f"log head says {head.size} events but the ledger holds "
                         f"{v.size}")
        if head.chain != v.chain:
            raise Failed("log head's chain hash does not match the ledger's last event")
        return v.finish()
    except Failed as exc:
        v.report.problems.append(str(exc))
        return v.report
