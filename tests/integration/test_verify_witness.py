"""The offline verifier with a witness policy (issue 19): the export carries each
checkpoint's cosignatures, gathered here from two real witnesses (audit.log.witness, real
Ed25519 keys, consistency proofs from the stored log); the newest checkpoint must meet
the quorum, and the report names who signed it and who did not."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.log import cosignature, cosignatures, ledger, merkle, signed_note, witness
from audit.reads.export import write_binary_bundle, write_bundle
from audit.verifier.verify import Report, main, verify_bundle, verify_path
from tests import bundle_layouts
from tests.integration.conftest import Ledger

ORIGIN = "baton.test/ledger"


class Witnesses:
    """Two witnesses, each with its own key and state file."""

    def __init__(self, tmp: Path, led: Ledger):
        self.led = led
        self.w = {name: witness.Witness(f"{name}.example", Ed25519PrivateKey.generate(),
                                        [led.signer.vkey], tmp / f"{name}.state",
                                        clock=lambda: 1.8e9)
                  for name in ("w1", "w2")}
        self.policy = tmp / "policy"
        self.policy.write_text(f"log {led.signer.vkey}\n" + "".join(
            f"witness {name} {w.vkey}\n" for name, w in self.w.items())
            + "group both all w1 w2\nquorum both\n")

    def cosign_newest(self, *names: str) -> int:
        """Show the log's newest checkpoint to these witnesses, as the worker does, and
        keep their cosignatures; returns its size."""
        with self.led.engine.begin() as conn:
            note = ledger.latest_checkpoint(conn)
            size = signed_note.open_note(note, self.led.signer.vkey).size
            for name in names:
                cosigner = cosignature.parse_vkey(self.w[name].vkey)
                old = cosignatures.witnessed_size(conn, cosigner)
                proof = ([] if old in (0, size) else
                         merkle.consistency_proof(old, size, ledger.subtree_hasher(conn)))
                answer = self.w[name].add_checkpoint(witness.request_body(old, proof, note))
                assert answer.status == 200, answer.body
                cosignatures.add(conn, size, cosigner, answer.body, self.led.now)
        return size

    def close(self) -> None:
        for w in self.w.values():
            w.close()


@pytest.fixture
def wit(led: Ledger, tmp_path: Path) -> Any:
    made = Witnesses(tmp_path, led)
    yield made
    made.close()


LAYOUT = 2  # the layout check() writes: every test runs with each (the fixture below)


@pytest.fixture(autouse=True, params=bundle_layouts.LAYOUTS, ids=lambda n: f"format{n}")
def layout(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(f"{__name__}.LAYOUT", request.param)
    return int(request.param)


def export(led: Ledger) -> list[dict[str, Any]]:
    out = io.StringIO()
    with led.engine.connect() as conn:
        write_bundle(conn, out, ORIGIN, led.signer.vkey, led.now, bundle_format=1)
    return bundle_layouts.items(out.getvalue())  # written in LAYOUT by check()


def check(led: Ledger, wit: Witnesses, items: list[dict[str, Any]],
          policy: bool = True) -> Report:
    from audit.log.witness_policy import load

    return verify_bundle(bundle_layouts.lines(items, LAYOUT),
                         led.signer.vkey, policy=load(wit.policy) if policy else None)


def test_the_export_carries_cosignatures_and_verifies_with_the_policy(
        led: Ledger, wit: Witnesses) -> None:
    led.lifecycle("esc-a")
    first = wit.cosign_newest("w1", "w2")
    led.lifecycle("esc-b")
    size = wit.cosign_newest("w1", "w2")  # a consistency proof from `first`
    assert size > first
    led.open("esc-c")  # an event after the newest checkpoint
    items = export(led)
    newest = [i for i in items if i["type"] == "checkpoint"][-1]
    assert len(newest["cosignatures"]) == 2
    report = check(led, wit, items)
    assert report.ok, report.problems
    assert report.witnesses[0] == (f"the newest checkpoint (size {size}) meets the quorum "
                                   "'both': cosigned by w1, w2; not by none missing")
    sizes = [signed_note.open_note(i["note"], led.signer.vkey).size
             for i in items if i["type"] == "checkpoint"]
    short = [n for n in sizes if n not in (first, size)]
    assert short, "older checkpoints that no witness saw"
    assert report.witnesses[1] == (
        f"{len(short)} older checkpoints of {len(sizes)} lack the quorum (sizes "
        f"{', '.join(map(str, short))}); the newest one vouches for the history before them")
    events = report.events
    assert report.warnings == [f"events {size}..{events - 1} come after the newest "
                               "checkpoint: no witness has vouched for them yet"]


def test_a_newest_checkpoint_without_the_quorum_fails_naming_who_signed(
        led: Ledger, wit: Witnesses) -> None:
    led.lifecycle("esc-a")
    size = wit.cosign_newest("w1")  # w2 is down
    report = check(led, wit, export(led))
    assert report.problems == [f"checkpoint at size {size} (the newest) lacks the witness "
                               "quorum 'both': cosigned by w1; not by w2"]
    wit.cosign_newest("w2")
    assert check(led, wit, export(led)).ok
    led.lifecycle("esc-b")  # newer checkpoints, not yet shown to any witness
    newer = signed_note.open_note(
        [i for i in export(led) if i["type"] == "checkpoint"][-1]["note"],
        led.signer.vkey).size
    assert check(led, wit, export(led)).problems == [
        f"checkpoint at size {newer} (the newest) lacks the witness quorum 'both': "
        "cosigned by no witness; not by w1, w2"]


def test_a_bundle_without_cosignatures_verifies_only_without_a_policy(
        led: Ledger, wit: Witnesses) -> None:
    led.lifecycle("esc-a")
    wit.cosign_newest("w1", "w2")
    items = export(led)
    for item in items:
        item.pop("cosignatures", None)  # a bundle exported before they were kept
    assert check(led, wit, items, policy=False).ok
    assert "cosigned by no witness; not by w1, w2" in check(led, wit, items).problems[0]


def test_a_history_rewritten_and_resigned_with_the_logs_own_key_lacks_the_quorum(
        led: Ledger, wit: Witnesses) -> None:
    """Whoever holds the log's key can re-sign a rewritten history, and keep the old
    cosignature lines beside it: they do not verify on the new roots."""
    led.lifecycle("esc-a")
    size = wit.cosign_newest("w1", "w2")
    items = export(led)
    chain, rng, out = merkle.GENESIS, merkle.CompactRange(), []
    kept = {signed_note.open_note(i["note"], led.signer.vkey).size: i["cosignatures"]
            for i in items if i["type"] == "checkpoint"}
    for item in items:
        if item["type"] == "event":
            body = base64.b64decode(item["bytes"]).replace(b'"fiona"', b'"bobby"')
            leaf = merkle.leaf_hash(body)
            new_chain = merkle.chain_hash(chain, leaf)
            item = {**item, "bytes": base64.b64encode(body).decode(),
                    "leaf_hash": leaf.hex(), "prev_chain": chain.hex(),
                    "chain_hash": new_chain.hex()}
            chain = new_chain
            rng.append(leaf)
        elif item["type"] == "checkpoint":
            continue
        out.append(item)
    out[1:1] = [{"type": "checkpoint", "note": signed_note.sign(
        ORIGIN, n, merkle.root_of([merkle.leaf_hash(base64.b64decode(e["bytes"]))
                                   for e in out if e["type"] == "event"][:n]),
        led.signer.key, ORIGIN), "cosignatures": lines} for n, lines in kept.items()]
    assert check(led, wit, out, policy=False).ok, "the log's own key re-signs anything"
    assert check(led, wit, out).problems == [
        f"checkpoint at size {size} (the newest) lacks the witness quorum 'both': "
        "cosigned by no witness; not by w1, w2"]


def test_the_command_line_with_a_policy(led: Ledger, wit: Witnesses, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    led.lifecycle("esc-a")
    size = wit.cosign_newest("w1", "w2")
    bundle, key = tmp_path / "bundle.jsonl", tmp_path / "key.pub"
    with led.engine.connect() as conn, open(bundle, "w", encoding="utf-8") as fh:
        write_bundle(conn, fh, ORIGIN, led.signer.vkey, led.now)
    key.write_text(led.signer.vkey + "\n")
    args = [str(bundle), "--public-key", str(key), "--witness-policy", str(wit.policy)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"witnesses: the newest checkpoint (size {size}) meets the quorum 'both'" in out
    wit.policy.write_text("quorum nobody\n")
    assert main(args) == 2
    assert "error: line 1: 'nobody' is not defined before the quorum" in \
        capsys.readouterr().err
    other = signed_note.verifier_key(ORIGIN, Ed25519PrivateKey.generate().public_key())
    wit.policy.write_text(f"log {other}\nquorum none\n")
    assert main(args) == 1
    assert capsys.readouterr().out == (f"FAILED: the witness policy's key for {ORIGIN!r} "
                                       "is not the public key given\n")


def test_the_binary_export_verifies_with_the_policy_on_one_core_and_two(
        led: Ledger, wit: Witnesses, tmp_path: Path) -> None:
    from audit.log.witness_policy import load

    for name in ("esc-a", "esc-b", "esc-c"):
        led.lifecycle(name)
    size = wit.cosign_newest("w1", "w2")
    path = tmp_path / "bundle.bin"
    with led.engine.connect() as conn, open(path, "wb") as fh:
        written = write_binary_bundle(conn, fh, ORIGIN, led.signer.vkey, led.now)
    jsonl = check(led, wit, export(led))
    for jobs in (1, 2):
        report = verify_path(str(path), led.signer.vkey, policy=load(wit.policy),
                             jobs=jobs, parallel_from=0)
        assert report.ok and report.structural, report.problems
        assert (report.events, report.checkpoints) == (written, jsonl.checkpoints)
        assert f"(size {size}) meets the quorum" in report.witnesses[0]


def test_proof_files_go_to_the_proof_checker(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--proof", str(tmp_path / "missing.tlog-proof")])
    assert code == 2
    err = capsys.readouterr().err
    assert "missing.tlog-proof" in err and "bundle" not in err
