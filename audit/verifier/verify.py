"""Offline verification of a ledger export: standard library plus `cryptography` only.

    python -m audit.verifier BUNDLE [--public-key FILE] [--trusted-checkpoint FILE ...]
                          [--witness-policy FILE] [--structural] [--jobs N]
    python -m audit.verifier --proof FILE --public-key FILE [--witness-policy FILE]

Checks every checkpoint's signature, that seq is contiguous, every leaf hash from the
stored bytes, the hash chain, each checkpoint's Merkle root, consistency with the
checkpoints the auditor already holds, and that every field a bundle line repeats beside
the signed bytes (an event's escalation_id, escalation_seq and at; an erased field's when
and by whom) says what the signed bytes say. Every commitment in every event is accounted
for: its text is present and matches, or a content-erased event of the log names it
(seq:field). Event bytes of either format (audit/log/event_record.py) are read; a format 2
event's policy reference must name an earlier policy-applied event. Exits 0 only when all
hold; otherwise names the first bad seq.

With --witness-policy (c2sp.org/tlog-policy) the newest checkpoint must carry
cosignatures that meet the policy's quorum; the report names who signed it and who did
not, and how many older checkpoints lack the quorum (see audit/verifier/verify_witnesses.py).
--structural checks the ledger alone (seq, leaves, chain, roots, signatures and
cosignatures), not the content or the repeated fields. BUNDLE may be the JSON Lines
bundle, of either layout the header's `format` names (2: audit/verifier/verify_embedded.py,
one line per event; 1: audit/verifier/verify_lines.py, written before issue #29), or the
binary one (audit/verifier/verify_binary.py: structural only, at hashing speed).
A large bundle is verified on every core (--jobs 1: one); a bundle that fails is
verified again on one, so the problem named is the same.

--proof FILE checks a proof of one event alone (audit/verifier/proof_check.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from audit.errors import AuditError, BundleError, KeyFileError
from audit.log import signed_note
from audit.log.witness_policy import PolicyFileError, TrustPolicy
from audit.log.witness_policy import load as load_policy
from audit.verifier import (
    access_report,
    proof_check,
    verify_binary,
    verify_embedded,
    verify_parallel,
)
from audit.verifier.verify_lines import (
    BUNDLE_TYPE,
    EVENT_LINE_FIELDS,
    EVENT_PREFIX,
    feed,
    feed_lines,
    read_record,
)
from audit.verifier.verify_log import Failed, Report, Verifier

__all__ = ["BUNDLE_TYPE", "EVENT_LINE_FIELDS", "Failed", "Report", "Verifier",
           "print_report", "verify_bundle", "verify_path", "main"]

FORMATS = (1, verify_embedded.FORMAT)  # the JSON Lines layouts Baton ever wrote
PARALLEL_FROM = 32 << 20  # bytes: below this, starting processes costs more than it saves
HEAD_AT_MOST = 64 << 20  # bytes of header and checkpoints read before the events


def _open(header: dict[str, Any] | None, public_key: str | None, trusted: Iterable[str],
          progress: TextIO | None, policy: TrustPolicy | None,
          structural: bool) -> tuple[Verifier | Report, list[str]]:
    """The verifier for a bundle with this header (or the report of why not), and the
    notes on where its key came from."""
    if header is None or header.get("type") != BUNDLE_TYPE:
        raise BundleError("not a Baton ledger export (the first line is not its header)")
    if header.get("format") not in FORMATS:
        raise BundleError(f"unsupported export format {header.get('format')!r}")
    origin = header.get("origin")
    notes: list[str] = []
    from_policy = policy.log_vkey(str(origin)) if policy is not None else None
    if public_key is not None and from_policy is not None and from_policy != public_key:
        return Report(problems=[f"the witness policy's key for {origin!r} is not the "
                                "public key given"]), notes
    vkey = public_key or from_policy or header.get("public_key")
    if not vkey:
        raise BundleError("no public key: pass --public-key")
    if policy is not None and policy.logs and from_policy is None:
        notes.append(f"the witness policy names no log with origin {origin!r}")
    if public_key is None and from_policy is None:
        notes.append("public key taken from the bundle itself: pass --public-key with "
                     "a copy you trust, or a forger's key would pass")
    elif header.get("public_key") and header["public_key"] != vkey:
        notes.append("the bundle names a different public key than the one given")
    try:
        return Verifier(vkey, origin, trusted, progress, header.get("size"),
                        structural=structural, policy=policy), notes
    except Failed as exc:
        return Report(problems=[str(exc)], notes=notes), notes


def _run(v: Verifier, notes: list[str], read: Any) -> Report:
    """Feed the rest of the bundle with `read(v)` (returns the end record) and finish."""
    try:
        ended = read(v)
        if ended is None:
            raise Failed(f"bundle is truncated: no end record after seq {v.seq}")
        report = v.finish(ended.get("size"))
    except Failed as exc:
        report = v.report
        report.problems.append(str(exc))
    report.notes.extend(notes)
    return report


def verify_bundle(lines: Iterable[str], public_key: str | None = None,
                  trusted: Iterable[str] = (), progress: TextIO | None = None, *,
                  policy: TrustPolicy | None = None, structural: bool = False) -> Report:
    """Verify a JSON Lines export; the key given by the auditor wins over the policy's
    log key, which wins over the bundle's own."""
    it = iter(lines)
    header, number = _header_of(it)
    v, notes = _open(header, public_key, trusted, progress, policy, structural)
    if isinstance(v, Report):
        return v
    return _run(v, notes, lambda v: _feeder(header)(v, it, number + 1))


def _feeder(header: dict[str, Any] | None) -> Any:
    """The reader of the lines after this header: format 1's or format 2's."""
    if header is not None and header.get("format") == verify_embedded.FORMAT:
        return verify_embedded.feed_embedded
    return feed_lines


def _header_of(it: Iterator[str]) -> tuple[dict[str, Any] | None, int]:
    """The bundle's header record and its line number, reading `it` up to it."""
    header, number = None, 0
    for number, line in enumerate(it, 1):  # noqa: B007 - the number is used after
        header = read_record(line, number)
        if header is not None:
            break
    return header, number


def _binary(path: str, public_key: str | None, trusted: Iterable[str],
            progress: TextIO | None, policy: TrustPolicy | None, jobs: int) -> Report:
    with open(path, "rb") as fh:
        frames = verify_binary.frames(fh)
        kind, _, _, payload = next(frames, (b"", 0, 0, b""))
        header = verify_binary.read_record(payload) if kind == verify_binary.RECORD else None
        v, notes = _open(header, public_key, trusted, progress, policy, True)
        if isinstance(v, Report):
            return v
        if jobs > 1:
            try:
                report = _run(v, notes, lambda v: verify_parallel.binary_parallel(
                    v, path, jobs))
                if not report.ok:
                    raise verify_parallel.Fallback(report.problems[0])
                report.cores = jobs
                return report
            except verify_parallel.Fallback:
                return _binary(path, public_key, trusted, progress, policy, 1)

        def read(v: Verifier) -> dict[str, Any] | None:
            ended = None
            for kind, _, _, payload in frames:
                if ended is not None:
                    raise Failed("records after the end record")
                if kind == verify_binary.EVENTS:
                    verify_binary.feed_block(v, payload)
                else:
                    ended = feed(v, verify_binary.read_record(payload))
            return ended

        return _run(v, notes, read)


def _lines_parallel(path: str, public_key: str | None, trusted: list[str],
                    progress: TextIO | None, policy: TrustPolicy | None,
                    structural: bool, jobs: int) -> Report:
    """Header and checkpoints here, the events on `jobs` processes (Fallback when
    anything is wrong)."""
    with open(path, "rb") as fh:
        head: list[str] = []
        events_start = 0
        for raw in fh:
            if raw.startswith((EVENT_PREFIX.encode(), verify_embedded.EVENT_START.encode())):
                break
            events_start += len(raw)
            if events_start > HEAD_AT_MOST:
                raise verify_parallel.Fallback("no event line in the export's layout")
            head.append(raw.decode("utf-8"))
    it = iter(head)
    header, number = _header_of(it)
    v, notes = _open(header, public_key, trusted, progress, policy, structural)
    if isinstance(v, Report):
        return v

    def read(v: Verifier) -> dict[str, Any] | None:
        if feed_lines(v, it, number + 1) is not None:
            raise verify_parallel.Fallback("an end record before the events")
        return verify_parallel.lines_parallel(
            v, path, events_start, jobs,
            embedded=header is not None and header.get("format") == verify_embedded.FORMAT)

    report = _run(v, notes, read)
    if not report.ok:
        raise verify_parallel.Fallback(report.problems[0])
    report.cores = jobs
    return report


def verify_path(path: str, public_key: str | None = None, trusted: Iterable[str] = (),
                progress: TextIO | None = None, *, policy: TrustPolicy | None = None,
                structural: bool = False, jobs: int = 1,
                parallel_from: int = PARALLEL_FROM) -> Report:
    """Verify a bundle file, JSON Lines or binary, on up to `jobs` processes when it is
    at least `parallel_from` bytes."""
    held = list(trusted)
    with open(path, "rb") as fh:
        binary = fh.read(len(verify_binary.MAGIC)) == verify_binary.MAGIC
    if binary:
        return _binary(path, public_key, held, progress, policy,
                       jobs if os.path.getsize(path) >= parallel_from else 1)
    if jobs > 1 and os.path.getsize(path) >= parallel_from:
        try:
            return _lines_parallel(path, public_key, held, progress, policy, structural,
                                   jobs)
        except (verify_parallel.Fallback, BundleError, UnicodeDecodeError):
            pass  # the serial path names the problem
    try:
        with open(path, encoding="utf-8") as fh:
            return verify_bundle(fh, public_key, held, progress, policy=policy,
                                 structural=structural)
    except UnicodeDecodeError:  # a bundle is UTF-8 text, every line of it
        raise BundleError("the bundle is not UTF-8 text (a byte no UTF-8 character "
                          "holds)") from None


def trusted_checkpoint(path: str) -> str:
    """The signed note a trusted-checkpoint file holds: the note itself (what
    `baton audit checkpoint` prints), or the JSON that GET /api/v1/audit/checkpoint answers,
    whose `note` field is that note."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    if not text.lstrip().startswith("{"):
        return text
    try:
        note = json.loads(text).get("note")
    except (ValueError, AttributeError, RecursionError):
        note = None
    if not isinstance(note, str):
        raise BundleError(f"{path}: JSON without a checkpoint `note`; save the signed note "
                          "(`baton audit checkpoint`) or GET /api/v1/audit/checkpoint's "
                          "JSON as it is")
    return note


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: prints the outcome; exit 0 only when everything verifies."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if any(a == "--proof" or a.startswith("--proof=") for a in args_list):
        return proof_check.main(args_list)
    parser = argparse.ArgumentParser(prog="python -m audit.verifier",
                                     description="Verify a Baton ledger export offline.")
    parser.add_argument("bundle")
    parser.add_argument("--public-key", help="verifier key file (NAME+ID+KEY)")
    parser.add_argument("--trusted-checkpoint", action="append", default=[],
                        help="a checkpoint you held before (repeatable): the signed note "
                             "(baton audit checkpoint) or the JSON of GET "
                             "/api/v1/audit/checkpoint")
    parser.add_argument("--witness-policy",
                        help="witness policy file (c2sp.org/tlog-policy): the newest "
                             "checkpoint must meet its quorum")
    parser.add_argument("--structural", action="store_true",
                        help="check the ledger's structure only, not content or the "
                             "fields repeated beside the signed bytes")
    parser.add_argument("--access-at", metavar="T",
                        help="after verifying, print who held which role and team at "
                             "instant T (RFC 3339; audit/verifier/access_report.py)")
    parser.add_argument("--jobs", type=int, default=verify_parallel.cores(),
                        help="processes for a large bundle (default: the cores here)")
    args = parser.parse_args(args_list)
    try:
        vkey = signed_note.read_verifier_key(args.public_key) if args.public_key else None
        policy = load_policy(args.witness_policy) if args.witness_policy else None
        trusted = [trusted_checkpoint(path) for path in args.trusted_checkpoint]
        report = verify_path(args.bundle, vkey, trusted, progress=sys.stderr,
                             policy=policy, structural=args.structural,
                             jobs=max(1, args.jobs))
    except (OSError, UnicodeDecodeError, AuditError, KeyFileError, PolicyFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    status = print_report(report)
    if status == 0 and args.access_at is not None:
        return access_report.main(args.bundle, args.access_at)
    return status


def print_report(report: Report, out: TextIO | None = None) -> int:
    """Print a report; returns the exit status (0 ok, 1 tampered)."""
    out = out or sys.stdout
    for line in report.notes:
        print(f"note: {line}", file=sys.stderr)
    if report.ok:
        warned = f" ({len(report.warnings)} warning)" if report.warnings else ""
        checked = ("structure only: content and repeated fields not checked"
                   if report.structural else
                   f"{report.contents} content fields verified, {report.erased} erased")
        print(f"OK: {report.events} events, {report.checkpoints} checkpoints "
              f"({report.trusted} trusted), {checked}{warned}", file=out)
        for line in report.warnings:
            print(f"warning: {line}", file=out)
        for line in report.witnesses:
            print(f"witnesses: {line}", file=out)
        return 0
    print(f"FAILED: {report.problems[0]}", file=out)
    for line in report.witnesses:
        print(f"witnesses: {line}", file=out)
    return 1


if __name__ == "__main__":
    sys.exit(main())
