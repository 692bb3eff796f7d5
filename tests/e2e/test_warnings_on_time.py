"""A running `baton serve` records each warning within a second of its moment, once per
threshold, on each backend (issue 26, point 2): a policy whose urgent acknowledge clock
runs 4 s warns at 50 % and 1 s before its deadline; an escalation acknowledged before its
first threshold never warns."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import text

from api.testbed import worker_running
from audit.store import db, policy_refs
from tests.e2e.conftest import served_with
from tests.initialised_app import OPEN
from workflow import policy_loader
from workflow.timestamps import parse_rfc3339

WARNINGS = '[warnings]\ndefault = []\n[warnings.urgent]\nacknowledge = ["50%", "1s"]\n'


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path: Path
           ) -> Iterator[tuple[str, dict[str, str], dict[str, str]]]:
    extra: dict[str, str] = {}
    policy = re.sub(r'(\[severities\.urgent\][^\[]*?acknowledge = )"10m"', r'\1"4s"',
                    policy_loader.default_text(), flags=re.S)
    policy = policy.replace('[warnings]\ndefault = ["75%"]\n', WARNINGS)
    assert 'acknowledge = "4s"' in policy and WARNINGS in policy
    with served_with(request, tmp_path, policy, **extra) as served:
        yield served


def _ledger(database_url: str, action: str) -> list[dict[str, object]]:
    engine = db.make_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT body FROM ledger WHERE action = :a ORDER BY seq"),
                            {"a": action}).scalars().all()
        found = policy_refs.records(conn, list(rows))
    engine.dispose()
    return found


def test_warnings_are_recorded_within_a_second_once_per_threshold(
        served: tuple[str, dict[str, str], dict[str, str]]) -> None:
    url, tokens, env = served
    alice = requests.Session()
    alice.headers["Authorization"] = f"Bearer {tokens['alice']}"
    worker_running(url, tokens["root"])  # the clocks start once the worker sweeps
    opened = []
    for _ in range(3):
        r = alice.post(f"{url}/api/v1/escalations", json={**OPEN, "severity": "urgent"})
        assert r.status_code == 201, r.text
        opened.append(r.json()["id"])
        time.sleep(0.4)
    met = opened.pop()  # acknowledged at once: its clock is met before any threshold
    r = alice.post(f"{url}/api/v1/escalations/{met}/actions/acknowledge",
                   json={"note": "mine"})
    assert r.status_code == 200, r.text
    end = time.monotonic() + 15
    while len(_ledger(env["BATON_DATABASE_URL"], "sla-breached")) < len(opened):
        assert time.monotonic() < end
        time.sleep(0.2)
    time.sleep(1.0)  # a second sweeper recording one twice would show by now
    warnings = _ledger(env["BATON_DATABASE_URL"], "sla-warning")
    seen = sorted((str(w["escalation_id"]), w["payload"]["threshold"])  # type: ignore[index]
                  for w in warnings)
    assert seen == sorted((e, t) for e in opened for t in ("50%", "1s")), seen
    late = [(parse_rfc3339(str(w["at"])) - parse_rfc3339(
        str(w["payload"]["warn_at"]))).total_seconds()  # type: ignore[index]
        for w in warnings]
    assert all(0 <= s < 1.0 for s in late), late
    shown = alice.get(f"{url}/api/v1/escalations/{opened[0]}").json()
    assert shown["sla"]["breached"] == ["acknowledge"] and shown["sla"]["at_risk"] == []
