"""/healthz says how the worker's deliveries stand, from the outbox's own timestamps: how
long the oldest due message has waited (it grows while no worker delivers) and when a
worker last tried, each only when there is something to say; past three polls plus an
attempt's timeout, the worker is behind."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.testbed import free_port
from api.worker import Worker
from audit.store import actor_emails
from tests.initialised_app import Client, make_client
from workflow.model import parse_rfc3339


@pytest.fixture
def c(tmp_path: Path) -> Iterator[Client]:
    client = make_client(tmp_path)
    client.app.config.update(BATON_WORKER_POLL=0.05, BATON_WEBHOOK_TIMEOUT=0.05)
    yield client
    client.app.extensions["baton"].engine.dispose()


def test_healthz_reports_a_worker_that_does_not_deliver(c: Client) -> None:
    baton = c.app.extensions["baton"]
    first = c.http.get("/healthz", headers=c.h("root")).json
    assert "deliveries_waiting_seconds" not in first and "last_delivery_attempt" not in first
    with baton.uow() as uow:
        actor_emails.set_email(uow.conn, "andy", "andy@example.org")
        uow.commit()
    c.open()  # a mail to andy is due now, and no worker runs
    time.sleep(0.5)
    waiting = c.http.get("/healthz", headers=c.h("root"))
    assert waiting.status_code == 200, "writes still succeed"
    body = waiting.json
    assert body["deliveries_waiting_seconds"] >= 0.5
    assert body["status"] == "degraded" and "deliveries" in body["worker"]
    assert "last_delivery_attempt" not in body, "no worker has tried"
    before = time.time()
    Worker(baton).run(once=True)  # no SMTP server is set: a failed attempt, retried in 5 s
    after = c.http.get("/healthz", headers=c.h("root")).json
    assert "deliveries_waiting_seconds" not in after and after["worker"] == "ok"
    tried = parse_rfc3339(after["last_delivery_attempt"]).timestamp()
    assert before - 1 <= tried <= time.time()


def test_a_failing_receiver_is_not_a_worker_behind(c: Client) -> None:
    """One dead receiver (here the mail server) holds its own messages back; /healthz
    still says the worker keeps up, while the wait itself stays on show."""
    baton = c.app.extensions["baton"]
    c.app.config["BATON_SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nobody listens
    with baton.uow() as uow:
        actor_emails.set_email(uow.conn, "andy", "andy@example.org")
        uow.commit()
    c.open()
    Worker(baton).run(once=True)  # refused: on the delivery log as failed
    c.open()  # another mail to andy, due now, and no worker runs
    time.sleep(0.5)
    body = c.http.get("/healthz", headers=c.h("root")).json
    assert body["worker"] == "ok" and body["status"] == "ok"
    assert body["deliveries_waiting_seconds"] >= 0.5, "the wait is still reported"
