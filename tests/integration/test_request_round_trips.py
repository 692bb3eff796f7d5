"""What an authenticated API request sends PostgreSQL before its own work (issue 29): one
statement, the token's actor with the policy version in force; no ping of the pooled
connection and no second read of the policy for the read gate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.initialised_app import Client, make_client


@pytest.fixture
def pg_client(tmp_path: Path, pg_cluster: Any) -> Iterator[Client]:
    client = make_client(tmp_path, database_url=pg_cluster.new_database())
    yield client
    client.app.extensions["baton"].engine.dispose()


def _statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    sent: list[str] = []
    plain = psycopg.Cursor.execute

    def execute(self: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(query))
        return plain(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", execute)
    return sent


def test_a_read_sends_its_authentication_and_nothing_before_it(
        pg_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    assert pg_client.get("/audit/public-key", "aud").status_code == 200  # pooled now
    sent = _statements(monkeypatch)
    r = pg_client.get("/audit/public-key", "aud")
    assert r.status_code == 200 and r.get_data()
    assert len(sent) == 1, sent
    assert sent[0].startswith("SELECT handle, roles, team, (SELECT version FROM policies")


def test_a_refused_read_is_decided_by_the_version_read_with_the_token(
        pg_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    pg_client.get("/audit/public-key", "aud")
    sent = _statements(monkeypatch)
    refused = pg_client.get("/audit/events", "alice")  # an agent may not read the log
    assert refused.status_code == 403 and refused.json["rule"]
    assert len(sent) == 1, sent
