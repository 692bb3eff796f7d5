"""The verifier accounts for everything in a bundle: every commitment is present with its
text or named by a content-erased event, and every field a line repeats beside the signed
bytes says what they say (issue 15); on the bundle in each layout
(tests/bundle_layouts.py)."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.log import signed_note
from audit.reads.export import verify_db, write_bundle
from audit.store import db, migrate
from audit.store.uow import SqlUnitOfWork
from audit.verifier.verify import Report, print_report, verify_bundle
from tests import bundle_layouts
from tests.integration.conftest import T0, Ledger
from tests.unit.fakes import DEMO_ACTORS
from workflow import erasure, policy_change, policy_loader

ORIGIN = "baton.test/ledger"
LAYOUT = 2  # the layout check() writes: every test runs with each (the fixture below)


@pytest.fixture(autouse=True, params=bundle_layouts.LAYOUTS, ids=lambda n: f"format{n}")
def layout(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(f"{__name__}.LAYOUT", request.param)
    return int(request.param)


def export(led: Ledger) -> list[dict]:
    with led.engine.connect() as conn:
        out = io.StringIO()
        write_bundle(conn, out, ORIGIN, led.signer.vkey, led.now, bundle_format=1)
    return bundle_layouts.items(out.getvalue())  # written in LAYOUT by check()


def check(led: Ledger, items: list[dict]) -> Report:
    return verify_bundle(bundle_layouts.lines(items, LAYOUT), led.signer.vkey)


def problem(report: Report) -> str:
    assert not report.ok, "the edited bundle verified"
    return report.problems[0]


def erase(led: Ledger, customer: str = "cust-42") -> None:
    with led.uow() as uow:
        erasure.erase_customer(uow=uow, actor=DEMO_ACTORS["root"], customer_id=customer,
                               policy=led.policy, now=led.tick())
        uow.commit()


@pytest.fixture
def two(led: Ledger) -> Ledger:
    """esc-a of cust-42 (erased), esc-b of cust-7 (kept)."""
    led.lifecycle("esc-a")
    led.lifecycle("esc-b", customer={"id": "cust-7", "name": "Grace Hopper"})
    erase(led)
    return led


def test_an_erased_bundle_verifies_and_counts_its_erased_fields(two: Ledger) -> None:
    report = check(two, export(two))
    assert report.ok, report.problems
    assert report.erased == 13 and report.contents == 13


def test_a_deleted_content_line_fails_naming_seq_and_field(two: Ledger) -> None:
    bundle = export(two)
    line = next(i for i in bundle if i["type"] == "content" and i["field"] == "note")
    bundle.remove(line)
    assert problem(check(two, bundle)) == (
        f"seq {line['seq']} field note: committed, but neither its text nor a content-erased "
        "event naming it is in the bundle (content removed)")


def test_content_replaced_by_an_erased_record_fails(two: Ledger) -> None:
    bundle = export(two)
    at = next(n for n, i in enumerate(bundle) if i["type"] == "content")
    line = bundle[at]
    bundle[at] = {"type": "erased", "seq": line["seq"], "field": line["field"],
                  "erased_at": two.now.isoformat(), "erased_by": "root"}
    assert problem(check(two, bundle)) == (
        f"seq {line['seq']} field {line['field']}: marked erased, but no content-erased "
        "event of its escalation names it")


def test_a_dropped_erased_record_is_still_accounted_for_by_its_event(two: Ledger) -> None:
    bundle = [i for i in export(two) if i["type"] != "erased"]
    report = check(two, bundle)
    assert report.ok, report.problems
    assert report.erased == 13


def test_an_erased_record_must_say_when_and_by_whom_the_event_says(two: Ledger) -> None:
    bundle = export(two)
    line = next(i for i in bundle if i["type"] == "erased")
    line["erased_by"] = "alice"
    assert problem(check(two, bundle)).startswith(
        f"seq {line['seq']} field {line['field']}: the erased record says ")


def test_a_repeated_content_line_fails(two: Ledger) -> None:
    bundle = export(two)
    at = next(n for n, i in enumerate(bundle) if i["type"] == "content")
    bundle.insert(at, dict(bundle[at]))
    assert "content repeated" in problem(check(two, bundle))


# Bundle format 1 alone: format 2 repeats no field beside the signed bytes (a line with
# an element more fails; tests/unit/test_verify_embedded.py).
@pytest.mark.parametrize("layout", [1], indirect=True, ids=["format1"])
@pytest.mark.parametrize("name,value", [("at", "2020-01-01T00:00:00.000000Z"),
                                        ("escalation_id", "esc-z"), ("escalation_seq", 99)])
def test_fields_beside_the_signed_bytes_are_checked(two: Ledger, name: str,
                                                    value: object, layout: int) -> None:
    bundle = export(two)
    line = [i for i in bundle if i["type"] == "event"][3]
    line[name] = value
    assert problem(check(two, bundle)).startswith(f"seq 3: the line's {name} {value!r} is "
                                                  "not the signed bytes' ")
    del line[name]
    assert problem(check(two, bundle)).startswith(f"seq 3: the line has no {name}")


def test_verify_db_accounts_for_erasures_and_checks_the_columns(sqlite_led: Ledger) -> None:
    sqlite_led.lifecycle("esc-a")
    erase(sqlite_led)
    with sqlite_led.engine.connect() as conn:
        report = verify_db(conn, sqlite_led.signer.vkey, ORIGIN)
    assert report.ok and report.erased == 13, report.problems
    raw = sqlite3.connect(sqlite_led.path)
    raw.execute("DROP TRIGGER ledger_no_update")  # what an attacker with the file can do
    raw.execute("UPDATE ledger SET actor = 'bobby' WHERE seq = 4")
    raw.commit()
    raw.close()
    with sqlite_led.engine.connect() as conn:
        report = verify_db(conn, sqlite_led.signer.vkey, ORIGIN)
    assert problem(report) == \
        "seq 4: the line's actor 'bobby' is not the signed bytes' 'fiona' (edited beside the bytes)"


def test_verify_db_without_checkpoints_warns_and_exits_0(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'bare.db'}")
    migrate.upgrade(engine)
    with SqlUnitOfWork(engine, None) as uow:  # no signer: nothing signs a checkpoint
        policy_change.apply_policy(uow=uow, actor=DEMO_ACTORS["root"],
                                   text=policy_loader.default_text(), now=T0,
                                   source="default")
        uow.commit()
    vkey = signed_note.verifier_key(ORIGIN, Ed25519PrivateKey.generate().public_key())
    with engine.connect() as conn:
        report = verify_db(conn, vkey, ORIGIN)
    assert report.ok and report.checkpoints == 0
    assert report.warnings == ["no checkpoint: nothing signed vouches for the 1 event "
                               "(sign one with `baton audit checkpoint` and keep a copy)"]
    out = io.StringIO()
    assert print_report(report, out) == 0
    first, second = out.getvalue().splitlines()
    assert first.startswith("OK: 1 events, 0 checkpoints") and first.endswith("(1 warning)")
    assert second.startswith("warning: no checkpoint")
    engine.dispose()


def test_the_export_writes_each_event_with_its_content_on_one_line(two: Ledger) -> None:
    """Format 2, as written by default, is format 1's records folded as
    tests/bundle_layouts.py folds them (what the tests of both layouts rely on)."""
    with two.engine.connect() as conn:
        old, new = io.StringIO(), io.StringIO()
        write_bundle(conn, old, ORIGIN, two.signer.vkey, two.now, bundle_format=1)
        write_bundle(conn, new, ORIGIN, two.signer.vkey, two.now)
    folded = bundle_layouts.lines(bundle_layouts.items(old.getvalue()), 2)
    written = new.getvalue().splitlines(keepends=True)
    assert [x for x in written if x.startswith("[")] == [x for x in folded if x.startswith("[")]
    assert len([x for x in written if x.startswith("[")]) == check(two, export(two)).events
    assert '"format":2' in written[0] and not any('"type":"content"' in x for x in written)
