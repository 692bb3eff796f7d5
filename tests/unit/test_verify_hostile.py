"""Records a log could hold that no Baton writes, each refused by name by the offline
verifier, never with a traceback (a second review found these three raising instead)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.test_verify_batch import bundle, policy_applied, usual
from tests.unit.test_verify_speed import VKEY

ROOT = Path(__file__).parents[2]
V1 = ROOT / "tests" / "data" / "v1_export"


def _command(path: Path, key: str, tmp_path: Path) -> tuple[int, str]:
    (tmp_path / "key.pub").write_text(key)
    out = subprocess.run([sys.executable, "-m", "audit.verifier", str(path), "--public-key",
                          str(tmp_path / "key.pub"), "--jobs", "1"], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert "Traceback" not in out.stderr, out.stderr
    return out.returncode, (out.stdout + out.stderr).strip().splitlines()[-1]


@pytest.mark.parametrize("named", ["²:note", "1" * 5000 + ":note", "-1:note", "٣:note"])
def test_an_erasure_naming_no_seq_is_refused_by_name(tmp_path: Path, named: str) -> None:
    """"²" and "٣" are digits to str.isdigit; 5,000 digits are more than int() reads."""
    events: list = [(policy_applied(), [])] + [usual(seq) for seq in range(1, 10)]
    events[5] = (json.dumps({"v": 1, "seq": 5, "action": "content-erased",
                             "payload": {"fields": [named]}}).encode(), [])
    path = tmp_path / "bundle.jsonl"
    path.write_text("".join(bundle(events)))
    code, said = _command(path, VKEY, tmp_path)
    assert code == 1 and said.startswith("FAILED: seq 5: the content-erased event names")
    assert said.endswith("not seq:field")


@pytest.mark.parametrize("kind", ["content", "erased"])
@pytest.mark.parametrize("seq", ['"7"', "7.0", "true", "null"])
def test_a_format_1_record_whose_seq_is_no_integer_is_refused_by_name(
        tmp_path: Path, kind: str, seq: str) -> None:
    lines = (V1 / "bundle.jsonl").read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith('{"type":"content"'))
    item = json.loads(lines[at])
    if kind == "erased":
        item = {"type": "erased", "seq": item["seq"], "field": item["field"],
                "erased_at": "2026-03-02T09:00:00.000000Z", "erased_by": "root"}
    item["seq"] = json.loads(seq)
    lines[at] = json.dumps(item) + "\n"
    path = tmp_path / "bundle.jsonl"
    path.write_text("".join(lines))
    code, said = _command(path, (V1 / "public_key.txt").read_text(), tmp_path)
    assert code == 1
    assert said.startswith(f"FAILED: a {kind} record after seq ")
    assert said.endswith("its seq is not an integer")
