"""A real SQLite ledger in a temporary directory, with the default policy and actors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from audit.log.ledger import Signer
from audit.store import actors, db, migrate
from audit.store.uow import SqlUnitOfWork
from tests import schema_template
from tests.initialised_app import Clock
from tests.unit.fakes import DEMO_ACTORS
from tests.unit.scenario import OPEN, PAYLOADS
from workflow import policy_change, policy_loader, services
from workflow.policy import Policy

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Ledger:
    engine: Engine
    path: Path
    signer: Signer
    policy: Policy
    now: datetime = T0
    relaxed: bool = False  # write as the API does: locks released before the flush

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.signer, release_before_flush=self.relaxed)

    def tick(self, minutes: float = 1) -> datetime:
        self.now += timedelta(minutes=minutes)
        return self.now

    def open(self, escalation_id: str, who: str = "alice", **changes: Any) -> services.Outcome:
        with self.uow() as uow:
            out = services.open_escalation(
                uow=uow, actor=DEMO_ACTORS[who], escalation_id=escalation_id,
                payload={**OPEN, **changes}, policy=self.policy, now=self.tick())
            uow.commit()
        return out

    def act(self, escalation_id: str, who: str, action: str,
            payload: dict[str, Any] | None = None) -> services.Outcome:
        with self.uow() as uow:
            out = services.act(
                uow=uow, actor=DEMO_ACTORS[who], escalation_id=escalation_id, action=action,
                payload=PAYLOADS.get(action, {}) if payload is None else payload,
                policy=self.policy, now=self.tick())
            uow.commit()
        return out

    def lifecycle(self, escalation_id: str, **changes: Any) -> None:
        """open -> acknowledge -> escalate -> acknowledge -> hand-off -> accept -> resolve
        -> debrief, on a billing case."""
        self.open(escalation_id, **changes)
        self.act(escalation_id, "alice", "acknowledge")
        self.act(escalation_id, "alice", "escalate")
        self.act(escalation_id, "fiona", "acknowledge")
        self.act(escalation_id, "fiona", "hand-off", {"to": "sue", "context": "over to you"})
        self.act(escalation_id, "sue", "accept-handoff", {})
        self.act(escalation_id, "sue", "resolve")
        self.act(escalation_id, "fay", "debrief")


def make_ledger(url: str, path: Path, every: int = 5, revision: str = "head") -> Ledger:
    if revision == "head":
        schema_template.at_head(url)
    engine = db.make_engine(url)
    migrate.upgrade(engine, revision)
    signer = Signer(Ed25519PrivateKey.generate(), "baton.test/ledger", every=every,
                    interval_seconds=3600)
    led = Ledger(engine, path, signer, policy_loader.default())
    with led.uow() as uow:
        policy_change.apply_policy(uow=uow, actor=DEMO_ACTORS["root"],
                                   text=policy_loader.default_text(), now=T0, source="default")
        for actor in DEMO_ACTORS.values():
            actors.add(uow.conn, actor.handle, list(actor.roles), actor.team, T0)
        uow.commit()
    return led


@pytest.fixture
def led(database_url: str, tmp_path: Path) -> Iterator[Ledger]:
    """A ledger on each backend (the contract suite runs against both)."""
    ledger = make_ledger(database_url, tmp_path / "baton.db")
    yield ledger
    ledger.engine.dispose()


@pytest.fixture
def sqlite_led(tmp_path: Path) -> Iterator[Ledger]:
    """A ledger in an SQLite file, for tests that open the raw file."""
    path = tmp_path / "baton.db"
    ledger = make_ledger(f"sqlite:///{path}", path)
    yield ledger
    ledger.engine.dispose()


@pytest.fixture
def clock() -> Clock:
    """A clock the test moves (make_client's `clock`)."""
    return Clock()
