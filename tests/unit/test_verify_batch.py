"""Format 2 event lines a run at a time (audit/verifier/verify_batch.py): whatever a log
could have signed in the middle of a run, the verifier's answer (first problem, events,
content fields, erasures) is the one it gives a line at a time, whether msgspec reads the
run (verify_typed) or the standard library does."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from audit.log import merkle, signed_note
from audit.log.event_record import encode
from audit.verifier import verify_batch, verify_embedded, verify_typed
from audit.verifier.verify import Report, verify_bundle
from tests.unit.test_verify_speed import KEY, ORIGIN, VKEY, at_of, problem

POLICY = "ab" * 32
RUN = verify_batch.RUN
EVENTS = 3 * RUN + 4  # the runs after the first (the head's) are all events but the last
ODD = RUN + RUN // 2 - 3  # the event each case edits, in the middle of the second run
SALT = bytes(range(32))
Obj = dict[str, Any]
Content = list[Any]


def _committed(text: str, listed: bool) -> dict[str, Any]:
    from audit.log.canonical import commitment
    return {"commitment": commitment(SALT, text), "list": listed}


def usual(seq: int) -> tuple[Obj, Content]:
    """A usual event of format 2 (two committed fields, one a list) and its content; one
    in five with text beyond ASCII, in the event and in its content."""
    over = "övér ✓" if seq % 5 == 0 else "over"
    record = {"v": 1, "seq": seq, "escalation_id": f"esc-{seq // 10}", "version": seq % 10,
              "action": "update", "actor": "fiöna" if seq % 5 == 0 else "fiona",
              "role": "finance", "at": at_of(seq),
              "from_state": "acknowledged", "to_state": "acknowledged",
              "payload": {"to": "sue", "when": {"at": at_of(seq)},
                          "context": _committed(over, False),
                          "names": _committed('["a"]', True)},
              "policy_version": POLICY, "rule": "owner.acts"}
    if seq % 3 == 0:  # no content at all
        record["payload"] = {"n": seq}
        return encode(record, 0), []
    return encode(record, 0), [["context", SALT.hex(), over],
                               ["names", SALT.hex(), '["a"]']]


def policy_applied() -> Obj:
    return encode({"v": 1, "seq": 0, "action": "policy-applied", "actor": "root",
                   "at": at_of(0), "payload": {"name": "p", "version": POLICY,
                                               "previous_version": None},
                   "policy_version": POLICY}, None)


def bundle(events: list[tuple[Obj | bytes, Content]]) -> list[str]:
    """A format 2 bundle of these events as a log would have signed them."""
    chain, leaves, rows = merkle.GENESIS, [], []
    for seq, (obj, content) in enumerate(events):
        body = obj if isinstance(obj, bytes) else json.dumps(
            obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        leaf = merkle.leaf_hash(body)
        chain = merkle.chain_hash(chain, leaf)
        leaves.append(leaf)
        rows.append(verify_embedded.event_row(seq, chain, body, content, []))
    notes = [signed_note.sign(ORIGIN, size, merkle.root_of(leaves[:size]), KEY, ORIGIN)
             for size in (40, len(leaves))]
    head = {"type": "baton-ledger-export", "format": 2, "origin": ORIGIN,
            "public_key": VKEY, "size": len(events), "exported_at": at_of(0)}
    return ([json.dumps(head) + "\n"]
            + [json.dumps({"type": "checkpoint", "note": n, "cosignatures": []}) + "\n"
               for n in notes]
            + rows + [json.dumps({"type": "end", "size": len(events)}) + "\n"])


def _obj(**changes: Any) -> Callable[[Obj, Content], tuple[Obj | bytes, Content]]:
    def edit(obj: Obj, content: Content) -> tuple[Obj | bytes, Content]:
        obj = copy.deepcopy(obj)
        for key, value in changes.items():
            if value is ...:
                obj.pop(key, None)
            else:
                obj[key] = value
        return obj, content
    return edit


def _content(change: Callable[[Content], Content]
             ) -> Callable[[Obj, Content], tuple[Obj | bytes, Content]]:
    return lambda obj, content: (obj, change(copy.deepcopy(content)) if content else [])


def _raw(text: Callable[[str], str]) -> Callable[[Obj, Content], tuple[Obj | bytes, Content]]:
    def edit(obj: Obj, content: Content) -> tuple[Obj | bytes, Content]:
        canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return text(canonical).encode(), content
    return edit


def _payload_first(text: str) -> Callable[[Obj, Content], tuple[Obj | bytes, Content]]:
    return _raw(lambda t: t.replace('"payload":{', '"payload":{' + text + ",", 1))


CASES: dict[str, Callable[[Obj, Content], tuple[Obj | bytes, Content]]] = {
    "untouched": lambda obj, content: (obj, content),
    "s off by one": _obj(s=ODD + 1), "s a float": _obj(s=float(ODD)), "s missing": _obj(s=...),
    "v 1": _obj(v=1), "v a float": _obj(v=2.0), "v missing": _obj(v=...),
    "a short unknown key": _obj(zz=1), "a long key of format 1": _obj(actor="x"),
    "a long unknown key": _obj(long_extra_key=1),
    "policy applied": _obj(a="policy-applied"), "content erased": _obj(a="content-erased"),
    "action a list": _obj(a=["x"]), "action missing": _obj(a=...),
    "payload a list": _obj(payload=[1]), "payload missing": _obj(payload=...),
    "payload empty": _obj(payload={}), "payload a string": _obj(payload=""),
    "a clear commitment": _obj(payload={"x": {"commitment": "00" * 32}}),
    "a clear field committed too": _obj(payload={"context": "clear"}),
    "an escaped clear commitment": _raw(lambda t: t.replace(
        '"payload":{', '"payload":{"y":{"commitmen\\u0074":"00"},', 1)),
    "commitments a list": _obj(c=["A" * 43]), "commitments empty": _obj(c={}),
    "commitments missing": _obj(c=...), "commitments zero": _obj(c=0),
    "a commitment of two": _obj(c={"context": ["A" * 43, "A" * 43], "names": ["A" * 43]}),
    "a commitment not canonical": _obj(c={"context": "A" * 42 + "B", "names": ["A" * 43]}),
    "policy reference missing": _obj(pr=...), "policy reference unknown": _obj(pr=5),
    "policy reference true": _obj(pr=True), "policy reference a float": _obj(pr=0.0),
    "policy reference null": _obj(pr=None),
    "content swapped": _content(lambda c: c[::-1]),
    "content repeated": _content(lambda c: c + c[:1]),
    "content missing": _content(lambda c: c[:1]),
    "content edited": _content(lambda c: [c[0][:2] + ["under"]] + c[1:]),
    "content a dict": _content(lambda c: [dict(zip(c[0], "123", strict=True))] + c[1:]),
    "content of four": _content(lambda c: [c[0] + ["x"]] + c[1:]),
    "salt with spaces": _content(lambda c: [[c[0][0], " " + c[0][1], c[0][2]]] + c[1:]),
    "text a number": _content(lambda c: [[c[0][0], c[0][1], 5]] + c[1:]),
    "no content": _content(lambda c: []),
    "bytes not an object": lambda obj, content: (b"[1]", content),
    # where msgspec and the standard library could read the same bytes differently
    "a key twice": _raw(lambda t: t.replace('"a":', '"a":"policy-applied","a":', 1)),
    "a key escaped": _raw(lambda t: t.replace('"payload":', '"p\\u0061yload":', 1)),
    "a number beyond a double": _payload_first('"x":1e400'),
    "an integer beyond 64 bits": _obj(payload={"n": 10 ** 30}),
    "a lone surrogate": _payload_first('"x":"\\ud800"'),
    "a surrogate pair": _payload_first('"x":"\\ud83d\\ude00"'),
    "a control character": _payload_first('"x":"\x01"'),
    "a trailing comma": _payload_first('"x":1,}'),
    "deep nesting": _obj(payload={"x": json.loads("[" * 200 + "]" * 200)}),
    "nesting beyond both parsers' limits": _payload_first('"x":' + "[" * 5000 + "]" * 5000),
}
# Edits of the line around the event's bytes (which stay as signed).
LINES: dict[str, Callable[[str], str]] = {
    "a space after the event": lambda line: line.replace("},[[", "} ,[[", 1),
    "a space in the content": lambda line: line.replace("},[[", "},[ [", 1),
    "a space before the end": lambda line: line[:-2] + " ]\n",
    "a space after the end": lambda line: line[:-1] + " \n",
    "CRLF": lambda line: line[:-1] + "\r\n",
    "erased records": lambda line: line[:-2] + ',[["context","2026-01-01T00:00:00Z","x"]]]\n',
    "content an object": lambda line: line.replace(
        line[line.index("},[[") + 2:-2], '{"context":"over"}') if "},[[" in line else line,
    "content empty": lambda line: line[:-2] + ",[]]\n" if "},[[" not in line else line,
    "content zero": lambda line: line[:-2] + ",0]\n" if "},[[" not in line else line,
    "the chain hash escaped": lambda line: line.replace('",{', '\\u0022,{', 1),
    # the seq written otherwise (msgspec reads the elements as a typed array)
    "the seq one more": lambda line: f"[{int(line[1:line.index(',')]) + 1}" + line[
        line.index(","):],
    "the seq as a float": lambda line: line.replace(",", ".0,", 1),
    "the seq with an exponent": lambda line: line.replace(",", "e0,", 1),
    "the seq true": lambda line: "[true" + line[line.index(","):],
    "the seq a string": lambda line: '["' + line[1:line.index(",")] + '"' + line[line.index(","):],
    "a space after the start": lambda line: "[ " + line[1:],
    "a fifth element": lambda line: (line[:-2] + ",[]]\n" if "},[[" in line
                                     else line[:-2] + ",[],[]]\n"),
    "content null": lambda line: line[:-2] + ",null]\n" if "},[[" not in line else line,
    "content a string": lambda line: line[:-2] + ',"x"]\n' if "},[[" not in line else line,
}


@pytest.fixture(params=["msgspec", "standard library"], autouse=True)
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test with each reading of a run's lines."""
    assert verify_typed.READ is not None  # installed with Baton: the fast way is taken
    if request.param == "standard library":
        monkeypatch.setattr(verify_typed, "READ", None)
    return str(request.param)


def answers(lines: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[Report, Report]:
    """The verifier's report with runs read at once, and with every check in its usual
    order (no run, no one-pass line)."""
    runs = verify_bundle(lines, VKEY)
    with monkeypatch.context() as patched:
        patched.setattr(verify_embedded, "fast_run", lambda v, lines: False)
        patched.setattr(verify_embedded, "fast_line", lambda v, line: False)
        return runs, verify_bundle(lines, VKEY)


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("odd", [ODD, ODD + 1])  # with content, and without
def test_a_run_holding_any_event_is_read_as_a_line_at_a_time_reads_it(
        name: str, odd: int, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[tuple[Obj | bytes, Content]] = [(policy_applied(), [])]
    events += [usual(seq) for seq in range(1, EVENTS)]
    events[odd] = CASES[name](*events[odd])  # type: ignore[arg-type]
    runs, plain = answers(bundle(events), monkeypatch)
    assert problem(runs) == problem(plain)
    assert (runs.events, runs.contents, runs.erased) == \
        (plain.events, plain.contents, plain.erased)
    if name == "untouched":
        assert runs.ok and runs.events == EVENTS, runs.problems


@pytest.mark.parametrize("name", list(LINES))
@pytest.mark.parametrize("odd", [ODD, ODD + 1])
def test_a_run_holding_any_line_is_read_as_a_line_at_a_time_reads_it(
        name: str, odd: int, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = bundle([(policy_applied(), [])] + [usual(seq) for seq in range(1, EVENTS)])
    at = 1 + 2 + odd  # the head and the two checkpoints come first
    lines[at] = LINES[name](lines[at])
    runs, plain = answers(lines, monkeypatch)
    assert problem(runs) == problem(plain)
    assert (runs.events, runs.contents, runs.erased) == \
        (plain.events, plain.contents, plain.erased)


def test_usual_events_are_read_a_run_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    taken: list[bool] = []
    fast_run = verify_batch.fast_run

    def counted(v: Any, lines: list[str]) -> bool:
        taken.append(fast_run(v, lines))
        return taken[-1]

    monkeypatch.setattr(verify_embedded, "fast_run", counted)
    lines = bundle([(policy_applied(), [])] + [usual(seq) for seq in range(1, EVENTS)])
    report = verify_bundle(lines, VKEY)
    assert report.ok and report.contents == 2 * len([s for s in range(1, EVENTS) if s % 3])
    assert sum(taken) >= 2, taken  # the runs after the header's and the first event's
