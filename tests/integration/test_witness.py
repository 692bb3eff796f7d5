"""A witness (c2sp.org/tlog-witness) on its state file: every status code of
add-checkpoint, durable state, one process per state file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.errors import KeyFileError
from audit.log import cosignature, merkle, signed_note, witness

ORIGIN = "example.com/log"
LOG_KEY = Ed25519PrivateKey.generate()
VKEY = signed_note.verifier_key(ORIGIN, LOG_KEY.public_key())
LEAVES = [merkle.leaf_hash(str(i).encode()) for i in range(40)]


def note(size: int, leaves: list[bytes] = LEAVES, key: Ed25519PrivateKey = LOG_KEY) -> str:
    return signed_note.sign(ORIGIN, size, merkle.root_of(leaves[:size]), key, ORIGIN)


def proof(old: int, new: int, leaves: list[bytes] = LEAVES) -> list[bytes]:
    return merkle.consistency_proof(old, new, lambda a, b: merkle.root_of(leaves[a:b]))


@pytest.fixture
def w(tmp_path: Path) -> Iterator[witness.Witness]:
    name, key = "w1.example", Ed25519PrivateKey.generate()
    made = witness.Witness(name, key, [VKEY], tmp_path / "state.json", clock=lambda: 1.7e9)
    yield made
    made.close()


def add(w: witness.Witness, old: int, prf: list[bytes], text: str) -> witness.Answer:
    return w.add_checkpoint(witness.request_body(old, prf, text))


def test_cosigns_a_first_checkpoint_and_then_only_what_extends_it(w: witness.Witness) -> None:
    first = add(w, 0, [], note(10))
    assert first.status == 200 and first.body.startswith("\u2014 w1.example ")
    cosigner = cosignature.parse_vkey(w.vkey)
    assert cosignature.verify(note(10) + first.body, cosigner) == 1700000000
    assert add(w, 10, proof(10, 25), note(25)).status == 200
    assert add(w, 25, [], note(25)).status == 200, "the same checkpoint again"
    assert w.latest(ORIGIN) is not None and "\n25\n" in w.latest(ORIGIN)


def test_the_protocols_status_codes(w: witness.Witness, tmp_path: Path) -> None:
    other = Ed25519PrivateKey.generate()
    assert add(w, 0, [], signed_note.sign("elsewhere/log", 1, bytes(32), other,
                                           "elsewhere/log")).status == 404
    assert add(w, 0, [], note(10, key=other)).status == 403, "not the log's key"
    tampered = note(10).replace("\n10\n", "\n11\n")
    assert add(w, 0, [], tampered).status == 403, "a signature that fails"
    assert add(w, 11, [], note(10)).status == 400, "old size beyond the checkpoint"
    assert w.add_checkpoint("garbage").status == 400
    assert add(w, 0, [proof(10, 20)[0]], note(20)).status == 422, "a proof from size 0"
    empty_wrong = signed_note.sign(ORIGIN, 0, bytes(32), LOG_KEY, ORIGIN)
    assert add(w, 0, [], empty_wrong).status == 422, "size 0 has the empty root"
    assert add(w, 0, [], note(10)).status == 200
    conflict = add(w, 0, [], note(20))
    assert (conflict.status, conflict.body, conflict.content_type) == (
        409, "10\n", "text/x.tlog.size")
    assert add(w, 5, proof(5, 20), note(20)).status == 409
    forked = [*LEAVES[:3], merkle.leaf_hash(b"rewritten"), *LEAVES[4:]]
    assert add(w, 10, proof(10, 20, forked), note(20, forked)).status == 422, "a fork"
    assert add(w, 10, [], note(10, forked)).status == 422, "same size, another root"
    assert add(w, 10, proof(10, 20)[:-1], note(20)).status == 422, "a short proof"
    assert add(w, 10, proof(10, 20), note(20)).status == 200
    assert add(w, 20, [], note(15)).status == 400, "a rollback"


def test_state_is_stored_before_answering_and_survives(tmp_path: Path) -> None:
    name, key = "w1.example", Ed25519PrivateKey.generate()
    state = tmp_path / "state.json"
    first = witness.Witness(name, key, [VKEY], state)
    assert add(first, 0, [], note(10)).status == 200
    stored = json.loads(state.read_text())["logs"][ORIGIN]
    assert stored["size"] == 10
    with pytest.raises(KeyFileError):
        witness.Witness(name, key, [VKEY], state)  # one process per state file
    first.close()
    again = witness.Witness(name, key, [VKEY], state)
    try:
        assert add(again, 0, [], note(12)).body == "10\n"
        assert add(again, 10, proof(10, 12), note(12)).status == 200
    finally:
        again.close()


def test_the_key_file_holds_the_name(tmp_path: Path) -> None:
    line, vkey = witness.new_key("audit.example/w1")
    (tmp_path / "k").write_text(line + "\n")
    name, key = witness.load_key(tmp_path / "k")
    assert name == "audit.example/w1"
    assert cosignature.Cosigner(name, cosignature.public_bytes(key)).vkey == vkey
    (tmp_path / "bad").write_text(line.replace("audit.example/w1", "someone/else") + "\n")
    with pytest.raises(KeyFileError):
        witness.load_key(tmp_path / "bad")
    with pytest.raises(KeyFileError):
        witness.new_key("has space")
