"""Offline verification of a ledger export: standard library plus `cryptography` only.

    python -m audit.verify BUNDLE [--public-key FILE] [--trusted-checkpoint FILE ...]

Checks every checkpoint's signature, that seq is contiguous, every leaf hash from the
stored bytes, the hash chain, each checkpoint's Merkle root, consistency with the
checkpoints the auditor already holds, and every present content row against its
commitment. Exits 0 only when all hold; otherwise names the first bad seq.
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
        self.payload: dict[str, Any] | None = {}
        self.data = b""
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

    def event(self, seq: int, data: bytes, leaf: bytes, prev: bytes, chain: bytes) -> None:
        """One event row: position, leaf, chain, and the roots that end here."""
        expected = self.seq + 1
        if seq != expected:
            if seq > expected:
                raise Failed(f"seq {expected}: missing (the next event is seq {seq})")
            raise Failed(f"seq {seq}: out of order or repeated after seq {self.seq}")
        if merkle.leaf_hash(data) != leaf:
            raise Failed(f"seq {seq}: bytes do not match leaf hash")
        # In canonical JSON a quote inside a string is escaped, so the last `"seq":` is the
        # top-level key (it sorts after "payload"): no need to parse every event.
        at = data.rfind(b'"seq":')
        end = data.find(b",", at)
        if at < 0 or data[at + 6:end if end > 0 else None] != str(seq).encode():
            found = data[at + 6:end].decode(errors="replace") if at >= 0 else "nothing"
            raise Failed(f"seq {seq}: the event's bytes say seq {found} "
                         "(rows reordered or replaced)")
        if prev != self.chain:
            raise Failed(f"seq {seq}: prev_chain does not match the chain so far")
        if merkle.chain_hash(prev, leaf) != chain:
            raise Failed(f"seq {seq}: chain hash does not match prev_chain and leaf")
        self.chain = chain
        self.seq = seq
        self.range.append(leaf)
        self.data = data
        self.payload = None
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

    def content(self, seq: int, name: str, salt: bytes, text: str) -> None:
        """A content row: it must belong to the last event and match its commitment."""
        if seq > self.seq:
            raise Failed(f"seq {self.seq + 1}: missing (content for seq {seq} is present)")
        if seq != self.seq:
            raise Failed(f"seq {seq} field {name}: content out of place")
        if self.payload is None:
            try:
                self.payload = json.loads(self.data).get("payload") or {}
            except ValueError:
                raise Failed(f"seq {seq}: stored bytes are not JSON") from None
        slot = self.payload.get(name)
        if not isinstance(slot, dict) or "commitment" not in slot:
            raise Failed(f"seq {seq} field {name}: no commitment for this content")
        if commitment(salt, text) != slot["commitment"]:
            raise Failed(f"seq {seq} field {name}: content does not match its commitment "
                         "(edited)")
        self.report.contents += 1

    def erased(self) -> None:
        """An erased field: reported, not an error."""
        self.report.erased += 1

    def finish(self, declared: int | None = None) -> Report:
        """Checks that need the whole log: checkpoints beyond its end."""
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
                v.event(seq, data, *hashes)
            elif kind == "content":
                v.content(item.get("seq", -1), str(item.get("field")),
                          _hex(item.get("salt"), f"seq {item.get('seq')}"),
                          str(item.get("text", "")))
            elif kind == "erased":
                v.erased()
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
        print(f"OK: {report.events} events, {report.checkpoints} checkpoints "
              f"({report.trusted} trusted), {report.contents} content fields verified, "
              f"{report.erased} erased", file=out)
        return 0
    print(f"FAILED: {report.problems[0]}", file=out)
    return 1


if __name__ == "__main__":
    sys.exit(main())
