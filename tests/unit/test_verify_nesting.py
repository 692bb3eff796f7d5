"""A bundle nested deeper than a JSON parser follows, anywhere (the head, a checkpoint, an
event's bytes, the line around them, the end record, a format 1 record), is refused by
the offline verifier with its own message, in one process or several: never a traceback
(RecursionError escaped json.loads at six places before)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from audit.verifier.verify import BundleError, verify_path
from tests.unit.test_verify_batch import bundle, policy_applied, usual
from tests.unit.test_verify_speed import VKEY

ROOT = Path(__file__).parents[2]
V1 = ROOT / "tests" / "data" / "v1_export"
DEEP = "[" * 100_000 + "]" * 100_000
EVENT = 100  # the line edited in an event's place


def _in_record(line: str) -> str:
    return line[:-2] + ',"x":' + DEEP + "}\n"


FORMAT_2: dict[str, tuple[Callable[[list[str]], None], str]] = {
    "the head": (lambda ls: ls.__setitem__(0, _in_record(ls[0])), "line 1: not JSON"),
    "a checkpoint": (lambda ls: ls.__setitem__(1, _in_record(ls[1])), "line 2: not JSON"),
    "an event's bytes": (lambda ls: ls.__setitem__(EVENT, ls[EVENT].replace(
        '"payload":{', '"payload":{"x":' + DEEP + ",", 1)),
        "seq 97: the event is neither JSON nor base64 bytes"),
    "the line's content": (lambda ls: ls.__setitem__(EVENT, ls[EVENT][:-2] + "," + DEEP
                                                     + "]\n"), "seq 97: line 101 is not"),
    "the end record": (lambda ls: ls.__setitem__(-1, _in_record(ls[-1])), "not JSON"),
}


def _format_2(tmp_path: Path, edit: Callable[[list[str]], None]) -> tuple[Path, str]:
    lines = bundle([(policy_applied(), [])] + [usual(seq) for seq in range(1, 300)])
    edit(lines)
    path = tmp_path / "bundle.jsonl"
    path.write_text("".join(lines))
    return path, VKEY


def _answer(path: Path, vkey: str, jobs: int) -> str:
    try:
        report = verify_path(str(path), vkey, jobs=jobs, parallel_from=0)
    except BundleError as exc:
        return str(exc)
    assert not report.ok
    return report.problems[0]


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("where", list(FORMAT_2))
def test_nesting_in_a_format_2_bundle_is_refused_by_name(tmp_path: Path, where: str,
                                                         jobs: int) -> None:
    edit, named = FORMAT_2[where]
    path, vkey = _format_2(tmp_path, edit)
    assert named in _answer(path, vkey, jobs)


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("kind", ['{"type":"event"', '{"type":"content"'])
def test_nesting_in_a_format_1_record_is_refused_by_name(tmp_path: Path, kind: str,
                                                         jobs: int) -> None:
    lines = (V1 / "bundle.jsonl").read_text().splitlines(keepends=True)
    at = [i for i, line in enumerate(lines) if line.startswith(kind)][3]
    lines[at] = _in_record(lines[at])
    path = tmp_path / "bundle.jsonl"
    path.write_text("".join(lines))
    vkey = (V1 / "public_key.txt").read_text()
    assert _answer(path, vkey, jobs) == \
        f"line {at + 1}: not JSON (is this a JSON Lines bundle?)"


def test_the_command_answers_in_one_line(tmp_path: Path) -> None:
    path, vkey = _format_2(tmp_path, FORMAT_2["a checkpoint"][0])
    key = tmp_path / "key.pub"
    key.write_text(vkey)
    out = subprocess.run([sys.executable, "-m", "audit.verifier", str(path), "--public-key",
                          str(key), "--jobs", "1"], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode != 0 and "Traceback" not in out.stderr + out.stdout
    assert (out.stderr + out.stdout).strip() == \
        "error: line 2: not JSON (is this a JSON Lines bundle?)"
