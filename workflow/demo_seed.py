"""The demo's story: a handful of escalations across the lifecycle, written through the
same handlers as the API (so the ledger verifies and every rule is checked), at times
in the hours before `now`, with the SLA sweep run as the worker would have run it (each
deadline swept two seconds after it passed): a breached case with its acting owner, a
hand-off waiting for its answer, a case resolved and debriefed with action items (one
done), one with a promise kept, and two plainly open. Seeded once: a second run finds
its policy in force and does not call this (see api/cli_demo.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from workflow import handlers, sla, sla_sweep
from workflow.handler_ports import U, UnitOfWorkFactory
from workflow.model import Actor, Escalation, parse_rfc3339, rfc3339

# Ids fixed for the story, so a restart knows it was seeded and a reader can name them.
_NAMESPACE = uuid.UUID("6f1c1b8e-0d7e-4f5e-9a53-7d1a5e0b0a11")
CASES = ("breached", "handoff", "debriefed", "promise", "open-new", "open-taken")
IDS = {case: str(uuid.uuid5(_NAMESPACE, f"baton-demo/{case}")) for case in CASES}
SWEEP_DELAY = timedelta(seconds=2)  # how long after a deadline the worker records it


def _customer(cid: str, name: str, value: str = "standard") -> dict[str, str]:
    return {"id": cid, "name": name, "value": value}


OPENINGS: dict[str, dict[str, Any]] = {
    "breached": {"title": "Checkout rejects every card payment",
                 "description": "Since the 10:00 deploy every card payment fails at checkout",
                 "category": "outage", "severity": "urgent",
                 "customer": _customer("cust-1001", "Northwind Traders", "strategic")},
    "handoff": {"title": "Refund for a duplicated annual invoice",
                "description": "The annual plan was invoiced and charged twice in March",
                "category": "billing", "severity": "normal",
                "customer": _customer("cust-1002", "Ada Lovelace", "high"),
                "amount": {"value": "1200.00", "currency": "USD"}},
    "debriefed": {"title": "Team locked out after an SSO certificate change",
                  "description": "No one at the customer can sign in since the IdP "
                                 "rotated its certificate",
                  "category": "account", "severity": "high",
                  "customer": _customer("cust-1003", "Contoso Ltd", "high")},
    "promise": {"title": "Invoice PDF shows the wrong VAT rate",
                "description": "The April invoice applies 19% instead of 20%",
                "category": "billing", "severity": "normal",
                "customer": _customer("cust-1004", "Grace Hopper")},
    "open-new": {"title": "CSV export times out for large reports",
                 "description": "Exports over 50,000 rows stop after 30 seconds",
                 "category": "technical", "severity": "low",
                 "customer": _customer("cust-1005", "Margaret Hamilton")},
    "open-taken": {"title": "Password reset mail never arrives",
                   "description": "Reset mails to the customer's domain do not arrive",
                   "category": "account", "severity": "normal",
                   "customer": _customer("cust-1006", "Katherine Johnson")},
}

Payload = dict[str, Any] | Callable[[Escalation], dict[str, Any]]


def _item_of(owner: str) -> Callable[[Escalation], dict[str, Any]]:
    """complete-action's payload: the action item of `owner` (ids are given at debrief)."""
    def payload(esc: Escalation) -> dict[str, Any]:
        item = next(i for i, facts in esc.action_items.items() if facts["owner"] == owner)
        return {"item": item, "note": "runbook page published"}
    return payload


def _steps(now: datetime) -> list[tuple[timedelta, str, str, str, Payload]]:
    """(how long before now, who, which case, action, payload), in time order."""
    week, two_days = rfc3339(now + timedelta(days=7)), rfc3339(now + timedelta(days=2))
    return sorted([
        (timedelta(hours=5), "alice", "debriefed", "open", OPENINGS["debriefed"]),
        (timedelta(hours=4, minutes=55), "alice", "debriefed", "acknowledge",
         {"note": "Taking it: checking the SSO settings with the customer"}),
        (timedelta(hours=4, minutes=50), "alice", "debriefed", "escalate",
         {"reason": "Needs access to the identity provider settings",
          "trigger": "complexity"}),
        (timedelta(hours=4, minutes=40), "bob", "debriefed", "acknowledge",
         {"note": "Specialists have it"}),
        (timedelta(hours=4), "bob", "debriefed", "update",
         {"note": "Admins can sign in with a recovery code meanwhile",
          "next_steps": "Re-import the new certificate", "workaround": True}),
        (timedelta(hours=3), "bob", "debriefed", "resolve",
         {"summary": "Imported the rotated certificate; sign-in works again"}),
        (timedelta(hours=2, minutes=50), "bob", "debriefed", "confirm-resolution",
         {"confirmed": True, "csat": 4, "comment": "Back in, thanks"}),
        (timedelta(hours=3), "andy", "promise", "open", OPENINGS["promise"]),
        (timedelta(hours=2, minutes=58), "andy", "promise", "acknowledge",
         {"note": "Checking the tax settings"}),
        (timedelta(hours=2, minutes=55), "andy", "promise", "promise",
         {"kind": "callback", "within": "2h", "note": "Call back with the corrected invoice"}),
        (timedelta(hours=1, minutes=30), "andy", "promise", "contact-customer",
         {"channel": "phone", "summary": "Called back: corrected invoice on its way"}),
        (timedelta(hours=1, minutes=25), "andy", "promise", "update",
         {"note": "Corrected invoice issued", "next_steps": "Confirm receipt tomorrow"}),
        (timedelta(hours=1), "fay", "debriefed", "debrief",
         {"what_worked": "The recovery-code workaround within the hour",
          "what_did_not": "Frontline had no runbook for SSO lockouts",
          "root_cause": "The customer's IdP rotated its signing certificate unannounced",
          "lessons": ["Watch certificate expiry for SSO customers"],
          "actions": [{"what": "Alert on SSO certificate expiry", "owner": "bob",
                       "due": week},
                      {"what": "Add SSO lockouts to the frontline runbook",
                       "owner": "alice", "due": two_days}]}),
        (timedelta(minutes=50), "alice", "breached", "open", OPENINGS["breached"]),
        (timedelta(minutes=40), "alice", "handoff", "open", OPENINGS["handoff"]),
        (timedelta(minutes=38), "alice", "handoff", "acknowledge",
         {"note": "Duplicate charge confirmed on the statement"}),
        (timedelta(minutes=35), "alice", "handoff", "escalate",
         {"reason": "A 1,200 USD refund is above the frontline limit",
          "trigger": "authority"}),
        (timedelta(minutes=30), "alice", "debriefed", "complete-action", _item_of("alice")),
        (timedelta(minutes=15), "andy", "open-new", "open", OPENINGS["open-new"]),
        (timedelta(minutes=12), "alice", "handoff", "hand-off",
         {"to": "fiona", "context": "Refund of the duplicate 1,200 USD charge; statement "
                                   "attached to the case"}),
        (timedelta(minutes=6), "alice", "open-taken", "open", OPENINGS["open-taken"]),
        (timedelta(minutes=5), "alice", "open-taken", "acknowledge",
         {"note": "Checking the mail logs"}),
    ], key=lambda step: -step[0])


@dataclass(frozen=True)
class Seeded:
    """What seeding wrote: the escalations (case -> id), and the sweeps' breaches."""

    escalations: dict[str, str]
    breaches: int


def _sweep_until(uow: UnitOfWorkFactory[U], latest: dict[str, Escalation],
                 until: datetime) -> int:
    """Run the sweep as the worker would have: two seconds after each deadline that
    passes before `until`; the breaches recorded."""
    breaches = 0
    while True:
        pending = [sla.next_due(esc) for esc in latest.values()]
        due = min((d for d in pending if d is not None), default=None)
        if due is None or (at := parse_rfc3339(due) + SWEEP_DELAY) > until:
            return breaches
        breaches += sla_sweep.sweep(uow_factory=uow, now=at).escalations
        with uow() as tx:
            for eid in latest:
                found = tx.escalations.get(eid)
                assert found is not None
                latest[eid] = found


def seed(*, uow: UnitOfWorkFactory[U], actors: dict[str, Actor], now: datetime) -> Seeded:
    """Write the story, ending at `now` (the ledger's events must be older than any
    written after it); the policy in force and the actors must exist already."""
    latest: dict[str, Escalation] = {}
    breaches = 0
    for before, who, case, action, payload in _steps(now):
        at = now - before
        breaches += _sweep_until(uow, latest, at)
        body = payload(latest[IDS[case]]) if callable(payload) else dict(payload)
        if action == "open":
            written = handlers.open_escalation(
                uow=uow, actor=actors[who], escalation_id=IDS[case], payload=body,
                now=at, shown=handlers.nothing_shown)
        else:
            written = handlers.act(uow=uow, actor=actors[who], escalation_id=IDS[case],
                                   action=action, payload=body, now=at,
                                   shown=handlers.nothing_shown)
        latest[IDS[case]] = written.outcome.escalation
    breaches += _sweep_until(uow, latest, now)
    return Seeded(dict(IDS), breaches)
