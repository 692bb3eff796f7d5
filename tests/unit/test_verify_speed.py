"""The verifier's fast paths give the answers of its plain one: batched Merkle roots equal
RFC 9162's, a line in the export's layout read without json.loads names the same first
problem as the same record in any other layout, several processes name the same first
problem as one, and the binary bundle is checked as strictly as the JSON Lines one."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.log import event_record, merkle, signed_note
from audit.log.canonical import canonical_bytes, commitment
from audit.reads.export import event_line, line
from audit.verifier import verify_binary
from audit.verifier.verify import Report, verify_bundle, verify_path
from audit.verifier.verify_tree import Tree

ORIGIN = "baton.test/speed"
KEY = Ed25519PrivateKey.generate()
VKEY = signed_note.verifier_key(ORIGIN, KEY.public_key())
LEAVES = [merkle.leaf_hash(str(i).encode()) for i in range(1100)]


@pytest.mark.parametrize("size", [0, 1, 2, 3, 5, 8, 255, 256, 257, 1000, 1100])
def test_batched_roots_are_rfc9162_roots_wherever_the_leaves_are_cut(size: int) -> None:
    want = merkle.root_of(LEAVES[:size])
    for cuts in ([], [1], [3, 7], [size // 2], [5, 6, 100, 513]):
        tree, done = Tree(), 0
        for cut in [c for c in cuts if c <= size] + [size]:
            tree.extend(LEAVES[done:cut])
            done = cut
        assert tree.root() == want, cuts
    for split in {0, 1, size // 3, size - 1, size} - {-1}:
        if 0 <= split <= size:
            head, tail = Tree(), Tree(split)
            head.extend(LEAVES[:split])
            tail.extend(LEAVES[split:size])
            assert head.joined(tail.snapshot()).root() == want, split


# --- a bundle made here, in the export's own layout ---------------------------------


def at_of(seq: int) -> str:
    return f"2026-03-02T09:{seq // 60 % 60:02d}:{seq % 60:02d}.000000Z"


def make_bundle(events: int = 300, every: int = 40, event_format: int = 1
                ) -> list[dict[str, Any]]:
    """Events with committed fields and their content (some with characters JSON
    escapes), an erasure of one field with its erased record, checkpoints; the events'
    bytes in `event_format` (audit/log/event_record.py)."""
    rows: list[dict[str, Any]] = []
    chain, rng, notes = merkle.GENESIS, merkle.CompactRange(), []
    erasure = events - 5
    for seq in range(events):
        at = at_of(seq)
        esc = f"esc-{seq // 10}"
        note = 'ça "marche"\n\u2028 ok' if seq % 2 else "plain"
        texts = {"title": f"Case {seq}", "note": note} if seq % 3 and seq != erasure else {}
        payload: dict[str, Any] = {"n": seq}
        salts = {}
        for name, text in texts.items():
            salts[name] = bytes([seq % 256, len(name)]) * 16
            payload[name] = {"commitment": commitment(salts[name], text)}
        action = "update"
        if seq == erasure:  # erases the title of seq 4, of esc-0
            action, esc = "content-erased", "esc-0"
            payload = {"fields": ["4:title"]}
        record = {"v": 1, "seq": seq, "escalation_id": esc, "version": seq % 10,
                  "action": action, "actor": "fiona", "at": at, "payload": payload}
        body = (canonical_bytes(record) if event_format == 1
                else event_record.encoded_bytes(record, None))
        leaf = merkle.leaf_hash(body)
        new_chain = merkle.chain_hash(chain, leaf)
        row = SimpleNamespace(seq=seq, escalation_id=esc, escalation_seq=seq % 10, at=at,
                              body=body, chain_hash=new_chain)
        rows.append(json.loads(event_line(row, chain)))
        for name, text in sorted(texts.items()):
            if (seq, name) == (4, "title"):
                rows.append({"type": "erased", "seq": 4, "field": name,
                             "erased_at": at_of(erasure), "erased_by": "fiona"})
            else:
                rows.append({"type": "content", "seq": seq, "field": name,
                             "salt": salts[name].hex(), "text": text})
        chain = new_chain
        rng.append(leaf)
        if rng.size % every == 1 or rng.size == events:
            notes.append(signed_note.sign(ORIGIN, rng.size, rng.root(), KEY, ORIGIN))
    head = [{"type": "baton-ledger-export", "format": 1, "origin": ORIGIN,
             "public_key": VKEY, "size": events, "exported_at": "2026-03-02T10:00:00Z"}]
    head += [{"type": "checkpoint", "note": n, "cosignatures": []} for n in notes]
    return head + rows + [{"type": "end", "size": events}]


BUNDLE = make_bundle()


def compact(items: list[dict[str, Any]]) -> list[str]:
    """The export's layout (the fast path reads these)."""
    return [line(i) for i in items]


def spaced(items: list[dict[str, Any]]) -> list[str]:
    """Another layout of the same records (only json.loads reads these)."""
    return [json.dumps(i) + "\n" for i in items]


def events(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [i for i in items if i["type"] == "event"]


def _set(n: int, key: str, value: Any) -> Callable[[list[dict[str, Any]]], None]:
    def edit(items: list[dict[str, Any]]) -> None:
        events(items)[n][key] = value
    return edit


def _flip_bytes(items: list[dict[str, Any]]) -> None:
    e = events(items)[120]
    e["bytes"] = e["bytes"][:40] + ("A" if e["bytes"][40] != "A" else "B") + e["bytes"][41:]


def _swap(items: list[dict[str, Any]]) -> None:
    a, b = items.index(events(items)[50]), items.index(events(items)[51])
    items[a], items[b] = items[b], items[a]


def _content(edit: Callable[[dict[str, Any]], None]) -> Callable[[list[dict[str, Any]]], None]:
    def apply(items: list[dict[str, Any]]) -> None:
        edit(next(i for i in items if i["type"] == "content" and i["seq"] == 160))
    return apply


TAMPERINGS: dict[str, Callable[[list[dict[str, Any]]], None]] = {
    "untouched": lambda items: None,
    "bytes": _flip_bytes,
    "leaf hash": _set(77, "leaf_hash", "00" * 32),
    "prev chain": _set(78, "prev_chain", "11" * 32),
    "chain hash": _set(79, "chain_hash", "22" * 32),
    "upper-case hex (same values)": _set(80, "leaf_hash",
                                         events(BUNDLE)[80]["leaf_hash"].upper()),
    "seq label": _set(90, "seq", 91),
    "at beside": _set(100, "at", "2020-01-01T00:00:00.000000Z"),
    "escalation_id beside": _set(101, "escalation_id", "esc-z"),
    "escalation_seq beside": _set(102, "escalation_seq", "1"),
    "bytes not base64": _set(103, "bytes", "not base64!"),
    "an event removed": lambda items: items.remove(events(items)[140]),
    "an event repeated": lambda items: items.insert(items.index(events(items)[141]),
                                                    dict(events(items)[141])),
    "two events swapped": _swap,
    "content edited": _content(lambda c: c.update(text="Card charged once")),
    "content salt": _content(lambda c: c.update(salt="ab" * 32)),
    "content with a lone surrogate": _content(lambda c: c.update(text="\ud800")),
    "content removed": lambda items: items.remove(
        next(i for i in items if i["type"] == "content" and i["seq"] == 161)),
    "erased record's actor": lambda items: next(
        i for i in items if i["type"] == "erased").update(erased_by="mallory"),
    "checkpoint root": lambda items: items.__setitem__(3, {
        **items[3], "note": signed_note.sign(ORIGIN, 81, bytes(32), KEY, ORIGIN)}),
    "end size": lambda items: items[-1].update(size=299),
    "after the end": lambda items: items.append(dict(events(items)[5])),
    "truncated": lambda items: items.pop(),
}


def problem(report: Report) -> str | None:
    return report.problems[0] if report.problems else None


@pytest.mark.parametrize("name", list(TAMPERINGS))
def test_the_fast_layout_names_the_same_first_problem_as_json_loads(name: str) -> None:
    items = copy.deepcopy(BUNDLE)
    TAMPERINGS[name](items)
    fast, plain = verify_bundle(compact(items), VKEY), verify_bundle(spaced(items), VKEY)
    assert problem(fast) == problem(plain)
    assert (fast.events, fast.contents, fast.erased) == \
        (plain.events, plain.contents, plain.erased)
    if name in ("untouched", "upper-case hex (same values)"):
        assert fast.ok and fast.events == 300 and fast.erased == 1, fast.problems
    else:
        assert not fast.ok, "the tampered bundle verified"


def test_structural_checks_the_ledger_but_not_content() -> None:
    items = copy.deepcopy(BUNDLE)
    TAMPERINGS["content edited"](items)
    report = verify_bundle(compact(items), VKEY, structural=True)
    assert report.ok and report.structural and report.contents == 0
    TAMPERINGS["bytes"](items)
    assert problem(verify_bundle(compact(items), VKEY, structural=True)) == \
        "seq 120: bytes do not match leaf hash"


# Several processes against one: tests/unit/test_verify_embedded.py, on both layouts.


# --- the binary bundle ----------------------------------------------------------------


def binary(items: list[dict[str, Any]], block: int = 64) -> bytes:
    """The binary bundle of the same records, with blocks of `block` events."""
    out = [verify_binary.MAGIC]
    out += [verify_binary.record(i) for i in items if i["type"] in ("baton-ledger-export",
                                                                     "checkpoint")]
    rows = events(items)
    for at in range(0, len(rows), block):
        run = rows[at:at + block]
        out.append(verify_binary.block(
            run[0]["seq"], bytes.fromhex(run[0]["prev_chain"]),
            [(bytes.fromhex(r["chain_hash"]), base64.b64decode(r["bytes"]))
             for r in run]))
    out.append(verify_binary.record(items[-1]))
    return b"".join(out)


def test_a_binary_bundle_verifies_on_one_core_and_on_several(tmp_path: Path) -> None:
    path = tmp_path / "bundle.bin"
    path.write_bytes(binary(BUNDLE))
    one = verify_path(str(path), VKEY, jobs=1)
    several = verify_path(str(path), VKEY, jobs=2, parallel_from=0)
    for report in (one, several):
        assert report.ok and report.structural, report.problems
        assert (report.events, report.checkpoints) == (300, 9)
    assert several.cores == 2


@pytest.mark.parametrize("seq", [0, 7, 63, 64, 200, 299])
def test_a_binary_bundle_with_edited_bytes_fails_at_their_seq(tmp_path: Path,
                                                               seq: int) -> None:
    items = copy.deepcopy(BUNDLE)
    event = events(items)[seq]
    body = base64.b64decode(event["bytes"]).replace(b'"actor":"fiona"', b'"actor":"bobby"')
    event["bytes"] = base64.b64encode(body).decode()
    path = tmp_path / "bundle.bin"
    path.write_bytes(binary(items))
    for jobs in (1, 2):
        assert problem(verify_path(str(path), VKEY, jobs=jobs, parallel_from=0)) == \
            f"seq {seq}: chain hash does not match the bytes and the chain so far"


def test_a_binary_bundle_checks_every_checkpoint_root(tmp_path: Path) -> None:
    items = copy.deepcopy(BUNDLE)
    TAMPERINGS["checkpoint root"](items)
    path = tmp_path / "bundle.bin"
    path.write_bytes(binary(items))
    for jobs in (1, 2):
        assert problem(verify_path(str(path), VKEY, jobs=jobs, parallel_from=0)) == \
            "checkpoint at size 81: root does not match the log (history before seq 81 " \
            "differs)"
