"""`baton audit proof SEQ` on a real ledger, checked offline by audit.verifier.proof_check alone:
the newest checkpoint covering the event (signed when none does), a changed byte in each
part of the proof fails, bad SEQs are one-line errors, a rewritten database gets no proof,
and under a witness policy the witnesses (real `baton witness serve` processes) are asked
and their quorum is met, or the command says who signed and writes nothing."""

from __future__ import annotations

import base64
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from api.cli import main
from audit.errors import ProofUnavailable
from audit.log import cosignatures, proof, signed_note, witness
from audit.store.deflated import unpack
from audit.store.schema import checkpoints
from audit.store.schema import ledger as ledger_table
from audit.verifier import proof_check
from tests.initialised_app import LIFECYCLE, Client, make_client
from tests.integration.conftest import Ledger
from tests.witness_process import start_witness


@pytest.fixture
def client(tmp_path: Path) -> Client:
    """The policy's event, an escalation taken to its debrief, and a second opened."""
    client = make_client(tmp_path)
    eid = client.open()
    for who, action, body in LIFECYCLE:
        assert client.act(eid, who, action, body).status_code == 200
    client.open()
    return client


def env_of(client: Client, **more: str) -> dict[str, str]:
    settings = client.app.extensions["baton"].settings
    return {"BATON_DATABASE_URL": settings["BATON_DATABASE_URL"],
            "BATON_SIGNING_KEY": settings["BATON_SIGNING_KEY"], **more}


def baton_proof(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, ["audit", "proof", *args], env=env)


def vkey_file(client: Client, tmp_path: Path) -> str:
    path = tmp_path / "log.vkey"
    path.write_text(client.app.extensions["baton"].vkey + "\n")
    return str(path)


def check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = proof_check.main(list(argv))
    return code, capsys.readouterr().out


def checkpoint_sizes(client: Client) -> list[int]:
    with client.app.extensions["baton"].engine.connect() as conn:
        return list(conn.execute(select(checkpoints.c.size).order_by(checkpoints.c.size))
                    .scalars())


def log_size(client: Client) -> int:
    with client.app.extensions["baton"].engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(ledger_table)).scalar_one())


def test_a_proof_of_an_event_holds_alone(client: Client, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    size = log_size(client)
    assert checkpoint_sizes(client)[-1] < size, "the newest event is not yet under one"
    out = tmp_path / "newest.tlog-proof"
    made = baton_proof(env_of(client), str(size - 1), "-o", str(out))
    assert made.exit_code == 0, made.output
    assert checkpoint_sizes(client)[-1] == size, "a checkpoint covering it was signed"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    key = vkey_file(client, tmp_path)
    code, shown = check(capsys, "--proof", str(out), "--public-key", key)
    assert code == 0, shown
    assert shown.startswith(f"OK: seq {size - 1} is in the log ")
    assert f"at size {size}" in shown and ", open by alice (agent) at " in shown

    signed = checkpoint_sizes(client)
    older = baton_proof(env_of(client), "2")  # to stdout
    assert older.exit_code == 0
    assert checkpoint_sizes(client) == signed, "covered already: nothing new is signed"
    assert f"\n{size}\n" in older.stdout, "the newest checkpoint, not the first to cover it"
    (tmp_path / "older.tlog-proof").write_text(older.stdout)
    code, shown = check(capsys, "--proof", str(tmp_path / "older.tlog-proof"),
                        "--public-key", key)
    assert code == 0 and ", acknowledge by alice (agent) at " in shown
    assert "warning: no --witness-policy" in shown


def _change(text: str, part: str) -> str:
    """One changed byte in one part of a proof."""
    lines = text.split("\n")
    if part == "event":
        data = base64.b64decode(lines[1][len("extra "):])
        assert b'"alice"' in data
        lines[1] = "extra " + base64.b64encode(data.replace(b'"alice"', b'"alicf"')).decode()
    elif part == "proof hash":
        h = bytearray(base64.b64decode(lines[3]))
        h[0] ^= 1
        lines[3] = base64.b64encode(bytes(h)).decode()
    elif part == "checkpoint":
        at = lines.index("") + 2  # the size line
        lines[at] = str(int(lines[at]) + 1)
    elif part == "log signature":
        at = len(lines) - 2
        name, b64 = lines[at].rsplit(" ", 1)
        sig = bytearray(base64.b64decode(b64))
        sig[-1] ^= 1
        lines[at] = f"{name} {base64.b64encode(bytes(sig)).decode()}"
    return "\n".join(lines)


@pytest.mark.parametrize("part", ["event", "proof hash", "checkpoint", "log signature"])
def test_a_changed_byte_in_each_part_fails(client: Client, tmp_path: Path, part: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    made = baton_proof(env_of(client), "2")
    assert made.exit_code == 0
    path = tmp_path / "changed.tlog-proof"
    path.write_text(_change(made.stdout, part))
    code, shown = check(capsys, "--proof", str(path), "--public-key",
                        vkey_file(client, tmp_path))
    assert code == 1
    assert shown.startswith("FAILED: ") and shown.count("\n") == 1, shown


@pytest.mark.parametrize("seq", ["-1", "abc", "1.5", "", "99", " 2"])
def test_a_bad_seq_is_a_one_line_error(client: Client, tmp_path: Path, seq: str) -> None:
    out = tmp_path / "p.tlog-proof"
    made = baton_proof(env_of(client), seq, "-o", str(out))
    assert made.exit_code != 0
    assert made.stderr.startswith("error: ") and made.stderr.count("\n") == 1, made.stderr
    assert "Traceback" not in made.output and not out.exists()
    if seq == "99":
        assert f"it holds seq 0 to {log_size(client) - 1}" in made.stderr


def test_a_rewritten_database_gets_no_proof(client: Client, tmp_path: Path) -> None:
    assert baton_proof(env_of(client), "2").exit_code == 0  # signs a checkpoint of the whole log
    con = sqlite3.connect(tmp_path / "baton.db")
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
        con.execute(f'DROP TRIGGER "{name}"')
    (body,) = con.execute("SELECT body FROM ledger WHERE seq = 2").fetchone()
    con.execute("UPDATE ledger SET body = ? WHERE seq = 2",
                (unpack(body).replace(b'"alice"', b'"alicf"'),))
    con.commit()
    con.close()
    made = baton_proof(env_of(client), "2")
    assert made.exit_code == 1 and made.stdout == ""
    assert "does not match its checkpoint" in made.stderr


@pytest.fixture
def witnessed(client: Client, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Two witnesses that run (w1, w2) and one that never answers (w3: no URL); the
    policy files `both` (w1 and w2) and `w1-and-w3`."""
    log_vkey = client.app.extensions["baton"].vkey
    procs = []
    lines = [f"log {log_vkey}"]
    try:
        for name in ("w1", "w2"):
            proc, vkey, url = start_witness(tmp_path, name, log_vkey)
            procs.append(proc)
            lines.append(f"witness {name} {vkey} {url}")
        lines.append(f"witness w3 {witness.new_key('w3.example')[1]}")
        (tmp_path / "both").write_text("\n".join([*lines, "group both all w1 w2",
                                                  "quorum both", ""]))
        (tmp_path / "w1-and-w3").write_text("\n".join([*lines, "group pair all w1 w3",
                                                       "quorum pair", ""]))
        yield {"both": str(tmp_path / "both"), "w1-and-w3": str(tmp_path / "w1-and-w3")}
    finally:
        for proc in procs:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=30)
            if proc.stdout is not None:
                proc.stdout.close()


def test_the_witnesses_are_asked_and_their_quorum_is_met(
        client: Client, tmp_path: Path, witnessed: dict[str, str],
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "witnessed.tlog-proof"
    made = baton_proof(env_of(client, BATON_WITNESS_POLICY=witnessed["both"]), "3", "-o", str(out))
    assert made.exit_code == 0, made.output
    assert "witness w1: cosigned" in made.stderr and "witness w2: cosigned" in made.stderr
    key = vkey_file(client, tmp_path)
    code, shown = check(capsys, "--proof", str(out), "--public-key", key,
                        "--witness-policy", witnessed["both"])
    assert code == 0, shown
    assert "witnesses: quorum 'both' met; cosigned by w1 (at " in shown and ", w2 (at " in shown
    code, shown = check(capsys, "--proof", str(out), "--witness-policy", witnessed["both"])
    assert code == 0, "the policy's log line is the log's key when no key file is given"
    verifier = subprocess.run([sys.executable, "-m", "audit.verifier", "--proof", str(out),
                               "--public-key", key, "--witness-policy", witnessed["both"]],
                              capture_output=True, text=True, timeout=60)
    assert verifier.returncode == 0 and verifier.stdout == shown, verifier.stderr

    again = baton_proof(env_of(client, BATON_WITNESS_POLICY=witnessed["both"]), "1")
    assert again.exit_code == 0 and "witness" not in again.stderr, (
        "covered by a checkpoint that meets the quorum: nobody is asked again")

    # A changed byte in a cosignature fails, naming the witness.
    lines = out.read_text().split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("\u2014 w2.example "))
    name, b64 = lines[at].rsplit(" ", 1)
    raw = bytearray(base64.b64decode(b64))
    raw[-1] ^= 1
    lines[at] = f"{name} {base64.b64encode(bytes(raw)).decode()}"
    changed = tmp_path / "changed.tlog-proof"
    changed.write_text("\n".join(lines))
    code, shown = check(capsys, "--proof", str(changed), "--public-key", key,
                        "--witness-policy", witnessed["both"])
    assert code == 1 and shown == ("FAILED: the cosignature of witness w2 (w2.example) does "
                                   "not verify over this checkpoint\n")
    verifier = subprocess.run([sys.executable, "-m", "audit.verifier", "--proof", str(changed),
                               "--public-key", key, "--witness-policy", witnessed["both"]],
                              capture_output=True, text=True, timeout=60)
    assert (verifier.returncode, verifier.stdout) == (1, shown)


def test_without_the_quorum_no_proof_unless_asked_for(
        client: Client, tmp_path: Path, witnessed: dict[str, str],
        capsys: pytest.CaptureFixture[str]) -> None:
    env = env_of(client, BATON_WITNESS_POLICY=witnessed["w1-and-w3"])
    out = tmp_path / "unwitnessed.tlog-proof"
    refused = baton_proof(env, "3", "-o", str(out))
    assert refused.exit_code == 1 and not out.exists()
    assert "witness w1: cosigned" in refused.stderr
    assert refused.stderr.splitlines()[-1].startswith(
        "error: no checkpoint covering seq 3 meets the witness policy's quorum 'pair': the "
        f"newest (size {log_size(client)}) is cosigned by w1, w2; no checkpoint meets it yet")

    size = log_size(client)  # the proof's own audit-read is appended after it is built
    made = baton_proof(env, "3", "-o", str(out), "--without-quorum")
    assert made.exit_code == 0 and "warning: no checkpoint covering seq 3" in made.stderr
    key = vkey_file(client, tmp_path)
    code, shown = check(capsys, "--proof", str(out), "--public-key", key,
                        "--witness-policy", witnessed["w1-and-w3"])
    assert code == 1 and shown == (
        f"FAILED: checkpoint at size {size}: the witness policy's quorum 'pair' "
        "is not met: cosigned by w1, w2; not by w3\n")
    code, shown = check(capsys, "--proof", str(out), "--public-key", key)
    assert code == 0 and "2 cosignature lines not checked: w1.example, w2.example" in shown


def test_keys_and_arguments_that_cannot_be_used(
        client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    made = baton_proof(env_of(client), "2", "-o", str(tmp_path / "p.tlog-proof"))
    assert made.exit_code == 0
    argv = ["--proof", str(tmp_path / "p.tlog-proof")]
    capsys.readouterr()
    assert proof_check.main(argv) == 2
    assert capsys.readouterr().err.startswith("error: no log key: pass --public-key")
    (tmp_path / "bad.vkey").write_text("not a key\n")
    assert proof_check.main([*argv, "--public-key", str(tmp_path / "bad.vkey")]) == 2
    assert proof_check.main(["--proof", str(tmp_path / "none"), "--public-key",
                             vkey_file(client, tmp_path)]) == 2
    key = vkey_file(client, tmp_path)
    origin = client.app.extensions["baton"].origin
    other = signed_note.verifier_key(origin, Ed25519PrivateKey.generate().public_key())
    (tmp_path / "other-log").write_text(f"log {other}\nquorum none\n")
    capsys.readouterr()
    assert proof_check.main([*argv, "--public-key", key, "--witness-policy",
                             str(tmp_path / "other-log")]) == 2
    assert "the witness policy names another key for the log" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        proof_check.main([*argv, "--public-key", vkey_file(client, tmp_path),
                          "--trusted-checkpoint", "x"])
    assert exited.value.code == 2, "an argument it does not take is refused, not ignored"


def test_the_proof_is_built_alike_on_each_backend(led: Ledger) -> None:
    led.lifecycle("esc-1")
    led.open("esc-2")
    with led.engine.connect() as conn:
        newest = cosignatures.newest(conn)
        assert newest is not None
        covered = proof.size_of(newest)
        assert proof.covering(conn, covered, None) is None, "the newest does not reach it"
        for seq in (0, 1, covered - 1):
            assert proof.covering(conn, seq, None) == newest
            text = proof.build(conn, seq, newest)
            outcome = proof_check.check(text, led.signer.vkey)
            assert outcome.event["seq"] == seq and outcome.size == covered
        with pytest.raises(ProofUnavailable, match=f"does not cover seq {covered}"):
            proof.build(conn, covered, newest)
