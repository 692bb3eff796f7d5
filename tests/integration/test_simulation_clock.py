"""A simulation database lives on its simulated clock (issue 26, point 6): after `baton sla
sweep --now T` its reads, countdowns, `breached=` filters and writes run at T, on each
backend; a real ledger keeps the wall clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main
from tests.initialised_app import Client, make_client
from workflow.timestamps import parse_rfc3339, rfc3339


@pytest.fixture
def made() -> Iterator[list[Client]]:
    clients: list[Client] = []
    yield clients
    for client in clients:
        client.app.extensions["baton"].engine.dispose()


def _client(tmp_path: Path, url: str, simulation: bool) -> tuple[Client, dict[str, str]]:
    env = {"BATON_DATABASE_URL": url, "BATON_SIGNING_KEY": str(tmp_path / "signing.key")}
    return make_client(tmp_path, database_url=url, simulation=simulation), env


def _made(made: list[Client], tmp_path: Path, url: str, simulation: bool = True
          ) -> tuple[Client, dict[str, str]]:
    client, env = _client(tmp_path, url, simulation)
    made.append(client)
    return client, env


def _sweep(env: dict[str, str], at: datetime) -> None:
    done = CliRunner().invoke(main, ["sla", "sweep", "--now", rfc3339(at)], env=env)
    assert done.exit_code == 0, done.output


def test_a_simulation_reads_at_the_time_it_was_swept_to(
        tmp_path: Path, database_url: str, made: list[Client]) -> None:
    client, env = _made(made, tmp_path, database_url)
    eid = client.open(severity="urgent")  # acknowledge within 10m
    later = datetime.now(UTC) + timedelta(hours=3)
    _sweep(env, later)
    found = client.get("/escalations?breached=true", "alice")
    assert found.status_code == 200, found.json
    assert eid in [e["id"] for e in found.json["items"]]
    one = client.get(f"/escalations/{eid}", "alice").json
    assert "acknowledge" in one["sla"]["breached"]
    assert client.get("/escalations?breached=false", "alice").json["items"] == []
    # A write is stamped with the simulation's time, never before its latest event.
    acted = client.act(eid, "andy", "acknowledge", {"note": "covering"})
    assert acted.status_code == 200, acted.json
    assert parse_rfc3339(acted.json["event"]["at"]) >= later
    # A sweep with no --now runs at the simulation's time too, and it only moves forward.
    done = CliRunner().invoke(main, ["sla", "sweep"], env=env)
    assert done.exit_code == 0 and done.output.find(str(later.year)) >= 0, done.output
    back = CliRunner().invoke(main, ["sla", "sweep", "--now",
                                     rfc3339(later - timedelta(minutes=1))], env=env)
    assert back.exit_code == 1 and "only moves forward" in back.output


def test_a_swept_simulation_with_nothing_due_still_moves_its_reads(
        tmp_path: Path, database_url: str, made: list[Client]) -> None:
    client, env = _made(made, tmp_path, database_url)
    eid = client.open(severity="low")  # acknowledge within a day
    _sweep(env, datetime.now(UTC) + timedelta(hours=23, minutes=50))
    one = client.get(f"/escalations/{eid}", "alice").json
    assert one["sla"]["breached"] == [], "ten minutes left in the simulation"
    # The default policy warns at 75 % of the day: the sweep recorded it, the API shows it.
    assert one["sla"]["at_risk"] == ["acknowledge", "resolve"] or \
        one["sla"]["at_risk"] == ["acknowledge"]
    _sweep(env, datetime.now(UTC) + timedelta(days=1, minutes=1))
    one = client.get(f"/escalations/{eid}", "alice").json
    assert one["sla"]["breached"] == ["acknowledge"]


def test_a_real_ledger_keeps_the_wall_clock(tmp_path: Path, made: list[Client]) -> None:
    url = f"sqlite:///{tmp_path / 'baton.db'}"
    client, _ = _made(made, tmp_path, url, simulation=False)
    baton = client.app.extensions["baton"]
    before = datetime.now(UTC)
    assert before <= baton.now() <= datetime.now(UTC)
    assert baton.is_simulation() is False
