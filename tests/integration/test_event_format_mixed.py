"""A log that holds format 1 events (written before issue #29) and format 2 events after
them verifies as one, reads as one, and every edit of a format 2 event is named."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from audit.log import event_record
from audit.log.canonical import canonical_bytes
from audit.log.cloud_events import cloud_event
from audit.reads import audit_events, records
from audit.reads.export import verify_db, write_binary_bundle, write_bundle
from audit.store.outbox import SqlOutbox
from audit.verifier import verify_parallel
from audit.verifier.verify import Report, _lines_parallel, verify_bundle, verify_path
from tests import bundle_layouts, forged_bundle
from tests.integration.conftest import Ledger
from tests.unit.fakes import DEMO_ACTORS
from workflow import erasure, policy_change, policy_loader

ORIGIN = "baton.test/ledger"
FIRST_V2 = 9  # esc-a's 8 events (1-8) are format 1, the policy (0) and the rest 2


def format_1(record: dict[str, Any], policy_seq: int | None) -> bytes:
    """The bytes Baton wrote before format 2."""
    return canonical_bytes(record)


@pytest.fixture
def mixed(led: Ledger, monkeypatch: pytest.MonkeyPatch) -> Ledger:
    """esc-a (cust-42) in format 1; esc-b (cust-7) and the erasure of cust-42 in 2."""
    with monkeypatch.context() as m:
        m.setattr(event_record, "encoded_bytes", format_1)
        led.lifecycle("esc-a")
    led.lifecycle("esc-b", customer={"id": "cust-7", "name": "Grace Hopper"})
    with led.uow() as uow:
        erasure.erase_customer(uow=uow, actor=DEMO_ACTORS["root"], customer_id="cust-42",
                               policy=led.policy, now=led.tick())
        uow.commit()
    with led.uow() as uow:
        uow.checkpoint(led.tick(), force=True)
        uow.commit()
    return led


LAYOUT = 2  # the layout check() writes: every test runs with each (the fixture below)


@pytest.fixture(autouse=True, params=bundle_layouts.LAYOUTS, ids=lambda n: f"format{n}")
def layout(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(f"{__name__}.LAYOUT", request.param)
    return int(request.param)


def export(led: Ledger) -> list[dict[str, Any]]:
    with led.engine.connect() as conn:
        out = io.StringIO()
        write_bundle(conn, out, ORIGIN, led.signer.vkey, led.now, bundle_format=1)
    return bundle_layouts.items(out.getvalue())  # written in LAYOUT by check()


def events(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [i for i in items if i["type"] == "event"]


def signed(item: dict[str, Any]) -> dict[str, Any]:
    return json.loads(base64.b64decode(item["bytes"]))


def check(led: Ledger, items: list[dict[str, Any]]) -> Report:
    return verify_bundle(bundle_layouts.lines(items, LAYOUT), led.signer.vkey)


def test_a_mixed_log_verifies_everywhere(mixed: Ledger, tmp_path: Path) -> None:
    bundle = export(mixed)
    formats = [signed(e)["v"] for e in events(bundle)]
    assert formats == [2] + [1] * (FIRST_V2 - 1) + [2] * (len(formats) - FIRST_V2)
    report = check(mixed, bundle)
    assert report.ok, report.problems
    assert (report.contents, report.erased) == (13, 13)
    path = tmp_path / "bundle.jsonl"
    path.write_text("".join(bundle_layouts.lines(bundle, LAYOUT)), encoding="utf-8")
    binary = tmp_path / "bundle.bin"
    with mixed.engine.connect() as conn, binary.open("wb") as fh:
        write_binary_bundle(conn, fh, ORIGIN, mixed.signer.vkey, mixed.now)
        assert verify_db(conn, mixed.signer.vkey, ORIGIN).ok
    for jobs in (1, 2):
        for bundle_path in (path, binary):
            found = verify_path(str(bundle_path), mixed.signer.vkey, jobs=jobs,
                                parallel_from=0)
            assert found.ok and found.events == len(formats), found.problems
            assert found.cores == jobs, "the parallel path verified it (no fallback)"


def test_both_formats_read_as_the_same_records(mixed: Ledger) -> None:
    with mixed.engine.connect() as conn:
        a, b = records.history(conn, "esc-a"), records.history(conn, "esc-b")
    assert a[-1]["action"] == "content-erased"  # format 2, of esc-a
    a = a[:-1]
    assert [list(r) for r in a] == [list(r) for r in b]
    assert [r["policy_version"] for r in a + b] == [mixed.policy.version] * 16
    assert a[0]["payload"]["title"] is None and a[0]["erased"]["title"]["by"] == "root"
    assert b[0]["payload"]["customer_name"] == "Grace Hopper" and b[0]["erased"] == {}
    same = ("v", "version", "action", "actor", "role", "from_state", "to_state",
            "from_owner", "to_owner", "tier", "rule")
    assert [{k: r[k] for k in same} for r in a] == [{k: r[k] for k in same} for r in b]


# --- edits of format 2 events ------------------------------------------------------


def forge(bundle: list[dict[str, Any]], led: Ledger, seq: int,
          edit: Callable[[dict[str, Any]], None]) -> list[dict[str, Any]]:
    """Edit event `seq`'s signed JSON, re-encode it canonically, recompute every hash and
    re-sign every checkpoint with the log's own key: only the contents can tell."""

    def edited(at: int, body: bytes) -> bytes:
        if at != seq:
            return body
        obj = json.loads(body)
        edit(obj)
        return canonical_bytes(obj)

    return forged_bundle.forge(bundle, led.signer.key, edited)


def problems(led: Ledger, items: list[dict[str, Any]], tmp_path: Path) -> set[str]:
    """The first problem the serial and the parallel verifier name (they must agree)."""
    path = tmp_path / "forged.jsonl"
    path.write_text("".join(bundle_layouts.lines(items, LAYOUT)), encoding="utf-8")
    found = {check(led, items).problems[0]}
    found.add(verify_path(str(path), led.signer.vkey, jobs=2, parallel_from=0).problems[0])
    with pytest.raises(verify_parallel.Fallback) as parallel:  # what made it fall back
        _lines_parallel(str(path), led.signer.vkey, [], None, None, False, 2)
    found.add(str(parallel.value))
    return found


def test_an_edited_byte_of_a_format_2_event(mixed: Ledger) -> None:
    bundle = export(mixed)
    row = events(bundle)[FIRST_V2 + 3]
    body = base64.b64decode(row["bytes"])
    assert b'"by":"fiona"' in body
    row["bytes"] = base64.b64encode(body.replace(b'"by":"fiona"', b'"by":"fionb"')).decode()
    assert check(mixed, bundle).problems == [f"seq {row['seq']}: " + (
        "bytes do not match leaf hash" if LAYOUT == 1
        else "chain hash does not match the bytes and the chain so far")]


@pytest.mark.parametrize("ref", [1, 5, 40, -1])
def test_an_edited_policy_reference_is_named_with_its_seq(mixed: Ledger, tmp_path: Path,
                                                          ref: int) -> None:
    bundle = export(mixed)
    seq = FIRST_V2 + 2
    assert signed(events(bundle)[seq])["pr"] == 0
    forged = forge(bundle, mixed, seq, lambda obj: obj.update(pr=ref))
    assert problems(mixed, forged, tmp_path) == {
        f"seq {seq}: policy reference {ref} is not an earlier policy-applied event"}


def test_a_policy_reference_to_a_later_policy_applied_event_is_refused(
        mixed: Ledger, tmp_path: Path) -> None:
    bundle = export(mixed)
    seq = FIRST_V2 + 2
    forged = forge(bundle, mixed, seq, lambda obj: obj.update(pr=seq))  # itself
    assert problems(mixed, forged, tmp_path) == {
        f"seq {seq}: policy reference {seq} is not an earlier policy-applied event"}


def test_an_edited_commitment_fails_its_content(mixed: Ledger, tmp_path: Path) -> None:
    bundle = export(mixed)
    seq = FIRST_V2  # esc-b's opening: its content is kept
    assert "title" in signed(events(bundle)[seq])["c"]

    def edit(obj: dict[str, Any]) -> None:
        obj["c"]["title"] = "A" + obj["c"]["title"][1:-1] + "A"

    assert problems(mixed, forge(bundle, mixed, seq, edit), tmp_path) == {
        f"seq {seq} field title: content does not match its commitment (edited)"}


def test_a_commitment_moved_into_the_clear_payload_is_refused(mixed: Ledger,
                                                              tmp_path: Path) -> None:
    bundle = export(mixed)
    seq = FIRST_V2

    def edit(obj: dict[str, Any]) -> None:
        obj["payload"]["title"] = "Card charged twice"

    def uncommit(obj: dict[str, Any]) -> None:
        obj["payload"]["title"] = obj["c"].pop("title")

    assert problems(mixed, forge(bundle, mixed, seq, edit), tmp_path) == {
        f"seq {seq}: payload field 'title' is both committed and in clear"}
    assert problems(mixed, forge(bundle, mixed, seq, uncommit), tmp_path) == {
        f"seq {seq} field title: no commitment for this content"}


def apply(led: Ledger, text: str) -> int | None:
    with led.uow() as uow:
        led.policy, seq = policy_change.apply_policy(
            uow=uow, actor=DEMO_ACTORS["root"], text=text, now=led.tick())
        uow.commit()
    return seq


def test_policy_references_follow_policy_changes(led: Ledger) -> None:
    """Each event names the policy-applied event of its version; a new version's own
    policy-applied event holds the hash; re-applying a version refers to its first."""
    first = led.policy.version
    default = policy_loader.default_text()
    led.open("esc-a")
    ours = apply(led, default.replace('name = "baton-default"', 'name = "ours"'))
    led.act("esc-a", "alice", "acknowledge")
    again = apply(led, default)
    led.act("esc-a", "alice", "escalate")
    bundle = export(led)
    refs = [(signed(e)["a"], signed(e).get("pr"), signed(e).get("pv"))
            for e in events(bundle)]
    assert refs == [("policy-applied", None, first), ("open", 0, None),
                    ("policy-applied", None, refs[2][2]),
                    ("acknowledge", ours, None), ("policy-applied", 0, None),
                    ("escalate", 0, None)]
    assert refs[2][2] != first and again == ours + 2
    assert check(led, bundle).ok
    with led.engine.connect() as conn:
        shown = [r["policy_version"] for r in records.history(conn, "esc-a")]
    assert shown == [first, refs[2][2], first]


def test_the_stream_and_the_outbox_send_the_same_cloud_event(
        led: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """The outbox's CloudEvent is made from the record in memory, the stream's from the
    stored bytes: format 2 bytes decode to that same record."""
    sent: dict[int, str] = {}

    def enqueue_ledger(self: SqlOutbox, record: dict[str, Any], seq: int,
                       origin: str) -> int:
        sent[seq] = json.dumps(cloud_event(record, origin), sort_keys=True)
        return 0

    monkeypatch.setattr(SqlOutbox, "enqueue_ledger", enqueue_ledger)
    led.lifecycle("esc-a")
    with led.engine.connect() as conn:
        batch = audit_events.stream_batch(conn, 0, 100)  # after the policy applied
    assert [seq for seq, _ in batch.rows] == sorted(sent) and len(sent) == 8
    for seq, rec in batch.rows:
        assert json.dumps(cloud_event(rec, ORIGIN), sort_keys=True) == sent[seq]
