"""The notification commands as an operator types them: `baton webhooks list|remove|
rotate-secret|deliveries`, `baton actors add --email` and `set-email` (click's runner),
and `baton worker --once` as a process of its own, against the real receiver and a real
aiosmtpd. Bad input is one line on stderr and a non-zero exit."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_string
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from api.cli import main
from api.testbed import BATON
from api.worker import Worker
from audit.store import actor_emails, policy_refs
from tests.initialised_app import Client, Clock, make_client
from tests.mail_sink import MailSink
from tests.webhook_receiver import Receiver

ALLOW = {"BATON_WEBHOOK_ALLOW_INSECURE": "1", "BATON_WEBHOOK_ALLOW_PRIVATE": "1"}


def _env(c: Client, **extra: str) -> dict[str, str]:
    return {"BATON_DATABASE_URL": c.app.config["BATON_DATABASE_URL"],
            "BATON_SIGNING_KEY": c.app.config["BATON_SIGNING_KEY"], **extra}


def _baton(c: Client, *args: str, **extra: str) -> Result:
    return CliRunner().invoke(main, list(args), env=_env(c, **extra))


def _one_line_error(done: Result, says: str) -> None:
    assert done.exit_code == 1, done.output
    assert "Traceback" not in done.output and done.stdout == ""
    assert done.stderr.splitlines() == [done.stderr.strip()], "one line"
    assert done.stderr.startswith("error: ") and says in done.stderr, done.stderr


def _audited(c: Client) -> list[dict[str, Any]]:
    with c.app.extensions["baton"].engine.connect() as conn:
        bodies = conn.exec_driver_sql(
            "SELECT body FROM ledger WHERE escalation_id IS NULL ORDER BY seq").scalars()
        return policy_refs.records(conn, list(bodies))


@pytest.fixture
def c(tmp_path: Path) -> Iterator[Client]:
    client = make_client(tmp_path)
    client.app.config.update(BATON_WEBHOOK_ALLOW_PRIVATE=True,
                             BATON_WEBHOOK_ALLOW_INSECURE=True)
    yield client
    client.app.extensions["baton"].engine.dispose()


def test_webhooks_list_rotate_deliveries_and_remove(c: Client, receiver: Receiver) -> None:
    added = _baton(c, "webhooks", "add", receiver.url, "--events", "escalation.open",
                   "--as", "root", **ALLOW)
    assert added.exit_code == 0, added.output
    created = json.loads(added.stdout)
    webhook_id, first_secret = created["id"], created["secret"]
    receiver.secrets.append(first_secret)

    listed = _baton(c, "webhooks", "list")
    assert listed.exit_code == 0
    (line,) = listed.stdout.splitlines()
    shown = json.loads(line)
    assert (shown["id"], shown["url"], shown["events"], shown["disabled"]) == (
        webhook_id, receiver.url, ["escalation.open"], False)
    assert "secret" not in shown and first_secret not in listed.stdout

    c.open()
    Worker(c.app.extensions["baton"]).run(once=True)
    deliveries = _baton(c, "webhooks", "deliveries", webhook_id)
    assert deliveries.exit_code == 0
    (line,) = deliveries.stdout.splitlines()
    message = json.loads(line)
    assert (message["event_type"], message["status"]) == ("escalation.open", "delivered")
    assert [a["status_code"] for a in message["attempts"]] == [200]
    assert message["webhook_id"] == receiver.got[0].msg_id

    rotated = _baton(c, "webhooks", "rotate-secret", webhook_id, "--grace", "60",
                     "--as", "root")
    assert rotated.exit_code == 0, rotated.output
    turned = json.loads(rotated.stdout)
    assert turned["secret"].startswith("whsec_") and turned["secret"] != first_secret
    assert turned["previous_secret_valid_for"] == 60
    receiver.secrets.append(turned["secret"])
    c.open()
    Worker(c.app.extensions["baton"]).run(once=True)
    assert receiver.got[-1].verified_with == [0, 1], "old and new secret both sign"

    removed = _baton(c, "webhooks", "remove", webhook_id, "--as", "root")
    assert removed.exit_code == 0 and removed.stderr.strip() == f"removed {webhook_id}"
    assert _baton(c, "webhooks", "list").stdout == ""
    c.open()
    Worker(c.app.extensions["baton"]).run(once=True)
    assert len(receiver.got) == 2, "nothing goes to a removed subscription"
    audited = [(a["action"], a["actor"], a["payload"]["webhook"]) for a in _audited(c)
               if a["action"].startswith("webhook-")]
    assert audited == [("webhook-subscribed", "root", webhook_id),
                       ("webhook-secret-rotated", "root", webhook_id),
                       ("webhook-removed", "root", webhook_id)]
    _one_line_error(_baton(c, "webhooks", "deliveries", webhook_id), "no webhook subscription")


def test_webhook_commands_refuse_bad_input_in_one_line(c: Client) -> None:
    for args in (["remove", "wh_nope"], ["rotate-secret", "wh_nope"],
                 ["deliveries", "wh_nope"]):
        _one_line_error(_baton(c, "webhooks", *args), "no webhook subscription 'wh_nope'")
    _one_line_error(_baton(c, "webhooks", "add", "http://127.0.0.1:9/x", "--events", "*"),
                    "BATON_WEBHOOK_ALLOW_INSECURE=1")
    _one_line_error(_baton(c, "webhooks", "add", "https://127.0.0.1:9/x", "--events", "*"),
                    "non-public address")
    _one_line_error(_baton(c, "webhooks", "add", "http://127.0.0.1:9/x", "--events",
                           "escalation.nonsense", **ALLOW), "unknown event type")
    usage = _baton(c, "webhooks", "deliveries", "wh_nope", "--limit", "0")
    assert usage.exit_code == 2 and "Traceback" not in usage.output
    assert usage.stderr.splitlines()[-1].startswith("Error: Invalid value for '--limit'")
    assert _baton(c, "webhooks", "list").stdout == "", "nothing was subscribed"


def _address(c: Client, handle: str) -> str | None:
    with c.app.extensions["baton"].engine.connect() as conn:
        return actor_emails.address_of(conn, handle)


def test_actors_get_addresses_that_their_mail_goes_to(c: Client, sink: MailSink) -> None:
    added = _baton(c, "actors", "add", "nia", "--role", "agent", "--team", "frontline",
                   "--email", "nia@example.org")
    assert added.exit_code == 0, added.output
    assert added.stdout.strip() and "@" not in added.stdout, "the token alone on stdout"
    assert _address(c, "nia") == "nia@example.org"
    changed = _baton(c, "actors", "set-email", "andy", "andy@example.org")
    assert changed.exit_code == 0 and changed.stderr.strip() == "andy: email set"
    assert _address(c, "andy") == "andy@example.org"
    c.app.config["BATON_SMTP_URL"] = sink.url
    c.open()  # alice opens a frontline case: the team (andy, nia) is mailed
    Worker(c.app.extensions["baton"]).run(once=True)
    assert sorted(r for m in sink.mails for r in m.rcpt_tos) == [
        "andy@example.org", "nia@example.org"]
    removed = _baton(c, "actors", "set-email", "nia", "-")
    assert removed.exit_code == 0 and removed.stderr.strip() == "nia: email removed"
    assert _address(c, "nia") is None


def test_actor_addresses_refuse_bad_input_in_one_line(c: Client) -> None:
    _one_line_error(_baton(c, "actors", "set-email", "nobody", "x@example.org"),
                    "no actor 'nobody'")
    _one_line_error(_baton(c, "actors", "set-email", "andy", "not-an-address"),
                    "'not-an-address' is not an email address")
    _one_line_error(_baton(c, "actors", "add", "zed", "--role", "agent", "--team",
                           "frontline", "--email", "zed@"), "is not an email address")
    listed = _baton(c, "actors", "list").stdout
    assert "zed" not in listed, "an actor refused for its address is not created"
    assert _address(c, "andy") is None


def test_worker_once_sweeps_delivers_and_exits(tmp_path: Path, receiver: Receiver,
                                               sink: MailSink) -> None:
    # The case was opened 20 minutes ago: its 10-minute acknowledgment clock has run out
    # by the time the worker (on the wall clock) sweeps.
    clock = Clock(datetime.now(UTC) - timedelta(minutes=20))
    c = make_client(tmp_path, clock)
    try:
        c.app.config.update(BATON_WEBHOOK_ALLOW_PRIVATE=True,
                            BATON_WEBHOOK_ALLOW_INSECURE=True)
        created = c.post("/webhooks", "root", {"url": receiver.url, "events": [
            "escalation.open", "escalation.sla_breached"]}).json
        receiver.secrets.append(created["secret"])
        with c.app.extensions["baton"].engine.begin() as conn:
            actor_emails.set_email(conn, "andy", "andy@example.org")
        eid = c.open(severity="urgent")
        env = {**os.environ, **_env(c, **ALLOW), "BATON_SMTP_URL": sink.url,
               "BATON_MAIL_FROM": "alerts@ops.example.org",
               "BATON_PUBLIC_URL": "https://ops.example.org", "BATON_WORKER_POLL": "0.05"}
        done = subprocess.run([*BATON, "worker", "--once"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60)
    finally:
        c.app.extensions["baton"].engine.dispose()
    assert done.returncode == 0, done.stderr
    assert [(r.json["type"], r.json["data"]["escalation_id"]) for r in receiver.got] == [
        ("escalation.open", eid), ("escalation.sla_breached", eid)]
    assert receiver.bad_signatures == 0
    breach = receiver.got[1].json["data"]
    assert breach["clock"] == "acknowledge" and breach["acting_owner"] == "andy"
    assert breach["links"]["page"] == f"https://ops.example.org/ui/escalations/{eid}"
    kinds = {message_from_string(m.content)["Subject"].split()[1]: m for m in sink.mails}
    assert set(kinds) == {"escalation.open", "escalation.sla_breached"}
    for mail in kinds.values():
        assert mail.rcpt_tos == ["andy@example.org"]
        assert message_from_string(mail.content)["From"] == "alerts@ops.example.org"


def test_worker_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}",
           "BATON_SIGNING_KEY": str(tmp_path / "k")}
    run = {"cwd": tmp_path, "env": env, "capture_output": True, "text": True,
           "timeout": 60}
    empty = subprocess.run([*BATON, "worker", "--once"], **run)  # type: ignore[call-overload]
    assert empty.returncode == 1 and "Traceback" not in empty.stderr
    (line,) = empty.stderr.strip().splitlines()
    assert line.startswith("error: "), line  # today: "error: database: no such table: …"
    usage = subprocess.run([*BATON, "worker", "--once", "--interval", "0"],
                           **run)  # type: ignore[call-overload]
    assert usage.returncode == 2 and "Traceback" not in usage.stderr
    assert "Invalid value for '--interval'" in usage.stderr.splitlines()[-1]
