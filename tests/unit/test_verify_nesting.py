"""A bundle nested deeper than MAX_DEPTH, anywhere (the head, a checkpoint, an event's
bytes, the line around them, the end record, a format 1 record), is refused by the offline
verifier by name, in one process or several, with or without orjson and msgspec: never a
traceback (RecursionError escaped json.loads at eight places before), and never a verdict
that depends on which path read the line or how deep the stack was."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from audit.log import merkle, signed_note
from audit.log.fast_json import MAX_DEPTH, too_deep
from audit.verifier import verify_binary, verify_embedded
from audit.verifier.verify import BundleError, verify_bundle, verify_path
from tests.unit.test_verify_batch import EVENTS, ODD, _raw, bundle, policy_applied, usual
from tests.unit.test_verify_speed import KEY, ORIGIN, VKEY, at_of, problem

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


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le", "utf-16", "utf-32"])
def test_the_depth_of_bytes_is_read_as_json_reads_them(encoding: str) -> None:
    """json.loads reads UTF-16 and -32 bytes too: there an escaped quote is not a
    backslash and a quote byte next to each other (a second review found the depth of
    such bytes miscounted, and the parser's own limit deciding again)."""
    text = '{"seq":97,"x":"\\"","y":' + "[" * 3000 + "]" * 3000 + ',"z":1}'
    assert too_deep(text.encode(encoding))
    assert not too_deep(text.replace("[" * 3000 + "]" * 3000, "[]").encode(encoding))


def test_an_unclosed_string_is_read_once() -> None:
    """Quotes that never close, each after a backslash (the depth's first count scanned to
    the end from each one: 3 s for 32 KB, hours for 1 MB)."""
    assert too_deep("[" * 501 + '"\\' * 200_000)
    assert not too_deep("[" * 500 + '"\\' * 200_000 + "[" * 5)


def _binary(tmp_path: Path, deep_in: str, tamper: bool = False) -> Path:
    """A binary bundle of 50 events, a record frame (head, checkpoint or end) nested
    deeper than MAX_DEPTH when `deep_in` names it; `tamper`: event 10's bytes edited and
    a frame the file cannot hold after the end."""
    bodies = [json.dumps({"v": 1, "seq": i, "at": at_of(i)}, sort_keys=True,
                         separators=(",", ":")).encode() for i in range(50)]
    chain, leaves, rows = merkle.GENESIS, [], []
    for body in bodies:
        leaf = merkle.leaf_hash(body)
        chain = merkle.chain_hash(chain, leaf)
        leaves.append(leaf)
        rows.append((chain, body))
    note = signed_note.sign(ORIGIN, 50, merkle.root_of(leaves), KEY, ORIGIN)
    records = {"head": {"type": "baton-ledger-export", "format": 2, "origin": ORIGIN,
                        "public_key": VKEY, "size": 50, "exported_at": at_of(0)},
               "checkpoint": {"type": "checkpoint", "note": note, "cosignatures": []},
               "end": {"type": "end", "size": 50}}

    def record(name: str) -> bytes:
        text = json.dumps(records[name], separators=(",", ":"))
        if name == deep_in:
            text = text[:-1] + ',"x":' + "[" * 600 + "]" * 600 + "}"
        return verify_binary.frame(verify_binary.RECORD, text.encode())
    data = (verify_binary.MAGIC + record("head") + record("checkpoint")
            + verify_binary.block(0, merkle.GENESIS, rows) + record("end"))
    if tamper:
        at = data.index(b'"seq":10')
        data = data[:at] + b'"seq":11' + data[at + 8:] + b"X\x00\x00\x00\x00"
    path = tmp_path / "bundle.bin"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("deep_in", ["checkpoint", "end"])
def test_a_binary_bundle_s_nested_record_is_refused_in_one_process_and_several(
        tmp_path: Path, deep_in: str) -> None:
    path = _binary(tmp_path, deep_in)
    answers = {_answer(path, VKEY, jobs) for jobs in (1, 2)}
    assert answers == {f"a record frame is nested deeper than {MAX_DEPTH} levels"}
    assert _answer(_binary(tmp_path, "none"), VKEY, 2) is None


def test_a_binary_bundle_s_first_problem_is_the_same_in_one_process_and_several(
        tmp_path: Path) -> None:
    """Several processes list the frames first: a frame the file cannot hold, after a
    tampered event, used to be named instead of the event."""
    path = _binary(tmp_path, "none", tamper=True)
    assert {_answer(path, VKEY, jobs) for jobs in (1, 2)} == \
        {"seq 10: chain hash does not match the bytes and the chain so far"}
