"""The verifier's state: fed checkpoints, then events (each followed by its content), then
finish(). Whatever the bundle's format, every check is made here, in one order, so that
every reader names the same first problem.

Standard library plus `cryptography` only (the offline verifier imports this).
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from hashlib import sha256
from typing import Any, TextIO

from audit.errors import NoteError
from audit.log import event_record, signed_note
from audit.log.witness_policy import TrustPolicy
from audit.verifier.verify_tree import EMPTY_ROOT, Tree
from audit.verifier.verify_witnesses import Quorum

GENESIS = bytes(32)
ERASED = event_record.CONTENT_ERASED
ABSENT = object()
BATCH = 4096  # leaves folded into the tree at once (a power of two: aligned subtrees)
NEVER = 1 << 63
PROGRESS_EVERY = 50_000


@dataclass
class Report:
    """The outcome: ok, the first problem, and what was checked."""

    events: int = 0
    checkpoints: int = 0
    trusted: int = 0
    contents: int = 0
    erased: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # verified, but say so
    witnesses: list[str] = field(default_factory=list)  # what the witness policy found
    structural: bool = False  # content and repeated fields were not checked
    cores: int = 1

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


class Failed(Exception):
    """Raised inside the verifier at the first problem."""


class Verifier:
    """Fed checkpoints, then events (each followed by its content), then finish().

    `structural` checks the ledger alone (seq, leaves, chain, roots, signatures and
    cosignatures) and skips the signed bytes' contents, the content and the fields a
    line repeats; `policy` adds the witness quorum."""

    def __init__(self, vkey: str, origin: str | None = None,
                 trusted: Iterable[str] = (), progress: TextIO | None = None,
                 total: int | None = None, *, structural: bool = False,
                 policy: TrustPolicy | None = None):
        self.vkey = vkey
        self.origin = origin if origin is not None else signed_note.parse_verifier_key(vkey)[0]
        self.report = Report(structural=structural)
        self.structural = structural
        self.quorum = Quorum(policy) if policy is not None else None
        self.tree = Tree()
        self.pending: list[bytes] = []  # leaves not yet folded into the tree
        self.want_roots: dict[int, list[tuple[str, bytes]]] = {}
        self.due: list[int] = []  # sizes still to reach whose roots are known
        self.next_due = NEVER
        self.chain = GENESIS
        self.chain_hex = GENESIS.hex()
        self.escalation: Any = None  # the current event's escalation id ...
        # ... its committed fields, each with its commitment (a raw digest when read by
        # verify_lean, as the record says otherwise) ...
        self.commits: dict[str, Any] = {}
        self.accounted: set[str] = set()  # ... and those whose text or erasure is here
        # Fields still waiting for a content-erased event to name them, by (seq, field),
        # with their escalation: committed with no text, or marked erased (when, by whom).
        self.missing: dict[tuple[int, str], Any] = {}
        self.claimed: dict[tuple[int, str], tuple[Any, Any, Any]] = {}
        self.seq = -1
        # The policy versions the policy-applied events so far introduced, by seq: what
        # a format 2 event's policy reference must name.
        self.policies: dict[int, str] = {}
        self.progress = progress
        self.total = total
        for text in trusted:
            cp = self._open(text, "trusted checkpoint")
            self._want(cp.size, "trusted checkpoint", cp.root)
            self.report.trusted += 1

    @property
    def size(self) -> int:
        """How many events were fed."""
        return self.tree.size + len(self.pending)

    def _open(self, text: str, what: str) -> signed_note.Checkpoint:
        try:
            return signed_note.open_note(text, self.vkey, self.origin)
        except NoteError as exc:
            raise Failed(f"{what}: {exc}") from None

    def _want(self, size: int, what: str, root: bytes) -> None:
        if size and size <= self.size:
            raise Failed(f"{what} at size {size} comes after the events it covers "
                         "(checkpoints come before the events)")
        self.want_roots.setdefault(size, []).append((what, root))
        if size and size not in self.due:
            bisect.insort(self.due, size)
            self.next_due = self.due[0]

    def checkpoint(self, text: str, cosignatures: Sequence[str] = ()) -> None:
        """A checkpoint from the log itself: its signature, its cosignatures and, later,
        its root."""
        cp = self._open(text, "checkpoint")
        if cp.size == 0 and cp.root != EMPTY_ROOT:
            raise Failed("checkpoint at size 0: root is not the empty tree's")
        self._want(cp.size, "checkpoint", cp.root)
        self.report.checkpoints += 1
        if self.quorum is not None:
            self.quorum.add(cp.size, text, cosignatures)

    # --- events ---------------------------------------------------------------------

    def event(self, seq: int, data: bytes, leaf: bytes, prev: bytes, chain: bytes,
              beside: dict[str, tuple[str, Any]] | None = None) -> None:
        """One event row: position, leaf, chain, the roots that end here, and the fields
        its line repeats `beside` the bytes (line's name -> (signed bytes' key, value))."""
        self._close_event()
        self._position(seq)
        if hashlib.sha256(b"\x00" + data).digest() != leaf:
            raise Failed(f"seq {seq}: bytes do not match leaf hash")
        body = None if self.structural else self.signed_body(seq, data, beside or {})
        if prev != self.chain:
            raise Failed(f"seq {seq}: prev_chain does not match the chain so far")
        if hashlib.sha256(b"\x02" + prev + leaf).digest() != chain:
            raise Failed(f"seq {seq}: chain hash does not match prev_chain and leaf")
        self.accept(seq, leaf, chain, chain.hex(), body)

    def linked(self, seq: int, data: bytes, chain_hex: str) -> None:
        """One event of a bundle line that states only its chain hash (bundle format 2):
        position, what the bytes say, then the chain from them and the chain so far."""
        self._close_event()
        self._position(seq)
        body = None if self.structural else self.signed_body(seq, data, {})
        leaf = sha256(b"\x00" + data).digest()
        chain = sha256(b"\x02" + self.chain + leaf).digest()
        if chain.hex() != chain_hex:
            raise Failed(f"seq {seq}: chain hash does not match the bytes and the chain "
                         "so far")
        self.accept(seq, leaf, chain, chain_hex, body)

    def _position(self, seq: int) -> None:
        expected = self.seq + 1
        if seq != expected:
            if seq > expected:
                raise Failed(f"seq {expected}: missing (the next event is seq {seq})")
            raise Failed(f"seq {seq}: out of order or repeated after seq {self.seq}")

    def signed_body(self, seq: int, data: bytes,
                    beside: dict[str, tuple[str, Any]]) -> dict[str, Any]:
        """The record of the signed bytes (either format), their seq, and the fields the
        line repeats."""
        try:
            obj = event_record.parse(data)
        except event_record.RecordError as exc:
            raise Failed(f"seq {seq}: stored bytes are {exc}") from None
        said = event_record.seq_of(obj)
        if type(said) is not int or said != seq:
            found = "nothing" if said is None else said
            raise Failed(f"seq {seq}: the event's bytes say seq {found} "
                         "(rows reordered or replaced)")
        try:
            body = event_record.record_of(obj, self.policy_of)
        except event_record.RecordError as exc:
            raise Failed(f"seq {seq}: {exc}") from None
        for name, (key, given) in beside.items():
            signed = body.get(key)
            if given is ABSENT:
                raise Failed(f"seq {seq}: the line has no {name} (the signed bytes say "
                             f"{signed!r})")
            if given != signed or type(given) is not type(signed):
                raise Failed(f"seq {seq}: the line's {name} {given!r} is not the signed "
                             f"bytes' {signed!r} (edited beside the bytes)")
        return body

    def policy_of(self, ref: int) -> str | None:
        """The version an earlier policy-applied event introduced, by its seq."""
        return self.policies.get(ref)

    def accept(self, seq: int, leaf: bytes, chain: bytes, chain_hex: str,
               body: dict[str, Any] | None) -> None:
        """An event whose seq, leaf, chain (and, unless structural, body) were checked:
        it joins the tree, and the roots that end here are compared."""
        self._close_event()
        self.chain = chain
        self.chain_hex = chain_hex
        self.seq = seq
        if body is not None:
            self.escalation = body.get("escalation_id")
            introduced = event_record.policy_introduced(body)
            if introduced is not None:
                self.policies[seq] = introduced
            payload = body.get("payload")
            payload = payload if isinstance(payload, dict) else {}
            self.commits = {k: v["commitment"] for k, v in payload.items()
                            if isinstance(v, dict) and "commitment" in v}
            if body.get("action") == ERASED:
                self._erasure(seq, body, payload.get("fields"))
        self.joined(seq, leaf)

    def accept_lean(self, seq: int, leaf: bytes, chain: bytes, chain_hex: str,
                    escalation: Any, commits: dict[str, Any]) -> None:
        """accept() of an event verify_lean read: its escalation and commitments."""
        if self.commits:
            self._close_event()
        self.chain = chain
        self.chain_hex = chain_hex
        self.seq = seq
        self.escalation = escalation
        self.commits = commits
        self.joined(seq, leaf)

    def joined(self, seq: int, leaf: bytes) -> None:
        """The accepted event's leaf joins the tree (the roots that end here compared)."""
        self.report.events += 1
        pending = self.pending
        pending.append(leaf)
        if seq + 1 == self.next_due or len(pending) >= BATCH:
            self.grow(pending)
            self.pending = []
        self.progressed(seq)

    def progressed(self, seq: int) -> None:
        """Say how far the events are verified, at every PROGRESS_EVERY-th seq."""
        if self.progress is not None and not seq % PROGRESS_EVERY and seq:
            of = f"/{self.total}" if self.total else ""
            self.progress.write(f"\rverified {seq}{of} events")
            self.progress.flush()

    def grow(self, leaves: Sequence[bytes]) -> None:
        """Fold verified leaves into the tree, comparing the root at every size a
        checkpoint names on the way (pending leaves must be folded first)."""
        done, n = 0, len(leaves)
        while self.next_due <= self.tree.size + n - done:
            cut = self.next_due - self.tree.size
            self.tree.extend(leaves[done:done + cut])
            done += cut
            self.reached(self.tree.size)
        self.tree.extend(leaves[done:] if done else leaves)

    def reached(self, size: int) -> None:
        """The tree is at `size`, a size some checkpoint names: their roots must agree."""
        self.compare(size, self.tree.root())

    def compare(self, size: int, root: bytes) -> None:
        """The log's root at the next size a checkpoint names: they must agree."""
        for what, want in self.want_roots[size]:
            if root != want:
                raise Failed(f"{what} at size {size}: root does not match the log "
                             f"(history before seq {size} differs)")
        self.passed()

    def passed(self) -> None:
        """The next size a checkpoint names is behind us."""
        self.due.pop(0)
        self.next_due = self.due[0] if self.due else NEVER

    # --- content --------------------------------------------------------------------

    def _field_of_this_event(self, seq: int, name: str, what: str) -> None:
        if seq > self.seq:
            raise Failed(f"seq {self.seq + 1}: missing ({what} for seq {seq} is present)")
        if seq != self.seq:
            raise Failed(f"seq {seq} field {name}: {what} out of place")
        if name not in self.commits:
            raise Failed(f"seq {seq} field {name}: no commitment for this {what}")
        accounted = self.accounted
        if name in accounted:
            raise Failed(f"seq {seq} field {name}: {what} repeated (the field is already "
                         "accounted for)")
        accounted.add(name)

    def content(self, seq: int, name: str, salt: bytes, text: str) -> None:
        """A content row: it must belong to the last event and match its commitment."""
        commits, accounted = self.commits, self.accounted
        if seq != self.seq or name not in commits or name in accounted:
            self._field_of_this_event(seq, name, "content")  # names what is wrong
        accounted.add(name)
        try:
            made = sha256(salt + text.encode()).digest()  # canonical.commitment's digest
        except UnicodeEncodeError:  # a lone surrogate, escaped in the bundle
            raise Failed(f"seq {seq} field {name}: the content is not Unicode text") from None
        want = commits[name]
        if (made if type(want) is bytes else made.hex()) != want:
            raise Failed(f"seq {seq} field {name}: content does not match its commitment "
                         "(edited)")
        self.report.contents += 1

    def erased(self, seq: int, name: str, erased_at: Any, erased_by: Any) -> None:
        """An erased field of the last event: a content-erased event later in the log
        must name it, at the time and by the actor the record says."""
        self._field_of_this_event(seq, name, "erased record")
        self.claimed[(seq, name)] = (self.escalation, erased_at, erased_by)

    def _close_event(self) -> None:
        """The last event is complete: its committed fields with neither text nor an
        erased record wait for a content-erased event to name them."""
        commits = self.commits
        if commits:
            if len(self.accounted) != len(commits):  # accounted is a subset of commits
                for name in commits.keys() - self.accounted:
                    self.missing[(self.seq, name)] = self.escalation
            self.commits = {}
            self.accounted = set()

    def _erasure(self, seq: int, body: dict[str, Any], fields: Any) -> None:
        """A content-erased event: the fields it names ("seq:field", of its escalation)
        are accounted for; erased records of them must say its time and actor."""
        if not isinstance(fields, list):
            raise Failed(f"seq {seq}: a content-erased event without its list of fields")
        escalation = body.get("escalation_id")
        for named in fields:
            where, _, name = str(named).partition(":")
            # ASCII digits only ("²".isdigit() too), and few enough for int() to read
            if not (where.isascii() and where.isdigit() and len(where) <= 20):
                raise Failed(f"seq {seq}: the content-erased event names {named!r}, "
                             "not seq:field")
            key = (int(where), name)
            if self.missing.get(key, ABSENT) == escalation:
                del self.missing[key]
                self.report.erased += 1
            claim = self.claimed.get(key)
            if claim is not None and claim[0] == escalation:
                if (claim[1], claim[2]) != (body.get("at"), body.get("actor")):
                    raise Failed(f"seq {key[0]} field {name}: the erased record says "
                                 f"{claim[1]!r} by {claim[2]!r}, but the content-erased "
                                 f"event seq {seq} says {body.get('at')!r} by "
                                 f"{body.get('actor')!r}")
                del self.claimed[key]
                self.report.erased += 1

    # --- the end --------------------------------------------------------------------

    def finish(self, declared: int | None = None) -> Report:
        """Checks that need the whole log: checkpoints beyond its end, every commitment
        accounted for, and the witness quorum."""
        self._close_event()
        if self.pending:
            self.grow(self.pending)
            self.pending = []
        size = self.tree.size
        if declared is not None and declared != size:
            raise Failed(f"bundle declares {declared} events but holds {size}")
        for want, found in sorted(self.want_roots.items()):
            if want > size:
                what = found[0][0]
                raise Failed(f"log ends at {size - 1} but the {what} says {want} events"
                             if size else f"log is empty but the {what} says {want} events")
        if self.missing:
            seq, name = min(self.missing)
            raise Failed(f"seq {seq} field {name}: committed, but neither its text nor a "
                         "content-erased event naming it is in the bundle (content removed)")
        if self.claimed:
            seq, name = min(self.claimed)
            raise Failed(f"seq {seq} field {name}: marked erased, but no content-erased "
                         "event of its escalation names it")
        if size and not self.report.checkpoints and not self.report.trusted:
            self.report.warnings.append(
                f"no checkpoint: nothing signed vouches for the {size} event"
                f"{'s' if size > 1 else ''} (sign one with `baton audit checkpoint` and "
                "keep a copy)")
        if self.quorum is not None:
            problem = self.quorum.judge(size, self.report)
            if problem:
                raise Failed(problem)
        if self.progress is not None and size >= PROGRESS_EVERY:
            self.progress.write(f"\rverified {size} events\n")
        return self.report
