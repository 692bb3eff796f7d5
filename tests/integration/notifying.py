"""Shared pieces of the notification tests: a worker on a test ledger, subscriptions."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cryptography.hazmat.primitives import serialization

from api.config import settings
from api.container import Baton
from api.worker import Worker
from audit.store import webhooks
from audit.store.webhooks import SqlWebhooks
from tests.integration.conftest import Ledger
from tests.unit.fakes import DEMO_ACTORS
from workflow import webhook_admin

_MADE: list[Baton] = []


def dispose_all() -> None:
    """Close the engines of the Batons made here (call when a test ends)."""
    while _MADE:
        _MADE.pop().engine.dispose()


def baton_for(led: Ledger, **overrides: Any) -> Baton:
    """A Baton on the ledger's database, at the ledger's clock; the tests' receivers are
    on loopback over http, so both of those switches are on."""
    # The ledger's own key: a Baton without a usable key refuses to write (issue 20).
    key = led.path.parent / "signing.pem"
    key.write_bytes(led.signer.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    values = {"BATON_DATABASE_URL": led.engine.url.render_as_string(hide_password=False),
              "BATON_SIGNING_KEY": str(key),
              "BATON_WEBHOOK_ALLOW_INSECURE": "1", "BATON_WEBHOOK_ALLOW_PRIVATE": "1",
              "BATON_WORKER_POLL": 0.02, "BATON_WEBHOOK_RETRY_SCHEDULE": "0s,0.3s,0.6s",
              "BATON_WEBHOOK_TIMEOUT": 2.0, "BATON_PUBLIC_URL": "https://baton.example"}
    values.update(overrides)
    baton = Baton(settings(values), lambda: led.now)
    _MADE.append(baton)
    return baton


def worker_for(led: Ledger, **overrides: Any) -> Worker:
    """A worker that sweeps only when asked (interval of an hour)."""
    return Worker(baton_for(led, **overrides), interval=3600.0)


@contextmanager
def running(*workers: Worker) -> Iterator[None]:
    """Workers looping in threads until the block ends."""
    threads = [threading.Thread(target=w.run, daemon=True) for w in workers]
    for t in threads:
        t.start()
    try:
        yield
    finally:
        for w in workers:
            w.stop.set()
        for t in threads:
            t.join(10)


def subscribe(led: Ledger, url: str, events: tuple[str, ...] = ("*",)) -> dict[str, Any]:
    """Subscribe as the admin; returns the subscription with its secret."""
    with led.uow() as uow:
        created = webhook_admin.subscribe(
            store=SqlWebhooks(uow), actor=DEMO_ACTORS["root"], url=url, events=list(events),
            description="test", secret=webhooks.new_secret(), problem=None,
            policy=led.policy, now=led.now)
        uow.commit()
    return created


def ledger_actions(led: Ledger) -> list[tuple[int, str | None, str]]:
    """(seq, escalation, action) of every ledger row."""
    with led.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT seq, escalation_id, action FROM ledger ORDER BY seq").all()
    return [(r[0], r[1], r[2]) for r in rows]
