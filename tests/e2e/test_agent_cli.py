"""`baton escalations ...`: an agent's commands against a real `baton serve`, on both
databases: open, list, show, act and timeline through the API, the API's refusals as one
line and a non-zero exit, --json as the API answered."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

from click.testing import CliRunner

from api.cli import main
from api.testbed import BATON
from tests.e2e.conftest import Server


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def agent(server: Server, who: str | None, *args: str) -> Ran:
    """`baton escalations ARGS` as `who`, in this process (the CLI talks HTTP to the real
    server; one test below runs the installed entry point as a process)."""
    env = {"BATON_URL": server.url, "BATON_TOKEN": server.tokens[who] if who else None}
    done = CliRunner().invoke(main, ["escalations", *args], env=env)
    return Ran(done.exit_code, done.stdout, done.stderr)


def operator(server: Server, *args: str) -> Ran:
    """An operator's `baton ARGS` on the server's database, in this process."""
    done = CliRunner().invoke(main, list(args), env={
        k: server.env[k] for k in ("BATON_DATABASE_URL", "BATON_SIGNING_KEY")})
    return Ran(done.exit_code, done.stdout, done.stderr)


def test_an_agent_opens_finds_acts_and_reads_the_timeline(server: Server) -> None:
    opened = agent(server, "alice", "open", "--title", "Refund not received",
                   "--category", "billing", "--severity", "high", "--customer", "cust-cli",
                   "--field", "customer.name=Ada", "--field", "amount.value=120",
                   "--field", "amount.currency=USD", "--json")
    assert opened.returncode == 0, opened.stderr
    escalation = json.loads(opened.stdout)
    eid = escalation["id"]
    assert escalation["customer"] == {"id": "cust-cli", "name": "Ada", "contact": None,
                                      "value": escalation["customer"]["value"]}
    assert escalation["state"] == "opened"

    listed = agent(server, "alice", "list", "--state", "opened", "--limit", "200")
    assert listed.returncode == 0, listed.stderr
    line = next(row for row in listed.stdout.splitlines() if row.startswith(eid))
    assert "opened" in line and "Refund not received" in line

    acked = agent(server, "alice", "act", eid, "acknowledge", "--field", "note=on it")
    assert acked.returncode == 0, acked.stderr
    assert acked.stdout.startswith("acknowledge by alice (rule ")
    mine = json.loads(agent(server, "alice", "list", "--owner", "me", "--json").stdout)
    assert eid in [e["id"] for e in mine["items"]]

    shown = agent(server, "alice", "show", eid)
    assert shown.returncode == 0 and "acknowledged" in shown.stdout.splitlines()[0]
    assert "you may: " in shown.stdout and "escalate" in shown.stdout

    timeline = agent(server, "alice", "timeline", eid)
    assert timeline.returncode == 0 and "acknowledge" in timeline.stdout
    as_csv = agent(server, "alice", "timeline", eid, "--format", "csv")
    assert as_csv.stdout.splitlines()[0].startswith("seq,at,action,actor")


def test_refusals_and_mistakes_are_one_line_and_a_non_zero_exit(server: Server) -> None:
    eid = json.loads(agent(server, "alice", "open", "--body", json.dumps({
        "title": "t", "category": "technical", "severity": "low",
        "customer": {"id": "c-refused"}}), "--json").stdout)["id"]
    refused = agent(server, "aud", "act", eid, "acknowledge", "--field", "note=mine")
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and refused.stderr.startswith("error: ")
    assert "[403]" in refused.stderr
    missing = agent(server, "alice", "act", eid, "escalate")
    assert missing.returncode == 1 and "[422]" in missing.stderr
    assert "reason" in missing.stderr and missing.stderr.count("\n") == 1
    stale = agent(server, "alice", "act", eid, "acknowledge", "--field", "note=n",
                  "--if-match", "99")
    assert stale.returncode == 1 and "[412]" in stale.stderr
    unknown = agent(server, "alice", "show", "no-such-escalation")
    assert unknown.returncode == 1 and "[404]" in unknown.stderr
    assert agent(server, None, "list").stderr == "error: no token: set BATON_TOKEN or pass " \
        "--token\n"
    bad_field = agent(server, "alice", "act", eid, "acknowledge", "--field", "note")
    assert bad_field.returncode == 1 and "NAME=VALUE" in bad_field.stderr
    bad_field = agent(server, "alice", "act", eid, "acknowledge", "--field", "note={x")
    assert bad_field.returncode == 1 and "not JSON" in bad_field.stderr
    nowhere = subprocess.run([*BATON, "escalations", "--url", "http://127.0.0.1:9",
                              "--token", "x", "list"], cwd=server.cwd, env=server.env,
                             text=True, capture_output=True, timeout=60)
    assert nowhere.returncode == 1 and "cannot reach Baton at http://127.0.0.1:9" in \
        nowhere.stderr and "Traceback" not in nowhere.stderr


def test_metrics_report_takes_dates_as_the_dashboard_does(server: Server) -> None:
    # One escalation of its own, so the report has something in it whatever ran before.
    opened = agent(server, "alice", "open", "--title", "Dated", "--category", "billing",
                   "--severity", "low", "--customer", "cust-dated")
    assert opened.returncode == 0, opened.stderr
    whole = json.loads(operator(server, "metrics", "report", "--format", "json").stdout)
    dated = operator(server, "metrics", "report", "--format", "json", "--since", "2000-01-01",
                     "--until", "2999-01-01")
    assert json.loads(dated.stdout)["groups"] == whole["groups"]
    since = json.loads(operator(server, "metrics", "report", "--format", "json", "--since",
                                "2999-01-01").stdout)
    assert since["since"].startswith("2999-01-01T00:00:00")
    assert sum(g["opened"] for g in since["groups"]) == 0
    assert sum(g["opened"] for g in whole["groups"]) > 0
    bad = operator(server, "metrics", "report", "--since", "2026-02-30")
    assert bad.returncode == 2 and "'2026-02-30' is not a date" in bad.stderr
    assert "Traceback" not in bad.stderr
