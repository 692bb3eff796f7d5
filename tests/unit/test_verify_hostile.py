"""Records a log could hold that no Baton writes, each refused by name by the offline
verifier, never with a traceback, and the same on one process and several (a second
review and a fuzzing helper found these raising or answering otherwise)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from audit.errors import BundleError
from audit.verifier import verify_binary
from audit.verifier.verify import verify_path
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


# What a third helper's fuzzing (156,000 mutated bundles, each on 1 and 2 processes) found
# raising, or answering differently on 2 processes.

def _verdicts(path: Path, key: str) -> set[str]:
    """The answer on one process and on two: the first problem, "ok", or the error."""
    found = set()
    for jobs in (1, 2):
        try:
            report = verify_path(str(path), key, jobs=jobs, parallel_from=0)
            found.add(report.problems[0] if report.problems else "ok")
        except BundleError as exc:
            found.add(f"error: {exc}")
    return found


@pytest.mark.parametrize("where", ["the head", "after the end"])
def test_a_bundle_that_is_not_utf_8_is_refused_by_name(tmp_path: Path, where: str) -> None:
    data = "".join(bundle([(policy_applied(), [])] + [usual(s) for s in range(1, 20)]))
    raw = data.encode()
    raw = raw.replace(b'"format"', b'"form\xffat"', 1) if where == "the head" \
        else raw + b"\xc3\x28\n"
    path = tmp_path / "bundle.jsonl"
    path.write_bytes(raw)
    assert _verdicts(path, VKEY) == \
        {"error: the bundle is not UTF-8 text (a byte no UTF-8 character holds)"}


def _format_1(tmp_path: Path, edit: Callable[[dict[str, Any]], None], kind: str) -> Path:
    lines = (V1 / "bundle.jsonl").read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith(kind))
    item = json.loads(lines[at])
    edit(item)
    lines[at] = json.dumps(item, ensure_ascii=False) + "\n"
    path = tmp_path / "bundle.jsonl"
    path.write_text("".join(lines))
    return path


def test_a_format_1_event_whose_bytes_are_not_ascii_is_refused_by_name(
        tmp_path: Path) -> None:
    path = _format_1(tmp_path, lambda item: item.update(bytes="é" + item["bytes"]),
                     '{"type":"event"')
    assert _verdicts(path, (V1 / "public_key.txt").read_text()) == \
        {"seq 0: bytes are not base64"}


@pytest.mark.parametrize("seq", [True, 1.0])
def test_a_format_1_event_whose_seq_is_true_is_not_seq_1(tmp_path: Path, seq: Any) -> None:
    """True == 1 in Python: the event line's seq was taken for the signed one."""
    lines = (V1 / "bundle.jsonl").read_text().splitlines(keepends=True)
    at = [i for i, line in enumerate(lines) if line.startswith('{"type":"event"')][1]
    item = json.loads(lines[at])
    assert item["seq"] == 1
    item["seq"] = seq
    lines[at] = json.dumps(item) + "\n"
    path = tmp_path / "bundle.jsonl"
    path.write_text("".join(lines))
    assert _verdicts(path, (V1 / "public_key.txt").read_text()) == \
        {"event after seq 0: no seq"}


def test_a_record_whose_type_is_no_string_is_refused_by_name(tmp_path: Path) -> None:
    lines = bundle([(policy_applied(), [])] + [usual(s) for s in range(1, 20)])
    lines[-1] = '{"type":{},"size":20}\n'
    path = tmp_path / "bundle.jsonl"
    path.write_text("".join(lines))
    assert _verdicts(path, VKEY) == {f"error: line {len(lines)}: not a bundle record"}


def test_a_binary_block_beyond_64_bit_seqs_is_named_on_two_processes_too(
        tmp_path: Path) -> None:
    """A worker's IndexError used to escape on two processes; one named the gap."""
    raw = (V1 / "bundle.bin").read_bytes()
    at = raw.index(verify_binary.EVENTS + b"\x00")  # the only block frame
    junk = verify_binary.block(2 ** 63, bytes(32), [])
    path = tmp_path / "bundle.bin"
    path.write_bytes(raw[:at] + junk + raw[at:])
    assert _verdicts(path, (V1 / "public_key.txt").read_text()) == \
        {"seq 0: missing (the next event is seq 9223372036854775808)"}
