"""Offline check of a one-event proof (c2sp.org/tlog-proof@v1, as `baton audit proof SEQ`
writes it): standard library plus `cryptography` only, like audit/verifier/verify.py.

    python -m audit.verifier --proof FILE --public-key F [--witness-policy P]

Checks the checkpoint's signature with the log's verifier key (a C2SP vkey file, or the
policy's `log` line for the checkpoint's origin when no key file is given); the event's
canonical bytes (the proof's `extra`) against the checkpoint's root and size through the
RFC 9162 inclusion proof; and, with a witness policy (c2sp.org/tlog-policy), every
cosignature line of the policy's witnesses and the policy's quorum, naming who signed.
Then prints what the event is: seq, escalation, action, actor, role and time, from the
signed bytes (which hold commitments, never personal text).

Exit 0 only when all hold; 1 with one `FAILED:` line naming the first thing that does not
(a changed character anywhere in the file is one); 2 when the key, policy or proof file
cannot be read. Without a policy, cosignatures cannot be checked and the output says so:
the log's own key is then all that vouches for the event.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from audit.errors import KeyFileError, NoteError
from audit.log import cosignature, event_record, merkle, signed_note, tlog_proof, witness_policy
from audit.log.witness_policy import PolicyFileError, TrustPolicy

DASH = signed_note.DASH


class Failed(Exception):
    """The proof does not hold: the one-line reason."""


@dataclass
class Outcome:
    """What a proof that holds shows."""

    origin: str
    size: int
    event: dict[str, Any]
    cosigned: dict[str, int] = field(default_factory=dict)  # witness -> timestamp
    quorum: str | None = None  # the policy's quorum, met (None: no policy given)
    unchecked: list[str] = field(default_factory=list)  # signature lines not checked


def _signature_lines(checkpoint: str) -> tuple[str, list[tuple[str, str, bytes]]]:
    """The note's text and its signature lines as (line, name, raw signature)."""
    head, sep, sigs = checkpoint.partition("\n\n")
    if not sep:
        raise Failed("the checkpoint is not a signed note (no blank line before its "
                     "signatures)")
    found = []
    for line in sigs.split("\n")[:-1]:
        name, space, b64 = line[len(DASH):].partition(" ")
        if not line.startswith(DASH) or not name or not space:
            raise Failed(f"the checkpoint has a line that is not a signature: {line[:40]!r}")
        try:
            raw = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise Failed(f"the signature line of {name} is not base64") from None
        if base64.b64encode(raw).decode() != b64:
            raise Failed(f"the signature line of {name} is not base64 in its canonical "
                         "spelling")
        found.append((line, name, raw))
    return head + "\n", found


def _event(data: bytes, index: int) -> dict[str, Any]:
    try:
        obj = event_record.parse(data)
    except event_record.RecordError as exc:
        raise Failed(f"the event bytes are {exc}") from None
    said = event_record.seq_of(obj)
    if type(said) is not int or said != index:
        raise Failed(f"the event's bytes say seq {said!r}, but the proof is for "
                     f"index {index}")
    try:  # one event alone: a policy reference (format 2) is shown as the seq it names
        return event_record.record_of(obj, lambda ref: f"policy-applied at seq {ref}")
    except event_record.RecordError as exc:
        raise Failed(f"the event bytes: {exc}") from None


def check(text: str, vkey: str, policy: TrustPolicy | None = None) -> Outcome:
    """Check a proof's text; Failed with the reason at the first thing that does not
    hold."""
    try:
        proof = tlog_proof.parse(text)
    except tlog_proof.ProofFormatError as exc:
        raise Failed(str(exc)) from None
    if proof.extra is None:
        raise Failed("the proof carries no event bytes (no extra line): it cannot show "
                     "which event it proves")
    log_name, log_kid, _ = signed_note.parse_verifier_key(vkey)
    try:
        cp = signed_note.open_note(proof.checkpoint, vkey, log_name)
    except NoteError as exc:
        raise Failed(f"checkpoint: {exc}") from None
    note_text, lines = _signature_lines(proof.checkpoint)
    # Signature lines carry the cosigner's key name; the policy names its witnesses.
    witnesses = {} if policy is None else {w.cosigner.name: w
                                           for w in policy.witnesses.values()}
    outcome = Outcome(cp.origin, cp.size, {})
    for line, name, raw in lines:
        single = f"{note_text}\n{line}\n"
        if name == log_name and raw[:4] == log_kid:
            try:  # every line of the log's key must hold, not only the first
                signed_note.open_note(single, vkey, log_name)
            except NoteError:
                raise Failed(f"checkpoint at size {cp.size}: a signature line of the log's "
                             "key does not verify") from None
        elif name in witnesses and raw[:4] == witnesses[name].cosigner.key_id:
            w = witnesses[name]
            stamp = cosignature.verify(single, w.cosigner)
            if stamp is None:
                raise Failed(f"the cosignature of witness {w.name} ({name}) does not verify "
                             "over this checkpoint")
            outcome.cosigned[w.name] = stamp
        else:
            outcome.unchecked.append(name)
    try:
        merkle.verify_inclusion(proof.index, cp.size, merkle.leaf_hash(proof.extra),
                                proof.hashes, cp.root)
    except merkle.ProofError as exc:
        raise Failed(f"seq {proof.index}: the event is not proven in the checkpoint of size "
                     f"{cp.size}: {exc}") from None
    outcome.event = _event(proof.extra, proof.index)
    if policy is not None:
        if not policy.met(set(outcome.cosigned)):
            who = ", ".join(sorted(outcome.cosigned)) or "no witness of the policy"
            missing = ", ".join(sorted(set(policy.witnesses) - set(outcome.cosigned)))
            raise Failed(f"checkpoint at size {cp.size}: the witness policy's quorum "
                         f"{policy.quorum!r} is not met: cosigned by {who}"
                         + (f"; not by {missing}" if missing else ""))
        outcome.quorum = policy.quorum
    return outcome


def _when(stamp: int) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def print_outcome(outcome: Outcome, out: TextIO | None = None) -> None:
    """What the proof shows, for people."""
    out = out or sys.stdout
    e = outcome.event
    print(f"OK: seq {e['seq']} is in the log {outcome.origin} at size {outcome.size}, "
          "under the log's signature", file=out)
    print(f"event: seq {e['seq']}, escalation {e.get('escalation_id') or '-'}, "
          f"{e.get('action')} by {e.get('actor')} ({e.get('role') or '-'}) at {e.get('at')}",
          file=out)
    if outcome.quorum is not None:
        signed = ", ".join(f"{name} (at {_when(t)})" for name, t in
                           sorted(outcome.cosigned.items())) or "none needed"
        print(f"witnesses: quorum {outcome.quorum!r} met; cosigned by {signed}", file=out)
        if outcome.unchecked:
            print("note: signature lines of keys outside the policy were ignored: "
                  f"{', '.join(outcome.unchecked)}", file=out)
    else:
        extra = (f" ({len(outcome.unchecked)} cosignature line"
                 f"{'s' if len(outcome.unchecked) != 1 else ''} not checked: "
                 f"{', '.join(outcome.unchecked)})" if outcome.unchecked else "")
        print(f"warning: no --witness-policy: only the log's own key vouches for this "
              f"event{extra}", file=out)


def _log_key(args: argparse.Namespace, policy: TrustPolicy | None, text: str) -> str:
    """The log's verifier key: the file given, else the policy's for the proof's origin;
    a key file and a policy that disagree about the log are refused."""
    origin = next((line for line in text.split("\n\n", 1)[-1].split("\n")[:1]), "")
    named = policy.log_vkey(origin) if policy is not None else None
    if args.public_key:
        vkey = signed_note.read_verifier_key(args.public_key)
        if policy is not None and policy.logs and named is None:
            raise KeyFileError(f"the witness policy names no log {origin!r}")
        if named is not None and (signed_note.parse_verifier_key(named)[:2]
                                  != signed_note.parse_verifier_key(vkey)[:2]):
            raise KeyFileError(f"the witness policy names another key for the log {origin!r}"
                               " than --public-key")
        return vkey
    if named is None:
        raise KeyFileError("no log key: pass --public-key (or a --witness-policy whose "
                           "`log` line names the proof's log)")
    return named


def main(argv: list[str]) -> int:
    """`python -m audit.verifier --proof FILE --public-key F [--witness-policy P]`: exit 0
    only when the proof holds."""
    parser = argparse.ArgumentParser(
        prog="python -m audit.verifier",
        description="Check a one-event proof (c2sp.org/tlog-proof@v1) offline.")
    parser.add_argument("--proof", required=True, help="the proof file (.tlog-proof)")
    parser.add_argument("--public-key", help="the log's verifier key file (NAME+ID+KEY)")
    parser.add_argument("--witness-policy", help="a c2sp.org/tlog-policy file: its "
                        "witnesses' cosignatures must meet its quorum")
    args = parser.parse_args(argv)
    try:
        policy = witness_policy.load(args.witness_policy) if args.witness_policy else None
        raw = Path(args.proof).read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            print("FAILED: the proof is not UTF-8 text", file=sys.stdout)
            return 1
        vkey = _log_key(args, policy, text)
    except (OSError, KeyFileError, PolicyFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        outcome = check(text, vkey, policy)
    except Failed as exc:
        print(f"FAILED: {exc}", file=sys.stdout)
        return 1
    print_outcome(outcome)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
