"""The one-event proof's format (c2sp.org/tlog-proof@v1) and its offline check, on a log
built in memory: a proof holds; a changed or missing character anywhere in it does not;
the witness policy's quorum is met, or the check names who signed."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.log import cosignature, merkle, signed_note, tlog_proof, witness_policy
from audit.log.canonical import canonical_bytes
from audit.verifier import proof_check

ORIGIN = "baton.test/log"
LOG_KEY = Ed25519PrivateKey.generate()
VKEY = signed_note.verifier_key(ORIGIN, LOG_KEY.public_key())
WITNESS_KEYS = {name: Ed25519PrivateKey.generate() for name in ("w1", "w2", "w3")}
EVENTS = [canonical_bytes({"seq": i, "escalation_id": "esc-7", "action": "acknowledge",
                           "actor": "alice", "role": "agent", "at": "2026-03-02T09:00:00Z",
                           "payload": {"note": {"commitment": "ab" * 32, "list": False}}})
          for i in range(13)]
LEAVES = [merkle.leaf_hash(e) for e in EVENTS]
STAMP = 1_772_442_000


def cosigner(name: str) -> cosignature.Cosigner:
    return cosignature.Cosigner(f"{name}.example", cosignature.public_bytes(WITNESS_KEYS[name]))


def policy(quorum: str, *names: str) -> witness_policy.TrustPolicy:
    lines = [f"log {VKEY}"] + [f"witness {n} {cosigner(n).vkey}" for n in names]
    return witness_policy.parse("\n".join([*lines, quorum, ""]))


BOTH = policy("group both all w1 w2\nquorum both", "w1", "w2")


def make(seq: int = 5, size: int = 13, witnesses: tuple[str, ...] = ("w1", "w2"),
         events: list[bytes] = EVENTS) -> str:
    leaves = [merkle.leaf_hash(e) for e in events]
    note = signed_note.sign(ORIGIN, size, merkle.root_of(leaves[:size]), LOG_KEY, ORIGIN)
    for name in witnesses:
        note += cosignature.sign(note, WITNESS_KEYS[name], f"{name}.example", STAMP)
    path = merkle.inclusion_proof(seq, size, lambda a, b: merkle.root_of(leaves[a:b]))
    return tlog_proof.render(tlog_proof.Proof(seq, events[seq], tuple(path), note))


def test_the_format_is_the_specs_lines() -> None:
    text = make()
    lines = text.split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1"
    assert lines[1].startswith("extra ") and lines[2] == "index 5"
    hashes = lines[3:lines.index("")]
    assert len(hashes) == 4, "a tree of 13: four siblings from leaf 5 up"
    assert text.endswith("\n") and "\n\nbaton.test/log\n13\n" in text
    parsed = tlog_proof.parse(text)
    assert (parsed.index, parsed.extra) == (5, EVENTS[5])
    assert tlog_proof.render(parsed) == text


def test_a_proof_holds_and_says_what_the_event_is() -> None:
    outcome = proof_check.check(make(), VKEY, BOTH)
    assert (outcome.origin, outcome.size, outcome.quorum) == (ORIGIN, 13, "both")
    assert outcome.cosigned == {"w1": STAMP, "w2": STAMP}
    out = io.StringIO()
    proof_check.print_outcome(outcome, out)
    shown = out.getvalue()
    assert "seq 5, escalation esc-7, acknowledge by alice (agent) at 2026-03-02T09:00:00Z" \
        in shown
    assert "quorum 'both' met; cosigned by w1 (at 2026-03-02T09:00:00Z), w2" in shown


def test_every_changed_or_missing_character_fails() -> None:
    text = make()
    assert proof_check.check(text, VKEY, BOTH)
    tried = 0
    for i, c in enumerate(text):
        for changed in {"A" if c != "A" else "B", chr(ord(c) ^ 1), ""}:
            with pytest.raises(proof_check.Failed):
                proof_check.check(text[:i] + changed + text[i + 1:], VKEY, BOTH)
            tried += 1
    assert tried > 2 * len(text)


def test_the_first_and_last_leaves_and_a_tree_of_one() -> None:
    for seq, size in ((0, 13), (12, 13), (0, 1), (7, 8)):
        assert proof_check.check(make(seq, size), VKEY, BOTH).event["seq"] == seq


@pytest.mark.parametrize(("text", "reason"), [
    (make(5, 13).replace("index 5", "index 6"), "not proven in the checkpoint of size 13"),
    (make(5, 13).replace("index 5", "index 05"), "no leading zeroes"),
    (make(5, 13).replace("index 5\n", "index 5\n\n"), "unknown checkpoint origin"),
    ("\n".join(line for line in make(5, 13).split("\n") if not line.startswith("extra")),
     "no event bytes"),
    (make(5, 13).replace("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2"),
     "not a c2sp.org/tlog-proof@v1 proof"),
    (make(5, 13)[:-1], "one newline"),
    (make(5, 13) + "garbage\n", "not a signature"),
])
def test_what_fails_says_why(text: str, reason: str) -> None:
    with pytest.raises(proof_check.Failed, match=reason):
        proof_check.check(text, VKEY, BOTH)


def test_the_quorum_names_who_signed_and_who_did_not() -> None:
    with pytest.raises(proof_check.Failed, match=r"quorum 'both' is not met: cosigned by w1;"
                                                 r" not by w2"):
        proof_check.check(make(witnesses=("w1",)), VKEY, BOTH)
    with pytest.raises(proof_check.Failed, match="cosigned by no witness of the policy"):
        proof_check.check(make(witnesses=()), VKEY, BOTH)
    any_of = policy("group some any w1 w2\nquorum some", "w1", "w2")
    assert proof_check.check(make(witnesses=("w2",)), VKEY, any_of).cosigned == {"w2": STAMP}
    only_w1 = policy("quorum w1", "w1")
    outcome = proof_check.check(make(witnesses=("w1", "w3")), VKEY, only_w1)
    assert outcome.unchecked == ["w3.example"], "a key outside the policy is ignored"


def test_a_cosignature_over_another_checkpoint_fails() -> None:
    text = make()
    other = make(size=12)
    w2_line = next(line for line in other.split("\n") if line.startswith("\u2014 w2."))
    lines = [w2_line if line.startswith("\u2014 w2.") else line for line in text.split("\n")]
    with pytest.raises(proof_check.Failed, match=r"witness w2 \(w2.example\) does not verify"):
        proof_check.check("\n".join(lines), VKEY, BOTH)


def test_another_log_key_or_no_policy() -> None:
    other = signed_note.verifier_key(ORIGIN, Ed25519PrivateKey.generate().public_key())
    with pytest.raises(proof_check.Failed, match="not signed by the trusted key"):
        proof_check.check(make(), other, BOTH)
    outcome = proof_check.check(make(), VKEY, None)
    assert outcome.quorum is None and outcome.unchecked == ["w1.example", "w2.example"]
    out = io.StringIO()
    proof_check.print_outcome(outcome, out)
    assert "warning: no --witness-policy: only the log's own key vouches" in out.getvalue()


def test_bytes_whose_seq_is_not_the_index_fail() -> None:
    swapped = [EVENTS[1], EVENTS[0], *EVENTS[2:]]
    with pytest.raises(proof_check.Failed, match="the event's bytes say seq 1, but the proof "
                                                 "is for index 0"):
        proof_check.check(make(0, 13, events=swapped), VKEY, BOTH)


def test_the_checker_needs_only_stdlib_and_cryptography() -> None:
    code = ("import sys, audit.verifier.proof_check; print(sorted({m.split('.')[0] for m in "
            "sys.modules} & {'sqlalchemy', 'flask', 'workflow', 'api', 'click'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parents[2])
    assert out.stdout.strip() == "[]"
