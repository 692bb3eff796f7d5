"""Reads of the audit log are recorded (issue 28, point 5; PCI DSS v4 10.2.1.3): each
request that reads the log - its events, proofs, an export (CLI, dashboard), the audit
page, an access review - appends one audit-read event with who read, by which rule, what,
the range and the tree size served; the published checkpoint and tiles record nothing;
the access report lists the readers; an export holding audit-reads still verifies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from api.cli import main
from audit.store import policy_refs
from audit.store.schema import ledger
from audit.verifier import verify
from tests import bundle_layouts
from tests.initialised_app import Client, make_client
from tests.integration.guarded_app import signed_in


def _size(c: Client) -> int:
    with c.app.extensions["baton"].engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(ledger)).scalar_one())


def _reads(c: Client) -> list[dict[str, Any]]:
    """The audit-read events, oldest first, with their seq."""
    with c.app.extensions["baton"].engine.connect() as conn:
        rows = conn.execute(select(ledger.c.seq, ledger.c.body).where(
            ledger.c.action == "audit-read").order_by(ledger.c.seq)).all()
        return [{**rec, "seq": seq} for (seq, _), rec in
                zip(rows, policy_refs.records(conn, [r[1] for r in rows]), strict=True)]


@pytest.fixture
def c(tmp_path: Path, database_url: str) -> Iterator[Client]:
    """A client on both databases, with three acknowledged escalations."""
    client = make_client(tmp_path, database_url=database_url)
    for _ in range(3):
        eid = client.open()
        client.act(eid, "alice", "acknowledge", {"note": "x"})
    yield client
    client.app.extensions["baton"].engine.dispose()


def test_one_audit_read_per_request_with_range_and_size(c: Client) -> None:
    size = _size(c)
    page = c.get("/audit/events?limit=2", "aud")
    assert page.status_code == 200 and [e["seq"] for e in page.json["items"]] == [0, 1]
    [first] = _reads(c)
    assert (first["seq"], first["actor"], first["role"], first["rule"]) == (
        size, "aud", "auditor", "permission.read-audit")
    assert first["escalation_id"] is None and first["payload"] == {
        "read": "audit-events", "path": "api", "size": size, "first": 0, "last": 1,
        "count": 2, "query": {"limit": 2}}
    rest = c.get("/audit/events?after=1&limit=1000&action=acknowledge", "aud").json
    second = _reads(c)[-1]["payload"]
    assert len(_reads(c)) == 2, "one per request, not one per entry"
    assert second["count"] == len(rest["items"]) == 3 and second["size"] == size + 1
    assert second["query"] == {"action": "acknowledge", "after": 1, "limit": 1000}
    assert second["first"] == rest["items"][0]["seq"]
    assert second["last"] == rest["items"][-1]["seq"]

    assert c.get("/audit/events", "alice").status_code == 403
    for published in ("/audit/checkpoint", "/audit/public-key"):
        assert c.get(published, "alice").status_code == 200
    assert c.http.get("/log/checkpoint").status_code == 200
    assert len(_reads(c)) == 2, "refusals and published documents record nothing"

    assert c.get(f"/audit/proof/inclusion?seq=1&size={size}", "alice").status_code == 200
    proof = _reads(c)[-1]
    assert (proof["actor"], proof["rule"], proof["payload"]["read"]) == (
        "alice", "read.proofs", "proof")
    assert (proof["payload"]["first"], proof["payload"]["last"],
            proof["payload"]["size"]) == (1, 1, size)
    assert c.get(f"/audit/proof/consistency?from=2&to={size}", "aud").status_code == 200
    assert _reads(c)[-1]["payload"]["query"] == {"proof": "consistency", "from": 2}


def test_the_access_report_lists_who_read_the_log(c: Client) -> None:
    c.get("/audit/events?limit=1", "aud")
    plain = c.http.get("/api/v1/access", headers=c.h("aud"))
    assert plain.status_code == 200 and "reads" not in plain.json
    assert _reads(c)[-1]["payload"]["read"] == "access-report"
    size = _size(c)
    found = c.http.get("/api/v1/access?reads=true", headers=c.h("root")).json["reads"]
    assert [(r["actor"], r["read"], r["size"]) for r in found] == [
        ("aud", "audit-events", size - 2), ("aud", "access-report", size - 1)]
    assert found[0]["first"] == found[0]["last"] == 0 and found[0]["rule"] == (
        "permission.read-audit")
    assert _reads(c)[-1]["actor"] == "root", "the review itself is recorded"
    assert c.http.get("/api/v1/access", headers=c.h("alice")).status_code == 403
    assert _reads(c)[-1]["actor"] == "root"


def test_cli_export_proof_and_report_record_and_the_export_verifies(
        c: Client, tmp_path: Path) -> None:
    c.get("/audit/events?limit=3", "aud")  # an audit-read inside the export
    baton = c.app.extensions["baton"]
    env = {"BATON_DATABASE_URL": baton.settings["BATON_DATABASE_URL"],
           "BATON_SIGNING_KEY": baton.settings["BATON_SIGNING_KEY"]}
    runner = CliRunner()
    bundle = tmp_path / "export.jsonl"
    done = runner.invoke(main, ["audit", "export", "-o", str(bundle), "--as", "erin"], env=env)
    assert done.exit_code == 0, done.output
    export = _reads(c)[-1]
    events = [i for i in bundle_layouts.items(bundle.read_text()) if i["type"] == "event"]
    assert export["actor"] == "erin" and export["payload"]["path"] == "cli"
    assert export["payload"]["size"] == len(events) == export["seq"]
    assert (export["payload"]["first"], export["payload"]["last"]) == (0, len(events) - 1)
    assert verify.main([str(bundle)]) == 0  # an export holding audit-reads verifies

    proof = runner.invoke(main, ["audit", "proof", "2", "--as", "erin"], env=env)
    assert proof.exit_code == 0, proof.output
    assert _reads(c)[-1]["payload"]["first"] == 2 and _reads(c)[-1]["payload"]["read"] == (
        "proof")
    report = runner.invoke(main, ["access", "report", "--reads", "--format", "json",
                                  "--as", "erin"], env=env)
    assert report.exit_code == 0, report.output
    shown = json.loads(report.stdout)["items"]
    assert [(r["actor"], r["read"], r["path"]) for r in shown] == [
        ("aud", "audit-events", "api"), ("erin", "export", "cli"), ("erin", "proof", "cli")]
    table = runner.invoke(main, ["access", "report", "--reads"], env=env)
    assert table.exit_code == 0 and table.stdout.splitlines()[0].split()[:3] == [
        "seq", "at", "actor"]
    assert len(table.stdout.splitlines()) == 5  # header, three reads, the report before


def test_the_dashboards_audit_page_and_export_record(c: Client, tmp_path: Path) -> None:
    csrf = signed_in(c, "aud")
    before = len(_reads(c))
    assert c.http.get("/ui/audit").status_code == 200
    page = _reads(c)[-1]
    assert len(_reads(c)) == before + 1 and page["payload"]["read"] == "audit-page"
    assert page["payload"]["path"] == "ui" and page["payload"]["count"] == page["seq"]
    assert c.http.get("/ui/audit/checkpoint").status_code == 200
    assert len(_reads(c)) == before + 1, "the checkpoint is published: not recorded"
    out = c.http.post("/ui/audit/export", data={"csrf_token": csrf})
    assert out.status_code == 200
    body = out.get_data(as_text=True).splitlines()
    exported = _reads(c)[-1]
    assert exported["payload"]["read"] == "export" and exported["actor"] == "aud"
    assert json.loads(body[-1]) == {"type": "end", "size": exported["payload"]["size"]}
    bundle = tmp_path / "ui-export.jsonl"
    bundle.write_text("\n".join(body) + "\n")
    assert verify.main([str(bundle)]) == 0


def test_the_apis_export_records_and_verifies(c: Client, tmp_path: Path) -> None:
    assert c.get("/audit/export", "alice").status_code == 403
    got = c.get("/audit/export", "aud")
    assert got.status_code == 200 and got.mimetype == "application/x-ndjson"
    exported = _reads(c)[-1]
    lines = got.get_data(as_text=True).splitlines()
    assert (exported["actor"], exported["payload"]["read"]) == ("aud", "export")
    assert json.loads(lines[-1])["size"] == exported["payload"]["size"] == exported["seq"]
    bundle = tmp_path / "api-export.jsonl"
    bundle.write_text("\n".join(lines) + "\n")
    assert verify.main([str(bundle)]) == 0
    again = c.get("/audit/export", "root").get_data(as_text=True).splitlines()
    bundle.write_text("\n".join(again) + "\n")
    assert verify.main([str(bundle)]) == 0  # it holds the first export's audit-read
    assert exported["seq"] < json.loads(again[-1])["size"]  # the first read is inside
