"""The debrief pack: the story of one escalation as the ledger tells it, for the
facilitator who runs the meeting: who initiated, owned, covered, contributed and closed
it; which clocks held; what was promised and kept, granted, and what the customer said;
the lessons and the action items with their state. Derived from the records alone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from audit.reads import clock_runs
from audit.reads.debrief_markdown import to_markdown as to_markdown
from audit.reads.timeline import build
from workflow.action_effects import item_of, promise_clock
from workflow.catalogue import CATALOGUE
from workflow.model import parse_rfc3339


def is_overdue(due: str | None, completed_at: str | None, now: datetime) -> bool:
    """A debrief action is overdue when it has a due time, is not completed, and the due
    time has passed (the debrief pack and the metrics both count by this)."""
    return bool(due and completed_at is None and parse_rfc3339(due) < now)


def _section(rec: dict[str, Any]) -> str | None:
    spec = CATALOGUE.get(rec["action"])
    return spec.debrief if spec is not None else None


def _promise(rec: dict[str, Any]) -> dict[str, Any] | None:
    """The promise an event made: its payload (a promise), or the one given with it."""
    p = rec["payload"]
    made = p.get("promise_made") or (p if "promise_id" in p else None)
    if not made:
        return None
    return {"id": made["promise_id"], "kind": made["kind"], "due": made["due"],
            "made_by": rec["actor"], "made_at": rec["at"], "kept_at": None, "breached": False}


def _breach(p: dict[str, Any], promises: dict[str, dict[str, Any]],
            items: dict[str, dict[str, Any]], at: str) -> None:
    clock = p["clock"]
    for promise in promises.values():
        if clock == promise_clock(promise["id"]):
            promise["breached"] = True
    if item_of(clock) in items:
        items[item_of(clock) or ""]["overdue_announced"] = at


def _review_items(p: dict[str, Any]) -> dict[str, dict[str, Any]]:
    whats = p.get("actions") or []
    items = {}
    for index, facts in enumerate(p.get("action_items") or []):
        what = whats[index] if index < len(whats) else None
        items[facts["id"]] = {**facts, "what": what, "completed_at": None,
                              "completed_by": None}
    return items


def customer_side(records: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """Promises (each with whether it was kept), contacts, confirmations, grants and the
    action items of one escalation, from its records (each read by its debrief section)."""
    promises: dict[str, dict[str, Any]] = {}
    contacts, confirmations, grants = [], [], []
    items: dict[str, dict[str, Any]] = {}
    for rec in records:
        p, section = rec["payload"], _section(rec)
        made = _promise(rec) if section == "promise" else None
        if made:
            promises[made["id"]] = made
        elif section == "contact":
            contacts.append({"at": rec["at"], "by": rec["actor"], "channel": p["channel"],
                             "summary": p.get("summary"), "outcome": p.get("outcome"),
                             "kept": p.get("kept", [])})
            for promise_id in p.get("kept", []):
                promises[promise_id]["kept_at"] = rec["at"]
        elif section == "confirmation":
            confirmations.append({"at": rec["at"], "by": rec["actor"],
                                  "confirmed": p["confirmed"], "csat": p.get("csat"),
                                  "comment": p.get("comment"),
                                  "through_link": bool(p.get("link"))})
        elif section == "resolution" and p.get("grant"):
            grants.append({"at": rec["at"], "by": rec["actor"], **p["grant"]})
        elif section == "review":
            items.update(_review_items(p))
        elif section == "item-done" and p["item"] in items:
            items[p["item"]].update(completed_at=rec["at"], completed_by=rec["actor"])
        elif section == "breach":
            _breach(p, promises, items, rec["at"])
    for item in items.values():
        item["overdue"] = is_overdue(item.get("due"), item["completed_at"], now)
    for promise in promises.values():
        promise["kept"] = promise["kept_at"] is not None
    return {"promises": list(promises.values()), "contacts": contacts,
            "confirmations": confirmations, "grants": grants,
            "action_items": list(items.values())}


def _review(records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The debrief itself (the last review, a debriefed escalation has one): who wrote it
    and when, the root cause, what worked, what did not, the lessons, the actions as
    written, and which of its texts were erased."""
    reviews = [r for r in records if _section(r) == "review"]
    if not reviews:
        return None
    rec = reviews[-1]
    p = rec["payload"]
    return {"at": rec["at"], "by": rec["actor"], "role": rec["role"],
            "root_cause": p.get("root_cause"), "what_worked": p.get("what_worked"),
            "what_did_not": p.get("what_did_not"), "lessons": p.get("lessons") or [],
            "actions": p.get("actions") or [], "erased_fields": sorted(rec["erased"])}


def pack(records: list[dict[str, Any]], related: list[str], now: datetime) -> dict[str, Any]:
    """The debrief pack of one escalation (`related`: the customer's other escalations)."""
    timeline = build(records)
    side = customer_side(records, now)
    contributors: set[str] = set()
    for rec in records:
        if rec["actor"] != "system":
            contributors.add(rec["actor"])
        p = rec["payload"]
        for key in ("handle", "to", "acting_owner"):
            if isinstance(p.get(key), str):
                contributors.add(p[key])
        contributors |= set(p.get("recipients") or [])
    resolves = [r for r in records if _section(r) == "resolution"]
    review = _review(records)
    runs = clock_runs.runs(records, now)
    return {
        "escalation_id": records[0]["escalation_id"],
        "title": records[0]["payload"].get("title"),
        "initiated_by": records[0]["actor"],
        "opened_at": records[0]["at"],
        "repeat_of": records[0]["payload"].get("repeat_of"),
        "owners": timeline["ownership"],
        "contributors": sorted(contributors),
        "closed_by": resolves[-1]["actor"] if resolves else None,
        "sla": clock_runs.summary(runs),
        "clocks": runs,
        "durations": timeline["durations"],
        "promises": side["promises"],
        "contacts": side["contacts"],
        "grants": side["grants"],
        "confirmations": side["confirmations"],
        "related": related,
        "debrief": review,
        "lessons": review["lessons"] if review else [],
        "action_items": side["action_items"],
    }
