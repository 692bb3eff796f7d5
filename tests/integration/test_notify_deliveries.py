"""Whether a mail reached its recipient, where an operator looks: GET
/api/v1/notifications/deliveries and `baton notifications deliveries` show every message
(webhook or mail) with its attempts, by the recipient's handle and never the address;
the manage-webhooks permission (admin by default) reads it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main
from api.worker import Worker
from audit.store import actor_emails
from tests.initialised_app import Client, make_client
from tests.mail_sink import MailSink


@pytest.fixture
def c(tmp_path: Path) -> Iterator[Client]:
    client = make_client(tmp_path)
    yield client
    client.app.extensions["baton"].engine.dispose()


def _deliver(c: Client, smtp_url: str) -> str:
    """andy (frontline) is mailed of a billing case alice opens; bob has an address but
    is not told. Returns the escalation id."""
    baton = c.app.extensions["baton"]
    with baton.uow() as uow:
        actor_emails.set_email(uow.conn, "andy", "andy.secret@example.org")
        actor_emails.set_email(uow.conn, "bob", "bob@example.org")
        uow.commit()
    c.app.config["BATON_SMTP_URL"] = smtp_url
    eid = c.open()
    Worker(baton).run(once=True)
    return eid


def test_an_operator_sees_that_a_mail_reached_its_recipient(c: Client,
                                                            sink: MailSink) -> None:
    eid = _deliver(c, sink.url)
    assert [m.rcpt_tos for m in sink.mails] == [["andy.secret@example.org"]]
    r = c.get("/notifications/deliveries?channel=email", "root")
    assert r.status_code == 200, r.json
    (item,) = r.json["items"]
    assert (item["channel"], item["target"], item["escalation_id"], item["status"]) == (
        "email", "andy", eid, "delivered")
    assert item["event_type"] == "escalation.open" and item["done_at"]
    (attempt,) = item["attempts"]
    assert attempt["outcome"] == "delivered" and attempt["status_code"] == 250
    assert attempt["duration_ms"] is not None and attempt["at"]
    assert "example.org" not in r.get_data(as_text=True), "never an address"
    assert c.get(f"/notifications/deliveries?target=andy&escalation_id={eid}",
                 "root").json["items"] == [item]
    assert c.get("/notifications/deliveries?channel=webhook", "root").json["items"] == []
    assert c.get("/notifications/deliveries?status=failed", "root").json["items"] == []


def test_a_mail_that_failed_shows_why(c: Client) -> None:
    _deliver(c, "smtp://127.0.0.1:9")  # nothing listens there
    (item,) = c.get("/notifications/deliveries?channel=email", "root").json["items"]
    assert item["status"] == "pending" and item["next_attempt_at"], "tried again later"
    (attempt,) = item["attempts"]
    assert attempt["outcome"] == "failed" and attempt["status_code"] is None
    assert "Connection refused" in attempt["error"]


def test_who_may_read_it_and_what_it_refuses(c: Client) -> None:
    assert c.get("/notifications/deliveries", "alice").status_code == 403
    assert c.get("/notifications/deliveries", "aud").status_code == 403
    assert c.get("/notifications/deliveries", None).status_code == 401
    for bad in ("channel=mail", "status=lost", "limit=0", "recipient=andy"):
        r = c.get(f"/notifications/deliveries?{bad}", "root")
        assert r.status_code == 422, bad
        assert r.headers["content-type"] == "application/problem+json"


def test_the_cli_shows_the_same_log(c: Client, sink: MailSink) -> None:
    _deliver(c, sink.url)
    env = {"BATON_DATABASE_URL": c.app.config["BATON_DATABASE_URL"],
           "BATON_SIGNING_KEY": c.app.config["BATON_SIGNING_KEY"]}
    done = CliRunner().invoke(main, ["notifications", "deliveries", "--channel", "email",
                                     "--to", "andy"], env=env)
    assert done.exit_code == 0, done.output
    (line,) = done.stdout.splitlines()
    shown = json.loads(line)
    assert (shown["target"], shown["status"]) == ("andy", "delivered")
    assert "example.org" not in done.stdout
    refused = CliRunner().invoke(main, ["notifications", "deliveries", "--channel", "mail"],
                                 env=env)
    assert refused.exit_code != 0 and "Traceback" not in refused.output
