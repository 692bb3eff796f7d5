"""Offline verification of a ledger export: standard library plus `cryptography` only.

    python -m audit.verify BUNDLE [--public-key FILE] [--trusted-checkpoint FILE ...]

Checks every checkpoint's signature, that seq is contiguous, every leaf hash from the
stored bytes, the hash chain, each checkpoint's Merkle root, consistency with the
checkpoints the auditor already holds, and that every field a bundle line repeats beside
the signed bytes (an event's escalation_id, escalation_seq and at; an erased field's when
and by whom) says what the signed bytes say. Every commitment in every event is accounted
for: its text is present and matches, or a content-erased event of the log names it
(seq:field). Exits 0 only when all hold; otherwise names the first bad seq.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from audit import merkle, signed_note
from audit.canonical import commitment
from audit.errors import AuditError, BundleError, KeyFileError, NoteError

BUNDLE_TYPE = "baton-ledger-export"

# What an event line repeats beside its signed bytes: the line's key -> the bytes' key.
EVENT_LINE_FIELDS = {"escalation_id": "escalation_id", "escalation_seq": "version",
                     "at": "at"}
ERASED = "content-erased"
_ABSENT = object()


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

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


class Failed(Exception):
    """Raised inside the verifier at the first problem."""


class Verifier:
    """Fed checkpoints, then events (each followed by its content), then finish()."""

    def __init__(self, vkey: str, origin: str | None = None,
                 trusted: Iterable[str] = (), progress: TextIO | None = None,
                 total: int | None = None):
        self.vkey = vkey
        self.origin = origin if origin is not None else signed_note.parse_verifier_key(vkey)[0]
        self.report = Report()
        self.range = merkle.CompactRange()
        self.chain = merkle.GENESIS
        self.want_roots: dict[int, list[tuple[str, bytes]]] = {}
        self.body: dict[str, Any] = {}
        self.committed: set[str] = set()  # the current event's committed fields ...
        self.accounted: set[str] = set()  # ... and those whose text or erasure is here
        # Fields still waiting for a content-erased event to name them, by (seq, field),
        # with their escalation: committed with no text, or marked erased (when, by whom).
        self.missing: dict[tuple[int, str], Any] = {}
        self.claimed: dict[tuple[int, str], tuple[Any, Any, Any]] = {}
        self.seq = -1
        self.progress = progress
        self.total = total
        for text in trusted:
            cp = self._open(text, "trusted checkpoint")
            self.want_roots.setdefault(cp.size, []).append(("trusted checkpoint", cp.root))
            self.report.trusted += 1

    def _open(self, text: str, what: str) -> signed_note.Checkpoint:
        try:
            return signed_note.open_note(text, self.vkey, self.origin)
        except NoteError as exc:
            raise Failed(f"{what}: {exc}") from None

    def checkpoint(self, text: str) -> None:
        """A checkpoint from the log itself: its signature and, later, its root."""
        cp = self._open(text, "checkpoint")
        self.want_roots.setdefault(cp.size, []).append(("checkpoint", cp.root))
        self.report.checkpoints += 1
        if cp.size == 0 and cp.root != merkle.EMPTY_ROOT:
            raise Failed("checkpoint at size 0: root is not the empty tree's")

    def event(self, seq: int, data: bytes, leaf: bytes, prev: bytes, chain: bytes,
              beside: dict[str, tuple[str, Any]] | None = None) -> None:
        """One event row: position, leaf, chain, the roots that end here, and the fields
        its line repeats `beside` the bytes (line's name -> (signed bytes' key, value))."""
        self._close_event()
        expected = self.seq + 1
        if seq != expected:
            if seq > expected:
                raise Failed(f"seq {expected}: missing (the next event is seq {seq})")
            raise Failed(f"seq {seq}: out of order or repeated after seq {self.seq}")
        if merkle.leaf_hash(data) != leaf:
            raise Failed(f"seq {seq}: bytes do not match leaf hash")
        try:
            body = json.loads(data)
        except ValueError:
            raise Failed(f"seq {seq}: stored bytes are not JSON") from None
        if not isinstance(body, dict):
            raise Failed(f"seq {seq}: stored bytes are not a JSON object")
        if type(body.get("seq")) is not int or body["seq"] != seq:
            found = body.get("seq", "nothing")
            raise Failed(f"seq {seq}: the event's bytes say seq {found} "
                         "(rows reordered or replaced)")
        for name, (key, given) in (beside or {}).items():
            signed = body.get(key)
            if given is _ABSENT:
                raise Failed(f"seq {seq}: the line has no {name} (the signed bytes say "
                             f"{signed!r})")
            if given != signed or type(given) is not type(signed):
                raise Failed(f"seq {seq}: the line's {name} {given!r} is not the signed "
                             f"bytes' {signed!r} (edited beside the bytes)")
        if prev != self.chain:
            raise Failed(f"seq {seq}: prev_chain does not match the chain so far")
        if merkle.chain_hash(prev, leaf) != chain:
            raise Failed(f"seq {seq}: chain hash does not match prev_chain and leaf")
        self.chain = chain
        self.seq = seq
        self.range.append(leaf)
        self.body = body
        payload = body.get("payload")
        payload = payload if isinstance(payload, dict) else {}
        self.committed = {k for k, v in payload.items()
                          if isinstance(v, dict) and "commitment" in v}
        self.accounted = set()
        if body.get("action") == ERASED:
            self._erasure(seq, body, payload.get("fields"))
        self.report.events += 1
        size = self.range.size
        if size in self.want_roots:
            root = self.range.root()
            for what, want in self.want_roots[size]:
                if root != want:
                    raise Failed(f"{what} at size {size}: root does not match the log "
                                 f"(history before seq {seq + 1} differs)")
        if self.progress is not None and seq % 50_000 == 0 and seq:
            of = f"/{self.total}" if self.total else ""
            self.progress.write(f"\rverified {seq}{of} events")
            self.progress.flush()

    def _field_of_this_event(self, seq: int, name: str, what: str) -> None:
        if seq > self.seq:
            raise Failed(f"seq {self.seq + 1}: missing ({what} for seq {seq} is present)")
        if seq != self.seq:
            raise Failed(f"seq {seq} field {name}: {what} out of place")
        if name not in self.committed:
            raise Failed(f"seq {seq} field {name}: no commitment for this {what}")
        if name in self.accounted:
            raise Failed(f"seq {seq} field {name}: {what} repeated (the field is already "
                         "accounted for)")
        self.accounted.add(name)

    def content(self, seq: int, name: str, salt: bytes, text: str) -> None:
        """A content row: it must belong to the last event and match its commitment."""
        self._field_of_this_event(seq, name, "content")
        if commitment(salt, text) != self.body["payload"][name]["commitment"]:
            raise Failed(f"seq {seq} field {name}: content does not match its commitment "
                         "(edited)")
        self.report.contents += 1

    def erased(self, seq: int, name: str, erased_at: Any, erased_by: Any) -> None:
        """An erased field of the last event: a content-erased event later in the log
        must name it, at the time and by the actor the record says."""
        self._field_of_this_event(seq, name, "erased record")
        self.claimed[(seq, name)] = (self.body.get("escalation_id"), erased_at, erased_by)

    def _close_event(self) -> None:
        """The last event is complete: its committed fields with neither text nor an
        erased record wait for a content-erased event to name them."""
        for name in self.committed - self.accounted:
            self.missing[(self.seq, name)] = self.body.get("escalation_id")
        self.committed = set()

    def _erasure(self, seq: int, body: dict[str, Any], fields: Any) -> None:
        """A content-erased event: the fields it names ("seq:field", of its escalation)
        are accounted for; erased records of them must say its time and actor."""
        if not isinstance(fields, list):
            raise Failed(f"seq {seq}: a content-erased event without its list of fields")
        escalation = body.get("escalation_id")
        for named in fields:
            where, _, name = str(named).partition(":")
            if not where.isdigit():
                raise Failed(f"seq {seq}: the content-erased event names {named!r}, "
                             "not seq:field")
            key = (int(where), name)
            if self.missing.get(key, _ABSENT) == escalation:
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

    def finish(self, declared: int | None = None) -> Report:
        """Checks that need the whole log: checkpoints beyond its end, and every
        commitment accounted for."""
        self._close_event()
        size = self.range.size
        if declared is not None and declared != size:
            raise Failed(f"bundle declares {declared} events but holds {size}")
        for want, found in sorted(self.want_roots.items()):
            if want == 0 and size >= 0:
                continue
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
        if self.progress is not None and size >= 50_000:
            self.progress.write(f"\rverified {size} events\n")
        return self.report


def _hex(value: Any, where: str) -> bytes:
    try:
        return bytes.fromhex(value)
    except (TypeError, ValueError):
        raise Failed(f"{where}: not hex") from None


def read_bundle(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """JSON objects from a JSON Lines bundle; raises BundleError on a malformed line."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            raise BundleError(f"line {number}: not JSON (is this a JSON Lines bundle?)") \
                from None
        if not isinstance(item, dict) or "type" not in item:
            raise BundleError(f"line {number}: not a bundle record")
        yield item


def verify_bundle(lines: Iterable[str], public_key: str | None = None,
                  trusted: Iterable[str] = (), progress: TextIO | None = None) -> Report:
    """Verify an export; the key given by the auditor wins over the bundle's own."""
    records = read_bundle(lines)
    header = next(records, None)
    if header is None or header.get("type") != BUNDLE_TYPE:
        raise BundleError("not a Baton ledger export (the first line is not its header)")
    if header.get("format") != 1:
        raise BundleError(f"unsupported export format {header.get('format')!r}")
    vkey = public_key or header.get("public_key")
    if not vkey:
        raise BundleError("no public key: pass --public-key")
    report_notes = []
    if public_key is None:
        report_notes.append("public key taken from the bundle itself: pass --public-key with "
                            "a copy you trust, or a forger's key would pass")
    elif header.get("public_key") and header["public_key"] != public_key:
        report_notes.append("the bundle names a different public key than the one given")
    origin = header.get("origin")
    try:
        v = Verifier(vkey, origin, trusted, progress, header.get("size"))
    except Failed as exc:
        report = Report(problems=[str(exc)], notes=report_notes)
        return report
    try:
        ended = None
        for item in records:
            kind = item["type"]
            if ended is not None:
                raise Failed("records after the end record")
            if kind == "checkpoint":
                v.checkpoint(str(item.get("note", "")))
            elif kind == "event":
                seq = item.get("seq")
                if not isinstance(seq, int):
                    raise Failed(f"event after seq {v.seq}: no seq")
                try:
                    data = base64.b64decode(item["bytes"], validate=True)
                except (KeyError, TypeError, binascii.Error):
                    raise Failed(f"seq {seq}: bytes are not base64") from None
                try:
                    hashes = (bytes.fromhex(item["leaf_hash"]),
                              bytes.fromhex(item["prev_chain"]),
                              bytes.fromhex(item["chain_hash"]))
                except (KeyError, TypeError, ValueError):
                    raise Failed(f"seq {seq}: hashes are missing or not hex") from None
                v.event(seq, data, *hashes,
                        beside={k: (key, item.get(k, _ABSENT))
                                for k, key in EVENT_LINE_FIELDS.items()})
            elif kind == "content":
                v.content(item.get("seq", -1), str(item.get("field")),
                          _hex(item.get("salt"), f"seq {item.get('seq')}"),
                          str(item.get("text", "")))
            elif kind == "erased":
                v.erased(item.get("seq", -1), str(item.get("field")),
                         item.get("erased_at"), item.get("erased_by"))
            elif kind == "end":
                ended = item
            else:
                raise Failed(f"unknown record type {kind!r}")
        if ended is None:
            raise Failed(f"bundle is truncated: no end record after seq {v.seq}")
        report = v.finish(ended.get("size"))
    except Failed as exc:
        report = v.report
        report.problems.append(str(exc))
    report.notes.extend(report_notes)
    return report


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: prints the outcome; exit 0 only when everything verifies."""
    parser = argparse.ArgumentParser(prog="python -m audit.verify",
                                     description="Verify a Baton ledger export offline.")
    parser.add_argument("bundle")
    parser.add_argument("--public-key", help="verifier key file (NAME+ID+KEY)")
    parser.add_argument("--trusted-checkpoint", action="append", default=[],
                        help="a checkpoint note you held before (repeatable)")
    args = parser.parse_args(argv)
    try:
        vkey = signed_note.read_verifier_key(args.public_key) if args.public_key else None
        trusted = []
        for path in args.trusted_checkpoint:
            with open(path, encoding="utf-8") as fh:
                trusted.append(fh.read())
        with open(args.bundle, encoding="utf-8") as fh:
            report = verify_bundle(fh, vkey, trusted, progress=sys.stderr)
    except (OSError, UnicodeDecodeError, AuditError, KeyFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return print_report(report)


def print_report(report: Report, out: TextIO | None = None) -> int:
    """Print a report; returns the exit status (0 ok, 1 tampered)."""
    out = out or sys.stdout
    for line in report.notes:
        print(f"note: {line}", file=sys.stderr)
    if report.ok:
        warned = f" ({len(report.warnings)} warning)" if report.warnings else ""
        print(f"OK: {report.events} events, {report.checkpoints} checkpoints "
              f"({report.trusted} trusted), {report.contents} content fields verified, "
              f"{report.erased} erased{warned}", file=out)
        for line in report.warnings:
            print(f"warning: {line}", file=out)
        return 0
    print(f"FAILED: {report.problems[0]}", file=out)
    return 1


if __name__ == "__main__":
    sys.exit(main())
