"""Every attack on the record is a test that expects its specific failure, on the bundle
in each layout (tests/bundle_layouts.py)."""

from __future__ import annotations

import base64
import io
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.log import merkle, signed_note
from audit.reads.export import verify_db, write_bundle
from audit.store import deflated
from audit.verifier.verify import Report, main, verify_bundle
from tests import bundle_layouts
from tests.forged_bundle import forge
from tests.integration.conftest import Ledger

ORIGIN = "baton.test/ledger"
LAYOUT = 2  # the layout check() writes: every test runs with each (the fixture below)


@pytest.fixture(autouse=True, params=bundle_layouts.LAYOUTS, ids=lambda n: f"format{n}")
def layout(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(f"{__name__}.LAYOUT", request.param)
    return int(request.param)


@pytest.fixture
def bundle(led: Ledger) -> list[dict]:
    for i in range(3):
        led.lifecycle(f"esc-{i}")  # 25 events, checkpoints at 1, 6, 11, 16, 21
    with led.engine.connect() as conn:
        out = io.StringIO()
        write_bundle(conn, out, ORIGIN, led.signer.vkey, led.now, bundle_format=1)
    return bundle_layouts.items(out.getvalue())  # written in LAYOUT by check()


def check(led: Ledger, items: list[dict], trusted: list[str] = (),
          key: str | None = "ours") -> Report:
    lines = bundle_layouts.lines(items, LAYOUT)
    return verify_bundle(lines, led.signer.vkey if key == "ours" else key, list(trusted))


UNLINKED = "chain hash does not match the bytes and the chain so far"  # format 2


def events(items: list[dict]) -> list[dict]:
    return [i for i in items if i["type"] == "event"]


def first_problem(report: Report) -> str:
    assert not report.ok
    return report.problems[0]


def test_an_untouched_export_verifies(led: Ledger, bundle: list[dict]) -> None:
    report = check(led, bundle)
    assert report.ok, report.problems
    assert (report.events, report.checkpoints) == (25, 5)
    assert report.contents > 0


def test_edit_a_rows_bytes(led: Ledger, bundle: list[dict]) -> None:
    row = events(bundle)[12]
    body = base64.b64decode(row["bytes"]).replace(b'"by":"fiona"', b'"by":"bobby"')
    assert body != base64.b64decode(row["bytes"])
    row["bytes"] = base64.b64encode(body).decode()
    assert first_problem(check(led, bundle)) == ("seq 12: bytes do not match leaf hash"
                                                 if LAYOUT == 1 else f"seq 12: {UNLINKED}")


def test_edit_a_hash(led: Ledger, bundle: list[dict]) -> None:
    row = events(bundle)[7]
    row["chain_hash"] = "00" * 32
    assert first_problem(check(led, bundle)) == \
        ("seq 7: chain hash does not match prev_chain and leaf" if LAYOUT == 1
         else f"seq 7: {UNLINKED}")


def test_edit_bytes_and_leaf_hash_together(led: Ledger, bundle: list[dict]) -> None:
    row = events(bundle)[9]
    body = base64.b64decode(row["bytes"]).replace(b'"ti":', b'"ti": ')
    row["bytes"] = base64.b64encode(body).decode()
    row["leaf_hash"] = merkle.leaf_hash(body).hex()
    assert first_problem(check(led, bundle)) == \
        ("seq 9: chain hash does not match prev_chain and leaf" if LAYOUT == 1
         else f"seq 9: {UNLINKED}")


def test_delete_a_row(led: Ledger, bundle: list[dict]) -> None:
    without = [i for i in bundle if i.get("seq") != 5 or i["type"] == "checkpoint"]
    assert first_problem(check(led, without)) == "seq 5: missing (the next event is seq 6)"
    bundle.remove(events(bundle)[5])  # a careless attacker leaves the row's content behind
    assert first_problem(check(led, bundle)) == (
        "seq 5: missing (content for seq 5 is present)" if LAYOUT == 1  # format 2: the
        else "seq 4 field context: no commitment for this content")  # line before's


def test_swap_two_rows(led: Ledger, bundle: list[dict]) -> None:
    a, b = events(bundle)[3], events(bundle)[4]
    ia, ib = bundle.index(a), bundle.index(b)
    bundle[ia], bundle[ib] = b, a
    assert first_problem(check(led, bundle)) == "seq 4: out of order or repeated after seq 2" \
        or "seq 3" in first_problem(check(led, bundle))


def test_swap_two_rows_keeping_seq_labels(led: Ledger, bundle: list[dict]) -> None:
    a, b = events(bundle)[3], events(bundle)[4]
    a["bytes"], b["bytes"] = b["bytes"], a["bytes"]
    a["leaf_hash"], b["leaf_hash"] = b["leaf_hash"], a["leaf_hash"]
    assert first_problem(check(led, bundle)) == \
        "seq 3: the event's bytes say seq 4 (rows reordered or replaced)"


def test_insert_a_row(led: Ledger, bundle: list[dict]) -> None:
    fake = dict(events(bundle)[10])
    bundle.insert(bundle.index(events(bundle)[10]), fake)
    assert first_problem(check(led, bundle)) == "seq 10: out of order or repeated after seq 10"


def test_cut_the_tail(led: Ledger, bundle: list[dict]) -> None:
    kept = [i for i in bundle if i["type"] != "event" or i["seq"] < 18]
    kept = [i for i in kept if i["type"] != "content" or i["seq"] < 18]
    kept[-1] = {"type": "end", "size": 18}
    assert first_problem(check(led, kept)) == "log ends at 17 but the checkpoint says 21 events"


def test_cut_the_tail_and_its_checkpoints_is_caught_by_a_held_checkpoint(
        led: Ledger, bundle: list[dict]) -> None:
    held = [i["note"] for i in bundle if i["type"] == "checkpoint"][-1]
    kept = [i for i in bundle if not (i["type"] in ("event", "content") and i["seq"] >= 12)]
    kept = [i for i in kept if i["type"] != "checkpoint"
            or signed_note.open_note(i["note"], led.signer.vkey).size <= 12]
    kept[-1] = {"type": "end", "size": 12}
    assert check(led, kept).ok, "without a held checkpoint a clean cut is undetectable"
    assert first_problem(check(led, kept, [held])) == \
        "log ends at 11 but the trusted checkpoint says 21 events"


def test_truncated_file(led: Ledger, bundle: list[dict]) -> None:
    assert first_problem(check(led, bundle[:-1])).startswith("bundle is truncated")


def rename_actor(seq: int, body: bytes) -> bytes:
    return body.replace(b'"by":"fiona"', b'"by":"bobby"')


def test_rewrite_everything_and_resign_with_an_attackers_key(
        led: Ledger, bundle: list[dict]) -> None:
    mallory = Ed25519PrivateKey.generate()
    forged = forge(bundle, mallory, rename_actor)
    forged[0] = {**forged[0], "public_key": signed_note.verifier_key(ORIGIN, mallory.public_key())}
    assert check(led, forged, key=None).ok, "the bundle's own key proves nothing"
    assert first_problem(check(led, forged)).startswith(
        "checkpoint: checkpoint at size 1: not signed by the trusted key baton.test/ledger+")


def test_rewrite_and_resign_with_our_own_key_needs_a_held_checkpoint(
        led: Ledger, bundle: list[dict]) -> None:
    """Whoever holds the signing key can forge a consistent history. Only a checkpoint
    an auditor kept from before the rewrite exposes it: that is why they must keep one."""
    held = [i["note"] for i in bundle if i["type"] == "checkpoint"][2]
    forged = forge(bundle, led.signer.key, rename_actor)
    assert check(led, forged).ok
    assert first_problem(check(led, forged, [held])) == \
        "trusted checkpoint at size 11: root does not match the log " \
        "(history before seq 11 differs)"


def test_edited_content_is_tampering(led: Ledger, bundle: list[dict]) -> None:
    item = next(i for i in bundle if i["type"] == "content" and i["field"] == "title")
    item["text"] = "Card charged once"
    assert first_problem(check(led, bundle)) == \
        f"seq {item['seq']} field title: content does not match its commitment (edited)"


def test_wrong_key_and_unknown_origin(led: Ledger, bundle: list[dict]) -> None:
    other = signed_note.verifier_key(ORIGIN, Ed25519PrivateKey.generate().public_key())
    assert "not signed by the trusted key" in first_problem(check(led, bundle, key=other))
    bundle[0]["origin"] = "evil.example/log"
    assert "unknown checkpoint origin 'baton.test/ledger'" in first_problem(check(led, bundle))


# Leaf hashes are not stored (migration 0015): an edited body shows first as a column that
# no longer repeats it, and otherwise as a chain hash that no longer links it.
@pytest.mark.parametrize("old,new,problem", [
    ("fiona", "bobby", "seq 4: the line's actor 'fiona' is not the signed bytes' 'bobby' "
                       "(edited beside the bytes)"),
    ("T11:04:00", "T12:04:00", "seq 4: chain hash does not match prev_chain and leaf"),
])
def test_live_database_edits_are_found_by_verify_db(sqlite_led: Ledger, old: str, new: str,
                                                    problem: str) -> None:
    sqlite_led.lifecycle("esc-a")
    raw = sqlite3.connect(sqlite_led.path)
    raw.execute("DROP TRIGGER ledger_no_update")  # what an attacker with the file can do
    (stored,) = raw.execute("SELECT body FROM ledger WHERE seq = 4").fetchone()
    assert stored[:1] == deflated.TAG_1  # kept deflated: the edit is made on the bytes
    body = deflated.unpack(stored)
    assert old.encode() in body
    raw.execute("UPDATE ledger SET body = ? WHERE seq = 4",
                (deflated.pack(body.replace(old.encode(), new.encode())),))
    raw.commit()
    raw.close()
    with sqlite_led.engine.connect() as conn:
        report = verify_db(conn, sqlite_led.signer.vkey, ORIGIN)
    assert first_problem(report) == problem


def test_cli_exit_codes_and_messages(led: Ledger, bundle: list[dict], tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "bundle.jsonl"
    good.write_text("".join(bundle_layouts.lines(bundle, LAYOUT)))
    key = tmp_path / "key.pub"
    key.write_text(led.signer.vkey + "\n")
    assert main([str(good), "--public-key", str(key)]) == 0
    assert capsys.readouterr().out.startswith("OK: 25 events, 5 checkpoints")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("this is not json\n")
    assert main([str(bad), "--public-key", str(key)]) == 2
    assert "line 1: not JSON" in capsys.readouterr().err
    key.write_text("garbage")
    assert main([str(good), "--public-key", str(key)]) == 2
    assert "not a verifier key" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.jsonl")]) == 2


def test_a_checkpoint_whose_root_was_edited_fails_its_signature(
        led: Ledger, bundle: list[dict]) -> None:
    cp = next(i for i in bundle if i["type"] == "checkpoint")
    lines = cp["note"].split("\n")
    lines[2] = base64.b64encode(b"\x01" * 32).decode()
    cp["note"] = "\n".join(lines)
    assert first_problem(check(led, bundle)) == \
        "checkpoint: checkpoint at size 1: signature does not verify"


def test_a_flipped_byte_in_a_deflated_body_is_found_by_verify_db(sqlite_led: Ledger) -> None:
    """SQLite keeps bodies deflated (deflated.py): a byte changed in the stored form,
    not re-deflated, reads as other bytes, and the verifier names the seq."""
    sqlite_led.lifecycle("esc-a")
    raw = sqlite3.connect(sqlite_led.path)
    raw.execute("DROP TRIGGER ledger_no_update")
    (stored,) = raw.execute("SELECT body FROM ledger WHERE seq = 4").fetchone()
    flipped = bytearray(stored)
    flipped[len(flipped) // 2] ^= 0x01
    raw.execute("UPDATE ledger SET body = ? WHERE seq = 4", (bytes(flipped),))
    raw.commit()
    raw.close()
    with sqlite_led.engine.connect() as conn:
        report = verify_db(conn, sqlite_led.signer.vkey, ORIGIN)
    assert first_problem(report).startswith("seq 4: "), first_problem(report)
