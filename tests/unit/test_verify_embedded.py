"""Bundle format 2 (audit/verifier/verify_embedded.py): the one-pass reading of an event
line names the same first problem as the checks in their usual order, every tampering of
format 1's tests is caught on a format 2 line too, on one process and several, and the
bundles earlier Baton wrote (tests/data) still verify."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from audit.verifier import verify_embedded
from audit.verifier.verify import verify_bundle, verify_path
from tests import bundle_layouts
from tests.unit import test_verify_speed as speed
from tests.unit.test_verify_speed import TAMPERINGS, VKEY, events, make_bundle, problem

BUNDLE = make_bundle(event_format=2)
DATA = Path(__file__).parent.parent / "data"
# Tamperings of what format 2 no longer writes (leaf and previous chain hashes, the fields
# repeated beside the bytes): the line written from the edited records is the same.
NOT_WRITTEN = {"leaf hash", "prev chain", "upper-case hex (same values)", "at beside",
               "escalation_id beside", "escalation_seq beside"}


def lines(items: list[dict[str, Any]]) -> list[str]:
    return bundle_layouts.lines(items, verify_embedded.FORMAT)


# "bytes not base64": format 2 writes bytes as JSON, and base64 only when they are not.
@pytest.mark.parametrize("name", [n for n in TAMPERINGS if n != "bytes not base64"])
def test_the_one_pass_names_the_same_first_problem_as_the_usual_order(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    items = copy.deepcopy(BUNDLE)
    TAMPERINGS[name](items)
    fast = verify_bundle(lines(items), VKEY)
    monkeypatch.setattr(verify_embedded, "fast_line", lambda v, line: False)
    monkeypatch.setattr(verify_embedded, "fast_run", lambda v, lines: False)
    plain = verify_bundle(lines(items), VKEY)
    assert problem(fast) == problem(plain)
    assert (fast.events, fast.contents, fast.erased) == \
        (plain.events, plain.contents, plain.erased)
    if name == "untouched" or name in NOT_WRITTEN:
        assert fast.ok and (fast.events, fast.contents, fast.erased) == (300, 397, 1), \
            fast.problems
    else:
        assert not fast.ok, "the tampered bundle verified"


def _edit_line(seq: int, old: str, new: str) -> list[str]:
    out = lines(BUNDLE)
    at = next(i for i, line in enumerate(out) if line.startswith(f"[{seq},"))
    assert old in out[at], out[at]
    out[at] = out[at].replace(old, new, 1)
    return out


@pytest.mark.parametrize("old,new,want", [
    ('"fiona"', '"bobby"', "seq 8: chain hash does not match the bytes and the chain so far"),
    ('"s":8,', '"s":9,', "seq 8: the event's bytes say seq 9 (rows reordered or replaced)"),
    ("[8,", "[9,", "seq 8: missing (the next event is seq 9)"),
    ('"]]]\n', '"]],[],[]]\n', "seq 8: line 19 is not [seq,\"chain hash\",event] with at "
                              "most its content and erased records"),
    ('"]]]\n', '"]],[],{"hidden":1}]\n', "seq 8: line 19 is not [seq,\"chain hash\",event] "
                                         "with at most its content and erased records"),
    ('"]]]\n', '"]],[["title","00","x"]]]\n',
     "seq 8 field title: erased record repeated (the field is already accounted for)"),
])
def test_an_edited_line_fails_naming_its_seq(old: str, new: str, want: str) -> None:
    assert problem(verify_bundle(_edit_line(8, old, new), VKEY)) == want


def test_a_field_given_twice_on_a_line_is_repeated_content() -> None:
    out = lines(BUNDLE)
    at = next(i for i, line in enumerate(out) if line.startswith("[8,"))
    row = json.loads(out[at])
    row[3].append(row[3][0])
    out[at] = out[at][:out[at].rindex(",[[")] + "," + json.dumps(row[3]) + "]\n"
    assert problem(verify_bundle(out, VKEY)) == \
        "seq 8 field note: content repeated (the field is already accounted for)"


def test_a_format_1_record_in_a_format_2_bundle_is_refused() -> None:
    items = copy.deepcopy(BUNDLE)
    out = lines(items)
    out.insert(len(out) - 1, json.dumps(events(items)[5]) + "\n")
    assert problem(verify_bundle(out, VKEY)) == \
        f"line {len(out) - 1}: a format 1 event record in a format 2 bundle"


def test_bytes_that_cannot_be_embedded_are_carried_in_base64() -> None:
    assert verify_embedded.embeddable(b'{"a":1}') == '{"a":1}'
    for body in (b'{"a":1} ', b'{"a":\n1}', b"[1]", b'{"a":"\xff"}', b'{"a":"\xe2\x80\xa8"}',
                 b"not json"):
        assert verify_embedded.embeddable(body) is None, body
    line = verify_embedded.event_row(0, bytes(32), b"not json", [], [])
    assert line == f'[0,"{"00" * 32}","bm90IGpzb24="]\n'
    assert verify_embedded.event_bytes(line) == (0, b"not json")
    items = copy.deepcopy(BUNDLE)
    TAMPERINGS["bytes"](items)  # the edited base64 decodes to bytes that are not JSON
    out = lines(items)
    assert any(line.startswith('[120,"') and line.split(",")[2].startswith('"')
               for line in out)
    assert problem(verify_bundle(out, VKEY)) == "seq 120: stored bytes are not JSON"


def test_structural_checks_the_ledger_but_not_content() -> None:
    items = copy.deepcopy(BUNDLE)
    TAMPERINGS["content edited"](items)
    report = verify_bundle(lines(items), VKEY, structural=True)
    assert report.ok and report.structural and report.contents == 0, report.problems
    edited = _edit_line(8, '"fiona"', '"bobby"')
    assert problem(verify_bundle(edited, VKEY, structural=True)) == \
        "seq 8: chain hash does not match the bytes and the chain so far"


@pytest.mark.parametrize("name", ["untouched", "bytes", "chain hash", "an event removed",
                                  "two events swapped", "content edited", "content removed",
                                  "erased record's actor", "checkpoint root", "truncated",
                                  "after the end"])
@pytest.mark.parametrize("layout", [1, 2], ids=["format1", "format2"])
def test_several_processes_name_the_same_first_problem_as_one(name: str, layout: int,
                                                              tmp_path: Path) -> None:
    items = copy.deepcopy(BUNDLE if layout == 2 else speed.BUNDLE)
    TAMPERINGS[name](items)
    path = tmp_path / "bundle.jsonl"
    path.write_text("".join(lines(items) if layout == 2 else speed.compact(items)),
                    encoding="utf-8")
    one = verify_path(str(path), VKEY, jobs=1)
    three = verify_path(str(path), VKEY, jobs=3, parallel_from=0)
    assert problem(three) == problem(one)
    assert (three.events, three.contents, three.erased) == \
        (one.events, one.contents, one.erased)
    if name == "untouched":
        assert three.ok and three.cores == 3, "the parallel path was not taken"
        assert (three.events, three.erased) == (300, 1)


@pytest.mark.parametrize("folder,events", [("v1_export", 18), ("bundle1_export", 18)])
def test_the_bundles_earlier_baton_wrote_still_verify(folder: str, events: int) -> None:
    where = DATA / folder
    vkey = (where / "public_key.txt").read_text(encoding="utf-8").strip()
    assert json.loads((where / "bundle.jsonl").read_text().splitlines()[0])["format"] == 1
    for jobs in (1, 2):
        report = verify_path(str(where / "bundle.jsonl"), vkey, jobs=jobs, parallel_from=0)
        assert report.ok and report.cores == jobs, report.problems
        assert (report.events, report.contents, report.erased) == (events, 13, 13)
        binary = verify_path(str(where / "bundle.bin"), vkey, jobs=jobs, parallel_from=0)
        assert binary.ok and binary.events == events, binary.problems
    # The same records in format 2 verify alike.
    text = (where / "bundle.jsonl").read_text(encoding="utf-8")
    report = verify_bundle(lines(bundle_layouts.items(text)), vkey)
    assert report.ok and (report.contents, report.erased) == (13, 13), report.problems
