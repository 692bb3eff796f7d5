"""What the benchmarks do: a billing case opened by an agent and taken through its whole
lifecycle by the demo actors (the benchmarks' own workload; tests keep their own data)."""

from __future__ import annotations

from typing import Any

from api.cli import DEMO
from workflow.model import Actor

# The actors `baton demo` creates, by handle.
ACTORS = {handle: Actor(handle, tuple(roles), team) for handle, roles, team in DEMO}

OPEN: dict[str, Any] = {
    "title": "Card charged twice", "description": "March invoice charged twice",
    "category": "billing", "severity": "high",
    "customer": {"id": "cust-42", "name": "Ada Lovelace", "value": "strategic"},
    "amount": {"value": "1200.00", "currency": "USD"}}

# After open: who takes each step of the billing case to its debrief, and with what.
LIFECYCLE: list[tuple[str, str, dict[str, Any]]] = [
    ("alice", "acknowledge", {"note": "mine"}),
    ("alice", "escalate", {"reason": "limit", "trigger": "authority"}),
    ("fiona", "acknowledge", {"note": "finance"}),
    ("fiona", "hand-off", {"to": "sue", "context": "over"}),
    ("sue", "accept-handoff", {}),
    ("sue", "resolve", {"summary": "refunded"}),
    ("fay", "debrief", {"what_worked": "a", "what_did_not": "b", "root_cause": "c",
                        "lessons": ["d"], "actions": [{"what": "e", "owner": "fay"}]})]
