"""`baton audit` from the shell: an export is created owner-only (it holds personal text),
and a live verification of a log no checkpoint vouches for says so as a warning (exit 0)."""

from __future__ import annotations

import stat
from pathlib import Path

from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.cli import main
from audit.log import cosignature
from tests.initialised_app import LIFECYCLE, make_client


def _env(tmp_path: Path, **more: str) -> dict[str, str]:
    return {"BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'baton.db'}",
            "BATON_SIGNING_KEY": str(tmp_path / "signing.key"), **more}


def test_an_export_is_created_owner_only(tmp_path: Path) -> None:
    client = make_client(tmp_path)
    client.open(title="Ada's refund")
    bundle = tmp_path / "bundle.jsonl"
    done = CliRunner().invoke(main, ["audit", "export", "-o", str(bundle)],
                              env=_env(tmp_path))
    assert done.exit_code == 0, done.output
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o600
    assert "Ada's refund" in bundle.read_text()  # personal text: why it is owner-only


def test_verify_db_warns_when_no_checkpoint_vouches_for_the_log(tmp_path: Path) -> None:
    client = make_client(tmp_path)
    engine = client.app.extensions["baton"].engine
    with engine.begin() as conn:  # checkpoints gone (by the owner, triggers dropped)
        conn.exec_driver_sql("DROP TRIGGER checkpoints_no_delete")
        conn.exec_driver_sql("DELETE FROM checkpoints")
        conn.exec_driver_sql("UPDATE log_head SET checkpoint_size = 0, checkpoint_at = NULL")
    engine.dispose()
    env = _env(tmp_path, BATON_CHECKPOINT_EVERY="100000", BATON_CHECKPOINT_INTERVAL="100000")
    done = CliRunner().invoke(main, ["audit", "verify", "--db"], env=env)
    assert done.exit_code == 0, done.output
    assert "no checkpoint: nothing signed vouches for the" in done.output
    assert "warning" in done.output.lower()
    client.open()  # and once a checkpoint covers the log, no warning
    done = CliRunner().invoke(main, ["audit", "checkpoint"], env=_env(tmp_path))
    assert done.exit_code == 0, done.output
    done = CliRunner().invoke(main, ["audit", "verify", "--db"], env=_env(tmp_path))
    assert done.exit_code == 0 and "nothing signed vouches" not in done.output, done.output


def test_export_and_verify_from_the_shell_binary_structural_and_witnessed(
        tmp_path: Path) -> None:
    client = make_client(tmp_path)
    eid = client.open()
    for who, action, body in LIFECYCLE:
        assert client.act(eid, who, action, body).status_code == 200
    env = _env(tmp_path)
    run = CliRunner().invoke
    binary = tmp_path / "ledger.bin"
    done = run(main, ["audit", "export", "--binary", "-o", str(binary)], env=env)
    assert done.exit_code == 0, done.output
    assert stat.S_IMODE(binary.stat().st_mode) == 0o600
    done = run(main, ["audit", "verify", str(binary), "--jobs", "2"], env=env)
    assert done.exit_code == 0 and "structure only" in done.output, done.output
    assert run(main, ["audit", "export", "--binary"], env=env).exit_code == 2
    # A witness policy whose witness cannot be reached: the export asks it (and says
    # so), and the bundle's newest checkpoint then lacks the quorum, naming who signed.
    key = Ed25519PrivateKey.generate()
    vkey = cosignature.Cosigner("w1.example", cosignature.public_bytes(key)).vkey
    policy = tmp_path / "policy"
    policy.write_text(f"log {client.app.extensions['baton'].vkey}\n"
                      f"witness w1 {vkey} http://127.0.0.1:9/add\nquorum w1\n")
    bundle = tmp_path / "bundle.jsonl"
    done = run(main, ["audit", "export", "-o", str(bundle)],
               env={**env, "BATON_WITNESS_POLICY": str(policy)})
    assert done.exit_code == 0 and "witness w1" in done.output, done.output
    done = run(main, ["audit", "verify", str(bundle), "--structural"], env=env)
    assert done.exit_code == 0, done.output
    done = run(main, ["audit", "verify", str(bundle), "--witness-policy", str(policy)],
               env=env)
    assert done.exit_code == 1 and "FAILED" in done.output and "w1" in done.output, \
        done.output
    done = run(main, ["audit", "verify", "--db", "--jobs", "2"], env=env)
    assert done.exit_code == 2 and "apply to a BUNDLE" in done.output
