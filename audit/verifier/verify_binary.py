"""The binary ledger bundle: the JSON Lines bundle's structure without base64 or JSON per
event, for verifying a large log at hashing speed (decoding base64 alone costs more than
hashing the same bytes). It sits beside the JSON Lines bundle, which stays the record
auditors' tools read; it holds no content, so verifying it is structural only.

    MAGIC, then frames: KIND (1 byte) LENGTH (uint32, big-endian) PAYLOAD
    J  one JSON record, exactly as in the JSON Lines bundle: the header first, then the
       checkpoints (with their cosignatures), and the end record last
    B  a block of consecutive events: FIRST_SEQ (uint64) COUNT (uint32) PREV_CHAIN (32),
       then per event LENGTH (uint32) CHAIN_HASH (32) BYTES (the canonical event bytes)

Each event's leaf is SHA-256(0x00 || bytes) and its chain hash SHA-256(0x02 || previous
chain || leaf), as in the JSON Lines bundle. The export starts a block every BLOCK events
(at multiples of BLOCK), so a block is one perfect Merkle subtree and a process can
verify any run of blocks alone.

Standard library plus `cryptography` only (the offline verifier imports this).
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from audit.errors import BundleError
from audit.verifier.verify_lines import parse_record
from audit.verifier.verify_log import Failed, Verifier

MAGIC = b"BATON-LEDGER-BINARY\n"
BLOCK = 4096
RECORD, EVENTS = b"J", b"B"
_FRAME = struct.Struct(">cI")
_BLOCK = struct.Struct(">QI32s")
_EVENT = struct.Struct(">I32s")
MAX_FRAME = 1 << 31


def frame(kind: bytes, payload: bytes) -> bytes:
    """One frame."""
    return _FRAME.pack(kind, len(payload)) + payload


def record(item: dict[str, Any]) -> bytes:
    """A J frame holding one JSON record."""
    return frame(RECORD, json.dumps(item, ensure_ascii=False,
                                    separators=(",", ":")).encode("utf-8"))


def read_record(payload: bytes) -> dict[str, Any]:
    """The JSON record of a J frame; BundleError when it is not one."""
    return parse_record(payload, "a record frame is")


def block(first: int, prev: bytes, events: Iterable[tuple[bytes, bytes]]) -> bytes:
    """A B frame of events (each (chain hash, bytes)) starting at seq `first`."""
    rows = list(events)
    parts = [_BLOCK.pack(first, len(rows), prev)]
    for chain, body in rows:
        parts.append(_EVENT.pack(len(body), chain))
        parts.append(body)
    return frame(EVENTS, b"".join(parts))


def frames(fh: BinaryIO, skip_blocks: bool = False
           ) -> Iterator[tuple[bytes, int, int, bytes]]:
    """(kind, offset of the payload, its length, payload) after the magic; a block's
    payload is only its header when `skip_blocks` (the rest is skipped)."""
    if fh.read(len(MAGIC)) != MAGIC:
        raise BundleError("not a binary Baton ledger bundle")
    while True:
        head = fh.read(_FRAME.size)
        if not head:
            return
        if len(head) < _FRAME.size:
            raise BundleError("the bundle ends inside a frame header (truncated)")
        kind, length = _FRAME.unpack(head)
        if kind not in (RECORD, EVENTS) or length > MAX_FRAME:
            raise BundleError(f"an unknown frame at byte {fh.tell() - _FRAME.size}")
        offset = fh.tell()
        if skip_blocks and kind == EVENTS:
            payload = fh.read(min(length, _BLOCK.size))
            fh.seek(offset + length)
        else:
            payload = fh.read(length)
            if len(payload) < length:
                raise BundleError("the bundle ends inside a frame (truncated)")
        yield kind, offset, length, payload


def block_head(payload: bytes) -> tuple[int, int, bytes]:
    """(first seq, count, prev chain) of a block."""
    if len(payload) < _BLOCK.size:
        raise Failed("a block too short for its header")
    first, count, prev = _BLOCK.unpack_from(payload)
    return first, count, prev


def feed_block(v: Verifier, payload: bytes) -> None:
    """Verify a block's events: seq, each chain hash from its bytes, and the roots of
    every checkpoint that ends inside it."""
    first, count, prev = block_head(payload)
    expected = v.seq + 1
    if first != expected:
        if first > expected:
            raise Failed(f"seq {expected}: missing (the next event is seq {first})")
        raise Failed(f"seq {first}: out of order or repeated after seq {v.seq}")
    if prev != v.chain:
        raise Failed(f"seq {first}: prev_chain does not match the chain so far")
    if v.pending:
        v.grow(v.pending)
        v.pending = []
    sha = hashlib.sha256
    size = len(payload)
    leaves: list[bytes] = []
    add = leaves.append
    chain = prev
    offset = _BLOCK.size
    for i in range(count):
        n = int.from_bytes(payload[offset:offset + 4], "big")
        stored = payload[offset + 4:offset + 36]
        offset += 36 + n
        leaf = sha(b"\x00" + payload[offset - n:offset]).digest()
        chain = sha(b"\x02" + chain + leaf).digest()
        if chain != stored or offset > size:
            v.grow(leaves)  # the roots of checkpoints before this event come first
            raise Failed(f"seq {first + i}: " + (
                "the block ends inside this event (truncated)" if offset > size else
                "chain hash does not match the bytes and the chain so far"))
        add(leaf)
    if offset != size:
        v.grow(leaves)
        raise Failed(f"seq {first + count}: bytes after the last event of its block")
    v.grow(leaves)
    if count:
        v.seq = first + count - 1
        v.chain = chain
        v.chain_hex = chain.hex()
        v.report.events += count
    if v.progress is not None:
        of = f"/{v.total}" if v.total else ""
        v.progress.write(f"\rverified {v.size}{of} events")
        v.progress.flush()
