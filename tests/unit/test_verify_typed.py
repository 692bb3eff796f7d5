"""msgspec's reading of a run of event lines (audit/verifier/verify_typed.py): whatever
it reads, it reads as the standard library's scanner does (the same events, leaves,
content and chain), or it refuses and the run is read the standard library's way; and
the offline verifier runs without it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.log import merkle
from audit.verifier import verify_batch, verify_embedded, verify_typed
from audit.verifier.verify_lean import SHORT_KEYS
from tests.unit.test_verify_batch import bundle, policy_applied, usual
from tests.unit.test_verify_speed import VKEY

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2 ** 80, max_value=2 ** 80)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                               max_size=3),
    max_leaves=8)
OTHER_KEYS = sorted(SHORT_KEYS - {"v", "s"})


def _line(seq: int, body: str, tail: str) -> tuple[str, bytes]:
    """A line for event `seq` after the genesis chain, and the chain it states."""
    leaf = merkle.leaf_hash(body.encode("utf-8", "surrogatepass"))
    link = merkle.chain_hash(merkle.GENESIS, leaf)
    return f'[{seq},"{link.hex()}",{body}{tail}]\n', link


def _both(line: str, seq: int) -> tuple[Any, Any]:
    """The run of one line read by msgspec and by the standard library (None: refused)."""
    typed, plain = verify_batch._Run(), verify_batch._Run()
    assert verify_typed.READ is not None
    try:
        read = verify_typed.READ(seq - 1, merkle.GENESIS, [line], typed)
    except ValueError:
        read = False
    try:
        scanned = verify_batch._scanned(seq - 1, merkle.GENESIS, [line], plain)
    except (ValueError, StopIteration, IndexError):
        scanned = None
    return typed if read else None, scanned


def _same(typed: Any, plain: Any) -> None:
    assert plain is not None, "msgspec read what the standard library refuses"
    for key in sorted(SHORT_KEYS):
        assert list(verify_typed.struct_field(typed.objs, key)) == \
            list(verify_typed.dict_field(plain.objs, key)), key
    assert (typed.leaves, typed.contents, typed.chain, typed.chain_hex) == \
        (plain.leaves, plain.contents, plain.chain, plain.chain_hex)


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({"v": JSON, "s": JSON},
                             optional={key: JSON for key in OTHER_KEYS}),
       st.booleans(), st.none() | st.lists(st.lists(JSON, max_size=3), max_size=3))
def test_what_msgspec_reads_the_standard_library_reads_the_same(
        event: dict[str, Any], ascii_only: bool, content: list[Any] | None) -> None:
    body = json.dumps(event, separators=(",", ":"), ensure_ascii=ascii_only)
    tail = "" if content is None else "," + json.dumps(content, ensure_ascii=ascii_only)
    typed, plain = _both(_line(7, body, tail)[0], 7)
    if typed is not None:
        _same(typed, plain)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_an_edited_line_msgspec_reads_the_standard_library_reads_the_same(
        data: st.DataObject) -> None:
    """Edits anywhere in a usual line (in the event's bytes they break the chain: both
    refuse) by characters that matter to JSON."""
    obj, content = usual(46)
    body = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    line = _line(46, body, "," + json.dumps(content, separators=(",", ":")))[0]
    at = data.draw(st.integers(0, len(line) - 1))
    cut = data.draw(st.integers(0, 3))
    put = data.draw(st.text(alphabet=' ,[]{}"\\:0e.-ud8\n\r\t\x01é', max_size=3))
    typed, plain = _both(line[:at] + put + line[at + cut:], 46)
    if typed is not None:
        _same(typed, plain)


def test_a_usual_run_is_msgspec_s_to_read() -> None:
    lines = bundle([(policy_applied(), [])] + [usual(seq) for seq in range(1, 40)])
    genesis_line, events = lines[3], lines[4:-1]  # after the head and two checkpoints
    run = verify_batch._read(0, bytes.fromhex(genesis_line[4:68]), events)
    assert run is not None and type(run.objs[5]) is verify_typed.Event
    assert len(run.objs) == 39 and run.contents[0] is not None and run.contents[2] is None
    assert run.chain_hex == events[-1][5:69]


def test_without_msgspec_the_verifier_reads_a_run_by_the_standard_library(
        tmp_path: Path) -> None:
    lines = bundle([(policy_applied(), [])] + [usual(seq) for seq in range(1, 400)])
    path = tmp_path / "bundle.jsonl"
    path.write_text("".join(lines))
    code = ("import sys; sys.modules['msgspec'] = None; sys.modules['orjson'] = None\n"
            "from audit.verifier import verify_batch, verify_embedded, verify_typed\n"
            "from audit.verifier.verify import verify_bundle\n"
            "assert verify_typed.READ is None\n"
            "runs = []\n"
            "fast = verify_embedded.fast_run\n"
            "verify_embedded.fast_run = lambda v, ls: runs.append(fast(v, ls)) or runs[-1]\n"
            f"report = verify_bundle(open({str(path)!r}).readlines(), {VKEY!r})\n"
            "print(report.ok, report.events, report.contents, sum(runs))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parents[2])
    ok, events, contents, runs = out.stdout.split()
    assert (ok, int(events)) == ("True", 400)
    assert int(contents) == 2 * len([s for s in range(1, 400) if s % 3])
    assert int(runs) >= 400 // verify_batch.RUN - 1  # but the head's and the end's
    assert verify_embedded.fast_run is verify_batch.fast_run


@pytest.mark.parametrize("version", ["0.10.0", "unknown"])
def test_an_older_msgspec_where_the_verifier_is_copied_is_left_aside(version: str) -> None:
    code = ("import sys, types\n"
            f"sys.modules['msgspec'] = types.SimpleNamespace(__version__={version!r})\n"
            "from audit.verifier import verify_typed\n"
            "print(verify_typed.READ is None)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parents[2])
    assert out.stdout.strip() == "True"


def test_the_verdict_is_the_same_with_the_accelerators_and_without(tmp_path: Path) -> None:
    """Escalation ids of 19 digits below -2**63 (orjson once read them as floats, so
    that an erasure naming one escalation erased another's fields)."""
    events: list[Any] = [(policy_applied(), [])] + [usual(seq) for seq in range(1, 50)]
    events[10] = ({**events[10][0], "e": -9999999999999999999}, [])  # content gone
    events[21] = ({**events[21][0], "e": -10 ** 19, "a": "content-erased",
                   "payload": {"fields": ["10:context", "10:names"]}}, [])
    path = tmp_path / "bundle.jsonl"
    path.write_text("".join(bundle(events)))
    code = ("import sys\n"
            "if sys.argv[1] == 'without': sys.modules['orjson'] = sys.modules['msgspec'] = None\n"
            "from audit.verifier.verify import verify_bundle\n"
            f"report = verify_bundle(open({str(path)!r}).readlines(), {VKEY!r})\n"
            "print(report.ok, report.erased, report.problems[:1])")
    answers = [subprocess.run([sys.executable, "-c", code, how], capture_output=True,
                              text=True, check=True, cwd=Path(__file__).parents[2]).stdout
               for how in ("with", "without")]
    assert answers[0] == answers[1]
    assert answers[0].startswith("False 0 ['seq 10 field context: committed, but neither")


def test_a_msgspec_that_reads_otherwise_is_left_aside(monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe at import: the installed msgspec reads as the checks assume; one that took
    the first of a key twice, or read NaN, would leave the standard library to read."""
    assert verify_typed._reads_as_json()
    first_wins = verify_typed._EVENT
    monkeypatch.setattr(verify_typed, "_EVENT", lambda text: first_wins(
        text.replace('"v":1,"v":2', '"v":2,"v":1')))
    assert not verify_typed._reads_as_json()
    monkeypatch.undo()
    monkeypatch.setattr(verify_typed, "_ANY", json.loads)  # reads NaN
    assert not verify_typed._reads_as_json()
