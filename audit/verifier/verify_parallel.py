"""Verifying a large bundle on several cores: each process verifies one range of events
(byte ranges of a JSON Lines bundle, runs of blocks of a binary one) with the same
checks, and returns the Merkle subtrees of its range, cut at every size a checkpoint
names; the parent joins the ranges (seq, chain), combines the subtrees into the roots
and compares them, and settles the erasures that name fields of earlier ranges.

Any problem anywhere sends the parent back to the serial path, from the start, so a
failed bundle is reported exactly as the serial verifier reports it (the same first
problem, the same seq). The parallel path only makes a good bundle faster.

Standard library plus `cryptography` only (the offline verifier imports this).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from audit.errors import BundleError
from audit.verifier import verify_binary, verify_embedded
from audit.verifier.verify_lines import EVENT_PREFIX, feed, feed_lines
from audit.verifier.verify_log import NEVER, Failed, Verifier
from audit.verifier.verify_tree import Subtree, Tree

_EVENT = EVENT_PREFIX.encode()
_EMBEDDED = verify_embedded.EVENT_START.encode()


# What a range's or a block's verification may fail with on hostile input: named by the
# part, and then by one process in the file's order (never escaping a worker).
_PART_FAILED = (Failed, ValueError, KeyError, TypeError, IndexError, OverflowError,
                RecursionError)


class Fallback(Exception):
    """The parallel path found something: verify serially to name it exactly."""


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1


@dataclass
class Part:
    """What one process found in its range of events."""

    problem: str | None = None
    first: int = -1  # no events in the range
    prev: bytes = b""
    count: int = 0
    chain: bytes = b""
    cuts: list[tuple[int, list[Subtree]]] = field(default_factory=list)
    final: list[Subtree] = field(default_factory=list)
    contents: int = 0
    erased: int = 0
    missing: dict[tuple[int, str], Any] = field(default_factory=dict)
    claimed: dict[tuple[int, str], tuple[Any, Any, Any]] = field(default_factory=dict)
    erasures: list[tuple[int, dict[str, Any], Any]] = field(default_factory=list)
    ended: dict[str, Any] | None = None
    policies: dict[int, str] = field(default_factory=dict)
    refs: list[tuple[int, int]] = field(default_factory=list)  # (seq, policy before range)


class RangeVerifier(Verifier):
    """A Verifier for events [first, ...) of a larger log: it records the subtrees at
    the sizes checkpoints name instead of comparing roots (the parent does)."""

    def __init__(self, vkey: str, origin: str, due: Sequence[int], structural: bool):
        super().__init__(vkey, origin, structural=structural)
        self.all_due = list(due)
        self.cuts: list[tuple[int, list[Subtree]]] = []
        self.erasures: list[tuple[int, dict[str, Any], Any]] = []
        self.first = -1
        self.prev = b""
        self.refs: list[tuple[int, int]] = []

    def policy_of(self, ref: int) -> str | None:
        if 0 <= ref < self.first:  # before the range: the parent checks it
            self.refs.append((self.seq + 1, ref))
            return ""
        return super().policy_of(ref)

    def begin(self, first: int, prev: bytes) -> None:
        """The range starts at event `first`, whose prev_chain is `prev`."""
        self.first, self.prev = first, prev
        self.seq, self.chain, self.chain_hex = first - 1, prev, prev.hex()
        self.tree = Tree(first)
        self.due = [d for d in self.all_due if d > first]
        self.next_due = self.due[0] if self.due else NEVER

    def reached(self, size: int) -> None:
        self.cuts.append((size, self.tree.snapshot()))
        self.passed()

    def checkpoint(self, text: str, cosignatures: Sequence[str] = ()) -> None:
        raise Failed("a checkpoint among the events")

    def _erasure(self, seq: int, body: dict[str, Any], fields: Any) -> None:
        self.erasures.append((seq, {k: body.get(k) for k in ("escalation_id", "at",
                                                              "actor")}, fields))
        super()._erasure(seq, body, fields)

    def part(self, ended: dict[str, Any] | None) -> Part:
        """The range's outcome, its last event closed and its leaves folded."""
        self._close_event()
        if self.pending:
            self.grow(self.pending)
            self.pending = []
        return Part(None, self.first, self.prev, self.report.events, self.chain,
                    self.cuts, self.tree.snapshot(), self.report.contents,
                    self.report.erased, self.missing, self.claimed, self.erasures, ended,
                    self.policies, self.refs)


def adopt(v: Verifier, part: Part) -> None:
    """A range verified elsewhere joins the log verified so far (Failed if it does not
    follow on, or a root it cuts does not match)."""
    if part.first != v.seq + 1 or part.prev != v.chain:
        raise Failed(f"the range at seq {part.first} does not follow seq {v.seq}")
    if v.pending:
        v.grow(v.pending)
        v.pending = []
    for size, snapshot in part.cuts:
        if size != v.next_due:
            raise Failed(f"a range cut at size {size}, not at {v.next_due}")
        v.compare(size, v.tree.joined(snapshot).root())
    v.tree = v.tree.joined(part.final)
    for seq, ref in part.refs:  # policy references to events of earlier ranges
        if ref not in v.policies:
            raise Failed(f"seq {seq}: policy reference {ref} is not an earlier "
                         "policy-applied event")
    v.policies.update(part.policies)
    for seq, body, fields in part.erasures:  # fields of earlier ranges, as in serial
        v._erasure(seq, body, fields)
    v.missing.update(part.missing)
    v.claimed.update(part.claimed)
    v.seq, v.chain, v.chain_hex = part.first + part.count - 1, part.chain, part.chain.hex()
    v.report.events += part.count
    v.report.contents += part.contents
    v.report.erased += part.erased


def _pool(jobs: int) -> ProcessPoolExecutor:
    # fork starts at once and needs no importable __main__, but only a process with no
    # other thread may fork safely; spawn otherwise (a server, a test runner)
    method = ("fork" if threading.active_count() == 1
              and "fork" in multiprocessing.get_all_start_methods() else "spawn")
    return ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context(method))


def _gather(jobs: int, fn: Callable[..., Part], calls: list[tuple[Any, ...]]) -> list[Part]:
    """fn(*args) for each call, on `jobs` processes; Fallback when a process dies."""
    try:
        with _pool(jobs) as pool:
            futures = [pool.submit(fn, *args) for args in calls]
            return [f.result() for f in futures]
    except (BrokenProcessPool, OSError, RuntimeError) as exc:
        raise Fallback(f"the processes failed: {exc}") from None


def _parts(v: Verifier, parts: list[Part]) -> dict[str, Any] | None:
    ended = None
    for part in parts:
        if part.problem is not None:
            raise Fallback(part.problem)
        if part.count == 0:
            if part.ended is not None or part.first >= 0:
                raise Fallback("a range without events holds records")
            continue
        if ended is not None:
            raise Fallback("events after the end record")
        adopt(v, part)
        ended = part.ended
    return ended


# --- JSON Lines --------------------------------------------------------------------


def _range_lines(fh: BinaryIO, start: int, end: int, v: RangeVerifier,
                 prev: bytes | None) -> Iterator[str]:
    """The lines from the first event line at or after byte `start` to the first event
    line at or after byte `end` (not included); begins `v` at the first. `prev`: the
    chain before the events, for a bundle of format 2 (its lines state no previous chain:
    the line before the range's first holds it); None for format 1."""
    fh.seek(start - 1 if start else 0)
    if start:
        fh.readline()  # the rest of a line that began before `start`
    pos = fh.tell()
    begun = False
    event = _EVENT if prev is None else _EMBEDDED
    for raw in fh:
        at, pos = pos, pos + len(raw)
        if raw.startswith(event):
            if at >= end:
                return
            if not begun:
                if prev is None:
                    item = json.loads(raw)
                    v.begin(int(item["seq"]), bytes.fromhex(item["prev_chain"]))
                else:
                    v.begin(int(raw[1:raw.index(b",")]), _chain_before(fh, at, prev))
                    fh.seek(pos)
                begun = True
        if begun:
            yield raw.decode("utf-8")


def _chain_before(fh: BinaryIO, at: int, prev: bytes) -> bytes:
    """The chain hash of the event line that ends at byte `at` (format 2), or `prev`
    when the line there is a record (the range starts at the log's first event)."""
    width = 4096
    while True:
        begin = max(0, at - width)
        fh.seek(begin)
        chunk = fh.read(at - begin)
        cut = chunk.rfind(b"\n", 0, len(chunk) - 1)
        if cut >= 0 or begin == 0:
            line = chunk[cut + 1:]
            break
        width *= 4
    if not line.startswith(_EMBEDDED):
        return prev
    i = line.index(b",")
    return bytes.fromhex(line[i + 2:i + 66].decode("ascii"))


def _lines_part(path: str, start: int, end: int, vkey: str, origin: str,
                due: list[int], structural: bool, prev: bytes | None) -> Part:
    v = RangeVerifier(vkey, origin, due, structural)
    feeder = feed_lines if prev is None else verify_embedded.feed_embedded
    try:
        with open(path, "rb") as fh:
            ended = feeder(v, _range_lines(fh, start, end, v, prev))
        return v.part(ended)
    except _PART_FAILED as exc:
        return Part(problem=str(exc) or type(exc).__name__)


def lines_parallel(v: Verifier, path: str, events_start: int, jobs: int,
                   embedded: bool = False) -> dict[str, Any] | None:
    """Verify the events of a JSON Lines bundle (from byte `events_start`; `embedded`:
    of format 2) on `jobs` processes into `v`; returns the end record. Fallback on any
    problem."""
    total = os.path.getsize(path)
    step = max(1, (total - events_start) // jobs)
    bounds = [events_start + i * step for i in range(jobs)] + [total]
    parts = _gather(jobs, _lines_part, [(path, bounds[i], bounds[i + 1], v.vkey, v.origin,
                                         list(v.due), v.structural,
                                         v.chain if embedded else None)
                                        for i in range(jobs)])
    try:
        return _parts(v, parts)
    except Failed as exc:
        raise Fallback(str(exc)) from None


# --- binary ------------------------------------------------------------------------


def _blocks_part(path: str, blocks: list[tuple[int, int]], vkey: str, origin: str,
                 due: list[int]) -> Part:
    v = RangeVerifier(vkey, origin, due, structural=True)
    try:
        with open(path, "rb") as fh:
            for offset, length in blocks:
                fh.seek(offset)
                payload = fh.read(length)
                if v.first < 0:
                    first, _, prev = verify_binary.block_head(payload)
                    v.begin(first, prev)
                verify_binary.feed_block(v, payload)
        return v.part(None)
    except _PART_FAILED as exc:
        return Part(problem=str(exc) or type(exc).__name__)


def binary_parallel(v: Verifier, path: str, jobs: int) -> dict[str, Any] | None:
    """Verify a binary bundle's blocks on `jobs` processes into `v` (header already
    read); the J records around them are fed here. Fallback on any problem."""
    try:  # a frame the file cannot hold is named by one process, in the file's order
        with open(path, "rb") as fh:
            frames = list(verify_binary.frames(fh, skip_blocks=True))[1:]
    except BundleError as exc:
        raise Fallback(str(exc)) from None
    blocks = [(off, n) for kind, off, n, _ in frames if kind == verify_binary.EVENTS]
    if not blocks:
        raise Fallback("no blocks")
    first = next(i for i, f in enumerate(frames) if f[0] == verify_binary.EVENTS)
    last = max(i for i, f in enumerate(frames) if f[0] == verify_binary.EVENTS)
    if last - first + 1 != len(blocks):
        raise Fallback("records between blocks")
    try:
        for _, _, _, payload in frames[:first]:
            if feed(v, verify_binary.read_record(payload)) is not None:
                raise Fallback("an end record before the events")
        per = -(-len(blocks) // jobs)
        runs = [blocks[i:i + per] for i in range(0, len(blocks), per)]
        parts = _gather(len(runs), _blocks_part,
                        [(path, run, v.vkey, v.origin, list(v.due)) for run in runs])
        ended = _parts(v, parts)
        for _, _, _, payload in frames[last + 1:]:
            if ended is not None:
                raise Fallback("records after the end record")
            ended = feed(v, verify_binary.read_record(payload))
        return ended
    except (BundleError, *_PART_FAILED) as exc:  # one process names it in order
        raise Fallback(str(exc)) from None
