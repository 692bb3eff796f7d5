"""Access on the ledger (issue 28, point 1): grants, changes, tokens, emails and
deprovisionings are ledger events; the access report at an instant (API, CLI and the
offline verifier from an export) says who held which role, since when, granted by whom,
through which path; an edited grant event fails verification; genesis grants are written
once; a deprovisioning leaves no escalation without an owner."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select

from api.cli import main
from api.container import ACCOUNTS
from audit.log.event_record import record_of
from audit.reads.export import write_bundle
from audit.store import policy_refs
from audit.store.schema import escalations, ledger
from audit.verifier import verify
from tests import bundle_layouts
from tests.initialised_app import Client, Clock, make_client
from workflow import admin_handlers, handlers
from workflow.model import Actor, rfc3339

ROOT = Actor("root", ("admin",), None)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _client(tmp_path: Path, url: str | None = None) -> tuple[Client, Clock, Any]:
    clock = Clock(T0)
    c = make_client(tmp_path, clock=clock, database_url=url)
    baton = c.app.extensions["baton"]
    admin_handlers.record_genesis(uow=baton.uow, accounts=ACCOUNTS, now=baton.now())
    return c, clock, baton


def _at(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _rfc(moment: datetime) -> str:
    return rfc3339(moment)


def _report(c: Client, moment: datetime) -> dict[tuple[str, str], dict[str, Any]]:
    r = c.http.get("/api/v1/access", query_string={"at": _at(moment)}, headers=c.h("aud"))
    assert r.status_code == 200, r.json
    assert r.json["problems"] == []
    return {(row["actor"], row["role"]): row for row in r.json["items"]}


def _story(c: Client, clock: Clock, baton: Any) -> dict[str, datetime]:
    """A grant, a role change and a deprovisioning of `nina`, who owns an escalation."""
    clock.advance(hours=1)
    granted = baton.now()
    added = admin_handlers.add_actor(uow=baton.uow, accounts=ACCOUNTS, handle="nina",
                                     roles=["agent"], team="frontline", email=None,
                                     now=granted, actor=ROOT)
    c.tokens["nina"] = added.token
    eid = c.open("nina")
    assert c.act(eid, "nina", "acknowledge", {"note": "mine"}).status_code == 200
    clock.advance(hours=1)
    changed = baton.now()
    admin_handlers.change_actor(uow=baton.uow, accounts=ACCOUNTS, actor=ROOT, handle="nina",
                                roles=["agent", "specialist"], team="frontline",
                                now=changed)
    clock.advance(hours=1)
    revoked = baton.now()
    done = admin_handlers.revoke_actor(uow=baton.uow, accounts=ACCOUNTS, handle="nina",
                                       now=revoked, actor=ROOT)
    assert [(e, to) for e, to, _ in done.handed] == [(eid, "andy")]
    return {"granted": granted, "changed": changed, "revoked": revoked, "eid": eid}


def test_access_report_at_three_instants(tmp_path: Path, database_url: str) -> None:
    c, clock, baton = _client(tmp_path, database_url)
    story = _story(c, clock, baton)
    second = timedelta(seconds=1)
    before = _report(c, story["granted"] - second)
    assert ("nina", "agent") not in before
    assert before[("alice", "agent")]["path"] == "genesis"
    after_grant = _report(c, story["granted"] + second)
    row = after_grant[("nina", "agent")]
    assert (row["team"], row["granted_by"], row["path"], row["rule"]) == \
        ("frontline", "root", "cli", "permission.manage-actors")
    assert ("nina", "specialist") not in after_grant
    after_change = _report(c, story["changed"] + second)
    assert after_change[("nina", "agent")]["since"] == _rfc(story["granted"])
    assert after_change[("nina", "specialist")]["since"] == _rfc(story["changed"])
    after_revoke = _report(c, story["revoked"] + second)
    assert not [k for k in after_revoke if k[0] == "nina"]
    # The person's token is refused at once; the record of them stays.
    assert c.get("/escalations", "nina").status_code == 401
    # No escalation is left without an owner, and the hand-over names the deprovisioning.
    with baton.engine.connect() as conn:
        assert conn.execute(select(escalations.c.id).where(
            escalations.c.owner.is_(None))).all() == []
        bodies = policy_refs.records(conn, [b for (b,) in conn.execute(
            select(ledger.c.body).where(ledger.c.escalation_id == story["eid"]))])
    handed = bodies[-1]
    assert (handed["action"], handed["to_owner"], handed["rule"]) == \
        ("reassign", "andy", "deprovision.handover.fallback")
    revoked_seq = handed["payload"]["deprovisioning"]
    with baton.engine.connect() as conn:
        revoked_body = policy_refs.record(conn, conn.execute(select(ledger.c.body).where(
            ledger.c.seq == revoked_seq)).scalar_one())
    assert (revoked_body["action"], revoked_body["payload"]["subject"]) == \
        ("access-revoked", "nina")
    # Auditors and admins only.
    assert c.http.get("/api/v1/access", headers=c.h("alice")).status_code == 403
    baton.engine.dispose()


def _export(baton: Any, path: Path) -> Path:
    handlers.sign_checkpoint(uow=baton.uow, now=baton.now())
    with baton.engine.connect() as conn, path.open("w", encoding="utf-8") as out:
        write_bundle(conn, out, baton.origin, baton.vkey, baton.now())
    return path


def test_verifier_answers_access_at_and_fails_on_an_edited_grant(
        tmp_path: Path, capsys: Any) -> None:
    c, clock, baton = _client(tmp_path)
    story = _story(c, clock, baton)
    bundle = _export(baton, tmp_path / "bundle.jsonl")
    assert verify.main([str(bundle), "--access-at", _at(story["changed"])]) == 0
    shown = capsys.readouterr().out
    nina = [line.split() for line in shown.splitlines() if line.startswith("nina ")]
    assert [(r[1], r[2]) for r in nina] == [("agent", "frontline"),
                                            ("specialist", "frontline")]
    assert verify.main([str(bundle), "--access-at", _at(story["revoked"])]) == 0
    assert "nina " not in capsys.readouterr().out
    # Edit nina's grant: finance instead of agent, bytes re-encoded.
    items = bundle_layouts.items(bundle.read_text(encoding="utf-8"))
    for item in items:
        if item.get("type") != "event":
            continue
        body = record_of(base64.b64decode(item["bytes"]), lambda ref: "a policy")
        if body["action"] == "access-granted" and body["payload"]["subject"] == "nina":
            body["payload"]["roles"] = ["finance"]
            item["bytes"] = base64.b64encode(json.dumps(
                body, separators=(",", ":"), sort_keys=True).encode()).decode()
            seq = item["seq"]
            break
    edited = tmp_path / "edited.jsonl"
    edited.write_text("".join(bundle_layouts.lines(items, 2)), encoding="utf-8")
    assert verify.main([str(edited), "--access-at", _at(story["changed"])]) == 1
    out = capsys.readouterr().out
    assert f"FAILED: seq {seq}:" in out and "nina " not in out


def test_genesis_grants_are_written_once_and_cli_reports(tmp_path: Path) -> None:
    c, clock, baton = _client(tmp_path)
    assert admin_handlers.record_genesis(uow=baton.uow, accounts=ACCOUNTS,
                                         now=baton.now()) == 0
    with baton.engine.connect() as conn:
        genesis = conn.execute(select(ledger.c.body).where(
            ledger.c.action == "access-granted")).scalars().all()
        subjects = sorted(r["payload"]["subject"] for r in policy_refs.records(conn, genesis))
    assert subjects == sorted(c.tokens)
    env = {"BATON_DATABASE_URL": baton.settings["BATON_DATABASE_URL"],
           "BATON_SIGNING_KEY": baton.settings["BATON_SIGNING_KEY"]}
    runner = CliRunner()
    upgraded = runner.invoke(main, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    assert "genesis" not in upgraded.output  # nothing left to record
    csv_out = runner.invoke(main, ["access", "report", "--format", "csv"], env=env)
    assert csv_out.exit_code == 0, csv_out.output
    rows = [line.split(",") for line in csv_out.stdout.splitlines()]
    assert rows[0][:6] == ["actor", "role", "team", "since", "granted_by", "path"]
    assert ["alice", "agent", "frontline"] == rows[1][:3] and rows[1][5] == "genesis"
    bad = runner.invoke(main, ["access", "report", "--at", "yesterday"], env=env)
    assert bad.exit_code != 0 and "RFC 3339" in bad.output
