"""A bundle nested deeper than MAX_DEPTH, anywhere (the head, a checkpoint, an event's
bytes, the line around them, the end record, a format 1 record), is refused by the offline
verifier by name, in one process or several, with or without orjson and msgspec: never a
traceback (RecursionError escaped json.loads at eight places before), and never a verdict
that depends on which path read the line or how deep the stack was."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from audit.log.fast_json import MAX_DEPTH, too_deep
from audit.verifier import verify_embedded
from audit.verifier.verify import BundleError, verify_bundle, verify_path
from tests.unit.test_verify_batch import EVENTS, ODD, _raw, bundle, policy_applied, usual
from tests.unit.test_verify_speed import VKEY, problem

ROOT = Path(__file__).parents[2]
V1 = ROOT / "tests" / "data" / "v1_export"
DEEP = "[" * 100_000 + "]" * 100_000
EVENT = 100  # the line edited in an event's place


def _in_record(line: str) -> str:
    return line[:-2] + ',"x":' + DEEP + "}\n"


FORMAT_2: dict[str, tuple[Callable[[list[str]], None], str]] = {
    "the head": (lambda ls: ls.__setitem__(0, _in_record(ls[0])), "line 1: nested deeper"),
    "a checkpoint": (lambda ls: ls.__setitem__(1, _in_record(ls[1])), "line 2: nested"),
    "an event's bytes": (lambda ls: ls.__setitem__(EVENT, ls[EVENT].replace(
        '"payload":{', '"payload":{"x":' + DEEP + ",", 1)),
        "seq 97: line 101 holds JSON nested deeper than"),
    "the line's content": (lambda ls: ls.__setitem__(EVENT, ls[EVENT][:-2] + "," + DEEP
                                                     + "]\n"), "seq 97: line 101 holds JSON"),
    "the end record": (lambda ls: ls.__setitem__(-1, _in_record(ls[-1])), "nested deeper"),
}


def _format_2(tmp_path: Path, edit: Callable[[list[str]], None]) -> tuple[Path, str]:
    lines = bundle([(policy_applied(), [])] + [usual(seq) for seq in range(1, 300)])
    edit(lines)
    path = tmp_path / "bundle.jsonl"
    path.write_text("".join(lines))
    return path, VKEY


def _answer(path: Path, vkey: str, jobs: int) -> str | None:
    """The verifier's first problem with the bundle (None: it verifies)."""
    try:
        report = verify_path(str(path), vkey, jobs=jobs, parallel_from=0)
    except BundleError as exc:
        return str(exc)
    return report.problems[0] if report.problems else None


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("where", list(FORMAT_2))
def test_nesting_in_a_format_2_bundle_is_refused_by_name(tmp_path: Path, where: str,
                                                         jobs: int) -> None:
    edit, named = FORMAT_2[where]
    path, vkey = _format_2(tmp_path, edit)
    assert named in (_answer(path, vkey, jobs) or "verified")


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
    assert _answer(path, vkey, jobs) == f"line {at + 1}: nested deeper than {MAX_DEPTH} levels"


def test_the_command_answers_in_one_line(tmp_path: Path) -> None:
    path, vkey = _format_2(tmp_path, FORMAT_2["a checkpoint"][0])
    key = tmp_path / "key.pub"
    key.write_text(vkey)
    out = subprocess.run([sys.executable, "-m", "audit.verifier", str(path), "--public-key",
                          str(key), "--jobs", "1"], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode != 0 and "Traceback" not in out.stderr + out.stdout
    assert (out.stderr + out.stdout).strip() == \
        f"error: line 2: nested deeper than {MAX_DEPTH} levels"


def _nested_at_odd(depth: int) -> list[str]:
    """A bundle whose event ODD holds a payload field nested `depth` deep (the event's
    own object adds two levels: itself and its payload)."""
    events: list[Any] = [(policy_applied(), [])] + [usual(seq) for seq in range(1, EVENTS)]
    events[ODD] = _raw(lambda t: t.replace(
        '"payload":{', '"payload":{"x":' + "[" * depth + "]" * depth + ",", 1))(*events[ODD])
    return bundle(events)


def _every_way(lines: list[str], monkeypatch: pytest.MonkeyPatch) -> set[str | None]:
    """The first problem as runs, fast_line and slow_line each find it."""
    found = {problem(verify_bundle(lines, VKEY))}
    with monkeypatch.context() as patched:
        patched.setattr(verify_embedded, "fast_run", lambda v, lines: False)
        found.add(problem(verify_bundle(lines, VKEY)))
        patched.setattr(verify_embedded, "fast_line", lambda v, line: False)
        found.add(problem(verify_bundle(lines, VKEY)))
    return found


@pytest.mark.parametrize("depth", [MAX_DEPTH - 2, MAX_DEPTH - 1, 985, 988, 990, 2000])
def test_nesting_is_judged_the_same_by_every_path_whatever_the_stack(
        depth: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """An event nested deeper than MAX_DEPTH (the field's depth, and the event's object
    and payload around it) is refused by name by every path before a parser sees it; at
    MAX_DEPTH every path reads it. (A parser's own limit, near 990 here, depends on how
    deep the stack already is: it used to split the paths' verdicts.) Bytes carried in
    the line as JSON are refused with their line; as base64, with their bytes."""
    found = _every_way(_nested_at_odd(depth), monkeypatch)
    assert len(found) == 1, found
    if depth + 2 <= MAX_DEPTH:
        assert found == {None}
    else:
        assert found.pop() in (
            f"seq {ODD}: line {ODD + 4} holds JSON nested deeper than {MAX_DEPTH} levels",
            f"seq {ODD}: stored bytes are nested deeper than {MAX_DEPTH} levels")


def test_without_the_accelerators_the_same_verdicts(tmp_path: Path) -> None:
    answers = []
    for depth in (MAX_DEPTH - 2, MAX_DEPTH - 1, 985):
        path = tmp_path / f"{depth}.jsonl"
        path.write_text("".join(_nested_at_odd(depth)))
        answers.append(_answer(path, VKEY, 1))
    code = ("import sys; sys.modules['orjson'] = sys.modules['msgspec'] = None\n"
            "from audit.verifier.verify import verify_path\n"
            f"for depth in ({MAX_DEPTH - 2}, {MAX_DEPTH - 1}, 985):\n"
            f"    r = verify_path(f'{tmp_path}/{{depth}}.jsonl', {VKEY!r}, jobs=1)\n"
            "    print(r.problems[0] if r.problems else 'ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.splitlines()
    assert ["ok" if a is None else a for a in answers] == out
    assert out[0] == "ok" and out[1].endswith(f"nested deeper than {MAX_DEPTH} levels")
    assert out[2] == out[1].replace("line 97 holds JSON", "stored bytes are") or \
        out[2].endswith(f"nested deeper than {MAX_DEPTH} levels")


@pytest.mark.parametrize("text,deep", [
    ("[" * 501 + "]" * 501, True), ("[" * 500 + "]" * 500, False),
    ('{"a":"' + "[" * 3000 + '"}', False),  # brackets in a string
    ('{"a":"\\"' + "[" * 3000 + '"}', False),  # after an escaped quote, still a string
    ("[" + ",".join(["[1]"] * 3000) + "]", False),  # wide, not deep
    ('["' + "x" * 2000 + '",' + "[" * 600 + "]" * 600 + "]", True),
])
def test_the_depth_of_json_text(text: str, deep: bool) -> None:
    assert too_deep(text) is deep and too_deep(text.encode()) is deep
