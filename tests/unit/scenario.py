"""A small driver for unit tests: act as a named demo actor at a moving clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.unit.fakes import DEMO_ACTORS, FakeUnitOfWork
from workflow import services
from workflow.policy import Policy

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

OPEN = {
    "title": "Card charged twice",
    "description": "Customer says the March invoice was charged twice",
    "category": "billing",
    "severity": "high",
    "customer": {"id": "cust-42", "name": "Ada Lovelace", "value": "strategic"},
    "amount": {"value": "1200.00", "currency": "USD"},
}

PAYLOADS: dict[str, dict[str, Any]] = {
    "acknowledge": {"note": "On it"},
    "escalate": {"reason": "needs finance", "trigger": "authority"},
    "resolve": {"summary": "Refunded the duplicate charge"},
    "update": {"note": "Looking at the ledger", "next_steps": "Call the bank"},
    "reopen": {"reason": "Customer still sees two charges"},
    "debrief": {"what_worked": "fast ack", "what_did_not": "slow refund",
                "root_cause": "retry bug", "lessons": ["watch retries"],
                "actions": [{"what": "fix retry", "owner": "fay"}]},
}


class Driver:
    """Opens escalations and acts on them, committing each step like the API does."""

    def __init__(self, policy: Policy, uow: FakeUnitOfWork | None = None):
        self.policy = policy
        self.uow = uow or FakeUnitOfWork()
        self.now = T0

    def tick(self, minutes: int = 1) -> datetime:
        self.now += timedelta(minutes=minutes)
        return self.now

    def open(self, who: str = "alice", escalation_id: str = "esc-1",
             **changes: Any) -> services.Outcome:
        payload = {**OPEN, **changes}
        with self.uow:
            out = services.open_escalation(
                uow=self.uow, actor=DEMO_ACTORS[who], escalation_id=escalation_id,
                payload=payload, policy=self.policy, now=self.tick())
            self.uow.commit()
        return out

    def act(self, who: str, action: str, payload: dict[str, Any] | None = None,
            escalation_id: str = "esc-1", **kw: Any) -> services.Outcome:
        body = PAYLOADS.get(action, {}) if payload is None else payload
        with self.uow:
            out = services.act(
                uow=self.uow, actor=DEMO_ACTORS[who], escalation_id=escalation_id,
                action=action, payload=body, policy=self.policy, now=self.tick(), **kw)
            self.uow.commit()
        return out

    def get(self, escalation_id: str = "esc-1"):  # type: ignore[no-untyped-def]
        return self.uow.escalations.get(escalation_id)
