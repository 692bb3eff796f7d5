"""A running `baton serve` records each breach within a second of its deadline, on each
backend, while three hostile webhook receivers (a drip, a silent one, a 200 MB body) are
sent every event beside a healthy one; the healthy one still gets each event at once. Its
worker beats a heartbeat that /healthz reports."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import text

from api.testbed import worker_running
from api.testbed_hostile import KINDS, Hostile
from audit.store import db, policy_refs
from tests.e2e.conftest import served_with
from tests.initialised_app import OPEN
from tests.webhook_receiver import Receiver
from workflow import policy_loader
from workflow.timestamps import parse_rfc3339

ACKNOWLEDGE = 3  # seconds: the urgent acknowledge clock of this test's policy
OPENED = 6


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path: Path
           ) -> Iterator[tuple[str, dict[str, str], dict[str, str]]]:
    extra = {"BATON_WEBHOOK_ALLOW_INSECURE": "1", "BATON_WEBHOOK_ALLOW_PRIVATE": "1",
             "BATON_WEBHOOK_TIMEOUT": "5"}
    policy = re.sub(r'(\[severities\.urgent\][^\[]*?acknowledge = )"10m"',
                    rf'\1"{ACKNOWLEDGE}s"', policy_loader.default_text(), flags=re.S)
    assert f'acknowledge = "{ACKNOWLEDGE}s"' in policy
    with served_with(request, tmp_path, policy, **extra) as served:
        yield served


def _breaches(database_url: str) -> list[dict[str, object]]:
    engine = db.make_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT body FROM ledger WHERE action = 'sla-breached' "
                                 "ORDER BY seq")).scalars().all()
        found = policy_refs.records(conn, list(rows))
    engine.dispose()
    return found


def test_breaches_are_recorded_within_a_second_beside_hostile_receivers(
        served: tuple[str, dict[str, str], dict[str, str]]) -> None:
    url, tokens, env = served
    api = f"{url}/api/v1"
    root, alice = requests.Session(), requests.Session()
    root.headers["Authorization"] = f"Bearer {tokens['root']}"
    alice.headers["Authorization"] = f"Bearer {tokens['alice']}"
    worker_running(url, tokens["root"])  # the clocks start once the worker sweeps
    healthy, hostile = Receiver(), {k: Hostile(k) for k in KINDS}
    try:
        for target in [healthy.url, *(h.url for h in hostile.values())]:
            r = root.post(f"{api}/webhooks", json={"url": target, "events": ["*"]})
            assert r.status_code == 201, r.text
        committed = {}
        for _ in range(OPENED):
            r = alice.post(f"{api}/escalations", json={**OPEN, "severity": "urgent"})
            assert r.status_code == 201, r.text
            committed[r.json()["id"]] = time.monotonic()
            time.sleep(0.3)
        end = time.monotonic() + ACKNOWLEDGE + 10
        while len(breaches := _breaches(env["BATON_DATABASE_URL"])) < OPENED:
            assert time.monotonic() < end, breaches
            time.sleep(0.2)
        time.sleep(1.0)  # a second sweeper recording one twice would show by now
        breaches = _breaches(env["BATON_DATABASE_URL"])
        got = {(m.json["type"], m.json["data"]["escalation_id"]): m.at
               for m in healthy.delivered().values()}
        lags = [got[("escalation.open", e)] - t for e, t in committed.items()]
        assert max(lags) < 4.5, lags  # a stalled worker: 5 s and more (the deadline)
        assert len(breaches) == OPENED, "each breach recorded once"
        late = [(parse_rfc3339(str(b["at"])) - parse_rfc3339(
            str(b["payload"]["deadline"]))).total_seconds()  # type: ignore[index]
            for b in breaches]
        assert all(0 <= s < 1.0 for s in late), late
        health = root.get(f"{url}/healthz", timeout=10).json()  # an operator's view
        assert health["workers_alive"] == 1, health
    finally:
        healthy.close()
        for h in hostile.values():
            h.close()
