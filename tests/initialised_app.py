"""Build an initialised app (SQLite file, key, default policy, demo actors) for tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from api.cli import DEMO
from audit.store import actors, db
from tests import schema_template
from workflow import policy_change, policy_loader
from workflow.model import Actor

OPEN = {"title": "Card charged twice", "description": "March invoice charged twice",
        "category": "billing", "severity": "high",
        "customer": {"id": "cust-42", "name": "Ada Lovelace", "value": "strategic"},
        "amount": {"value": "1200.00", "currency": "USD"}}

# After open: who takes each step of a billing case to its debrief.
LIFECYCLE = [("alice", "acknowledge", {"note": "mine"}),
             ("alice", "escalate", {"reason": "limit", "trigger": "authority"}),
             ("fiona", "acknowledge", {"note": "finance"}),
             ("fiona", "hand-off", {"to": "sue", "context": "over"}),
             ("sue", "accept-handoff", {}),
             ("sue", "resolve", {"summary": "refunded"}),
             ("fay", "debrief", {"what_worked": "a", "what_did_not": "b", "root_cause": "c",
                                 "lessons": ["d"], "actions": [{"what": "e", "owner": "fay"}]})]


class Clock:
    """The app's clock (BATON_CLOCK), moved by the test."""

    def __init__(self, start: datetime = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the clock on (timedelta's keywords)."""
        self.now += timedelta(**delta)


@dataclass
class Client:
    app: Flask
    tokens: dict[str, str]
    http: FlaskClient = field(init=False)

    def __post_init__(self) -> None:
        self.http = self.app.test_client()

    def h(self, who: str | None, **extra: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        headers.update(extra)
        return headers

    def post(self, path: str, who: str | None, body: Any = None, **headers: str) -> Any:
        return self.http.post(f"/api/v1{path}", json=body, headers=self.h(who, **headers))

    def get(self, path: str, who: str | None, **headers: str) -> Any:
        return self.http.get(f"/api/v1{path}", headers=self.h(who, **headers))

    def act(self, eid: str, who: str, action: str, body: Any = None, **headers: str) -> Any:
        return self.post(f"/escalations/{eid}/actions/{action}", who, body or {}, **headers)

    def open(self, who: str = "alice", **changes: Any) -> str:
        r = self.post("/escalations", who, {**OPEN, **changes})
        assert r.status_code == 201, r.json
        return str(r.json["id"])


def make_client(tmp_path: Path, clock: Callable[[], datetime] | None = None,
                policy_text: str | None = None, database_url: str | None = None,
                simulation: bool = False, **settings: Any) -> Client:
    """An initialised Baton (schema, key, a policy, the demo actors with tokens) and a
    test client; `settings`: more of the app's settings (BATON_…)."""
    url = database_url or f"sqlite:///{tmp_path / 'baton.db'}"
    schema_template.at_head(url)
    config: dict[str, Any] = {"BATON_DATABASE_URL": url,
                              "BATON_SIGNING_KEY": str(tmp_path / "signing.key"),
                              "BATON_CHECKPOINT_EVERY": 10, **settings}
    if clock is not None:
        config["BATON_CLOCK"] = clock
    app = create_app(config)
    baton = app.extensions["baton"]
    db.create_schema(baton.engine)
    baton.ensure_key()
    tokens = {}
    with baton.uow() as uow:
        policy_change.apply_policy(uow=uow, actor=Actor("root", ("admin",)),
                                   text=policy_text or policy_loader.default_text(),
                                   now=baton.now(), simulation=simulation)
        for handle, roles, team in DEMO:
            tokens[handle] = actors.add(uow.conn, handle, roles, team, baton.now())
        uow.commit()
    return Client(app, tokens)


def ok(r: Any, status: int = 200) -> Any:
    """The JSON of an answer that must have `status` (its body shown when it has not)."""
    assert r.status_code == status, r.get_data(as_text=True)
    return r.json
