"""A checkpoint an auditor held before, in either form they are likely to have saved it:
the signed note (`baton audit checkpoint`) or the JSON of GET /api/v1/audit/checkpoint.
Both are trusted by the offline verifier; a file that is neither says so on one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit.reads.export import write_bundle
from audit.verifier import verify
from tests.initialised_app import Client, make_client


@pytest.fixture
def held(tmp_path: Path) -> tuple[Client, dict[str, str]]:
    client = make_client(tmp_path)
    client.open()
    answer = client.get("/audit/checkpoint", "aud")
    assert answer.status_code == 200
    client.open()  # the log grows past the held checkpoint
    baton = client.app.extensions["baton"]
    bundle = tmp_path / "export.jsonl"
    with baton.engine.connect() as conn, bundle.open("w") as out:
        write_bundle(conn, out, baton.origin, baton.vkey, baton.now())
    key = tmp_path / "log.vkey"
    key.write_text(baton.vkey + "\n")
    note = tmp_path / "held.note"
    note.write_text(answer.json["note"])
    as_json = tmp_path / "held.json"
    as_json.write_text(json.dumps(answer.json))
    return client, {"bundle": str(bundle), "key": str(key), "note": str(note),
                    "json": str(as_json), "size": str(answer.json["size"])}


@pytest.mark.parametrize("form", ["note", "json"])
def test_a_held_checkpoint_is_trusted_in_either_form(
        held: tuple[Client, dict[str, str]], form: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    _client, files = held
    code = verify.main([files["bundle"], "--public-key", files["key"],
                        "--trusted-checkpoint", files[form]])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith("OK: ") and "(1 trusted)" in out


def test_a_held_checkpoint_from_another_log_fails_either_way(
        held: tuple[Client, dict[str, str]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _client, files = held
    (tmp_path / "other").mkdir()
    other = make_client(tmp_path / "other")
    other.open()
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps(other.get("/audit/checkpoint", "aud").json))
    code = verify.main([files["bundle"], "--public-key", files["key"],
                        "--trusted-checkpoint", str(foreign)])
    assert code == 1
    assert "trusted checkpoint" in capsys.readouterr().out


def test_json_without_a_note_is_a_one_line_error(
        held: tuple[Client, dict[str, str]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _client, files = held
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"size": 3}')
    code = verify.main([files["bundle"], "--public-key", files["key"],
                        "--trusted-checkpoint", str(wrong)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "without a checkpoint `note`" in err
    assert "baton audit checkpoint" in err
