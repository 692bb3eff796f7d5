"""Cosignatures (c2sp.org/tlog-cosignature), add-checkpoint bodies (tlog-witness) and
trust policies (tlog-policy), against the specifications' own examples where they give
them."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from audit.errors import KeyFileError
from audit.log import cosignature, signed_note, witness, witness_policy

# tlog-checkpoint's and tlog-cosignature's example checkpoint and cosignature line.
CHECKPOINT = ("example.com/behind-the-sofa\n20852163\n"
              "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")
LOG_SIG = ("\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe"
           "4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n")
COSIG = ("\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZ"
         "CB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n")


def test_the_specs_signed_message() -> None:
    assert cosignature.message(CHECKPOINT, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
        b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")
    note = CHECKPOINT + "\n" + LOG_SIG + COSIG
    assert cosignature.note_text(note) == CHECKPOINT


def test_the_specs_cosignature_is_key_id_timestamp_signature() -> None:
    raw = base64.b64decode(COSIG.split(" ")[2])
    assert len(raw) == 4 + 8 + 64  # timestamped_signature after the key id
    assert int.from_bytes(raw[4:12], "big") == 1679315147  # the example's time line


def test_the_key_id_uses_type_0x04() -> None:
    key = Ed25519PrivateKey.generate()
    public = cosignature.public_bytes(key)
    expected = hashlib.sha256(b"witness.example/w1\n\x04" + public).digest()[:4]
    assert cosignature.key_id("witness.example/w1", public) == expected
    assert expected != signed_note.key_id("witness.example/w1", public), "not the 0x01 id"
    cosigner = cosignature.Cosigner("witness.example/w1", public)
    assert cosignature.parse_vkey(cosigner.vkey) == cosigner
    assert cosigner.vkey.split("+")[1] == expected.hex()
    with pytest.raises(KeyFileError):  # a log key (0x01) is not a cosigner key
        cosignature.parse_vkey(signed_note.verifier_key("log", key.public_key()))


def test_the_specs_signed_note_example_verifies() -> None:
    vkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
    sig = ("Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1"
           "Yu72IneyaQM=")
    name, kid, public = signed_note.parse_verifier_key(vkey)
    raw = base64.b64decode(sig)
    assert raw[:4] == kid == bytes.fromhex("530d903a")
    public.verify(raw[4:], b"This is an example message.\n")


def test_sign_and_verify_a_cosignature() -> None:
    key = Ed25519PrivateKey.generate()
    log_key = Ed25519PrivateKey.generate()
    note = signed_note.sign("example.com/log", 5, bytes(32), log_key, "example.com/log")
    line = cosignature.sign(note, key, "w1.example", 1700000000)
    cosigner = cosignature.Cosigner("w1.example", cosignature.public_bytes(key))
    assert cosignature.verify(note + line, cosigner) == 1700000000
    assert cosignature.verify(note, cosigner) is None
    other = cosignature.Cosigner("w1.example", cosignature.public_bytes(
        Ed25519PrivateKey.generate()))
    assert cosignature.verify(note + line, other) is None, "another key's id: ignored"
    forged = note.replace("\n5\n", "\n6\n") + line
    assert cosignature.verify(forged, cosigner) is None
    raw = base64.b64decode(line.split(" ")[2])
    Ed25519PublicKey.from_public_bytes(cosigner.public).verify(
        raw[12:], b"cosignature/v1\ntime 1700000000\n" + cosignature.note_text(note).encode())


def test_the_specs_add_checkpoint_body_parses() -> None:
    body = ("old 20852014\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
            "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
            "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
            "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\n" + CHECKPOINT + "\n" + LOG_SIG)
    req = witness.parse_request(body)
    assert req.old == 20852014 and len(req.proof) == 4
    assert req.note == CHECKPOINT + "\n" + LOG_SIG
    assert witness.request_body(req.old, req.proof, req.note) == body
    for bad in ("old 01\n\n" + CHECKPOINT, "new 1\n\n" + CHECKPOINT, "old 1\n" + CHECKPOINT,
                "old 1\nnot-base64!\n\n" + CHECKPOINT, "old 1\nAAAA\n\n" + CHECKPOINT,
                "old 1\n" + "AA==\n" * 64 + "\n" + CHECKPOINT):
        with pytest.raises(ValueError):
            witness.parse_request(bad)


def _vkey(name: str) -> str:
    return cosignature.Cosigner(name, cosignature.public_bytes(
        Ed25519PrivateKey.generate())).vkey


def test_the_specs_policy_example_and_its_quorum() -> None:
    log_vkey = signed_note.verifier_key("example.com/log", Ed25519PrivateKey.generate()
                                        .public_key())
    names = ["X1", "X2", "X3", "Y1", "Y2", "Y3"]
    w = {n: f"witness {n} {_vkey(n + '.example')}" for n in names}
    text = f"""# the example of c2sp.org/tlog-policy
log {log_vkey}

{w['X1']}
{w['X2']}
  {w['X3']}   https://x3.example/
group X-witnesses 2 X1 X2 X3

{w['Y1']}
{w['Y2']}
{w['Y3']}
group Y-witnesses any Y1 Y2 Y3

group X-and-Y all X-witnesses Y-witnesses
quorum X-and-Y
"""
    policy = witness_policy.parse(text)
    assert policy.log_vkey("example.com/log") == log_vkey
    assert policy.witnesses["X3"].url == "https://x3.example/"
    assert policy.met({"X1", "X2", "Y3"})
    assert not policy.met({"X1", "Y1", "Y2"}), "one X is not two"
    assert not policy.met({"X1", "X2", "X3"}), "no Y"
    assert witness_policy.parse("quorum none\n").met(set())


@pytest.mark.parametrize("text", [
    "",                                           # no quorum
    "quorum none\nquorum none\n",                 # two
    "quorum W\n",                                 # not defined before
    "witness none {k}\nquorum none\n",            # reserved name
    "witness A {k}\ngroup G 2 A\nquorum G\n",     # k > n
    "witness A {k}\ngroup G 0 A\nquorum G\n",
    "witness A {k}\ngroup G any A A\nquorum G\n",  # a member twice
    "witness A {k}\nwitness A {k2}\nquorum A\n",  # a name twice
    "witness A {k}\nwitness B {k}\nquorum A\n",   # a key twice
    "witness A not-a-key\nquorum A\n",
    "frobnicate\nquorum none\n",
    "quorum none\x0b\n",
])
def test_malformed_policies_are_refused(text: str) -> None:
    with pytest.raises(witness_policy.PolicyFileError):
        witness_policy.parse(text.format(k=_vkey("a.example"), k2=_vkey("b.example")))
