"""The debrief pack: the story of one escalation as the ledger tells it, for the
facilitator who runs the meeting: who initiated, owned, covered, contributed and closed
it; which clocks held; what was promised and kept, granted, and what the customer said;
the lessons and the action items with their state. Derived from the records alone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from audit.reads.timeline import build
from workflow.action_effects import item_of, promise_clock
from workflow.model import parse_rfc3339


def is_overdue(due: str | None, completed_at: str | None, now: datetime) -> bool:
    """A debrief action is overdue when it has a due time, is not completed, and the due
    time has passed (the debrief pack and the metrics both count by this)."""
    return bool(due and completed_at is None and parse_rfc3339(due) < now)


def customer_side(records: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """Promises (each with whether it was kept), contacts, confirmations, grants and the
    action items of one escalation, from its records."""
    promises: dict[str, dict[str, Any]] = {}
    contacts, confirmations, grants = [], [], []
    items: dict[str, dict[str, Any]] = {}
    for rec in records:
        p, action = rec["payload"], rec["action"]
        made = p if action == "promise" else p.get("promise_made") if action == "acknowledge" \
            else None
        if made:
            promises[made["promise_id"]] = {"id": made["promise_id"], "kind": made["kind"],
                                            "due": made["due"], "made_by": rec["actor"],
                                            "made_at": rec["at"], "kept_at": None,
                                            "breached": False}
        elif action == "contact-customer":
            contacts.append({"at": rec["at"], "by": rec["actor"], "channel": p["channel"],
                             "summary": p.get("summary"), "outcome": p.get("outcome"),
                             "kept": p.get("kept", [])})
            for promise_id in p.get("kept", []):
                promises[promise_id]["kept_at"] = rec["at"]
        elif action == "confirm-resolution":
            confirmations.append({"at": rec["at"], "by": rec["actor"],
                                  "confirmed": p["confirmed"], "csat": p.get("csat"),
                                  "comment": p.get("comment"),
                                  "through_link": bool(p.get("link"))})
        elif action == "resolve" and p.get("grant"):
            grants.append({"at": rec["at"], "by": rec["actor"], **p["grant"]})
        elif action == "debrief":
            whats = p.get("actions") or []
            for index, facts in enumerate(p.get("action_items") or []):
                what = whats[index] if index < len(whats) else None
                items[facts["id"]] = {**facts, "what": what, "completed_at": None,
                                      "completed_by": None}
        elif action == "complete-action" and p["item"] in items:
            items[p["item"]].update(completed_at=rec["at"], completed_by=rec["actor"])
        elif action == "sla-breached":
            clock = p["clock"]
            for promise in promises.values():
                if clock == promise_clock(promise["id"]):
                    promise["breached"] = True
            if item_of(clock) in items:
                items[item_of(clock) or ""]["overdue_announced"] = rec["at"]
    for item in items.values():
        item["overdue"] = is_overdue(item.get("due"), item["completed_at"], now)
    for promise in promises.values():
        promise["kept"] = promise["kept_at"] is not None
    return {"promises": list(promises.values()), "contacts": contacts,
            "confirmations": confirmations, "grants": grants,
            "action_items": list(items.values())}


def _sla(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per clock that ran: met, or breached and by how much."""
    ran: set[str] = set()
    late: dict[str, int] = {}
    for rec in records:
        ran |= set(rec["payload"].get("deadlines") or {})
        if rec["action"] == "sla-breached":
            clock = rec["payload"]["clock"]
            late[clock] = max(late.get(clock, 0), rec["payload"]["late_by_seconds"])
    return {clock: ({"outcome": "breached", "late_by_seconds": late[clock]}
                    if clock in late else {"outcome": "met", "late_by_seconds": None})
            for clock in sorted(ran)}


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
    resolves = [r for r in records if r["action"] == "resolve"]
    debriefs = [r for r in records if r["action"] == "debrief"]
    lessons = (debriefs[-1]["payload"].get("lessons") or []) if debriefs else []
    return {
        "escalation_id": records[0]["escalation_id"],
        "title": records[0]["payload"].get("title"),
        "initiated_by": records[0]["actor"],
        "opened_at": records[0]["at"],
        "repeat_of": records[0]["payload"].get("repeat_of"),
        "owners": timeline["ownership"],
        "contributors": sorted(contributors),
        "closed_by": resolves[-1]["actor"] if resolves else None,
        "sla": _sla(records),
        "durations": timeline["durations"],
        "promises": side["promises"],
        "contacts": side["contacts"],
        "grants": side["grants"],
        "confirmations": side["confirmations"],
        "related": related,
        "lessons": lessons,
        "action_items": side["action_items"],
    }


def _md(value: Any) -> str:
    text = "—" if value is None else str(value)
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("|", "\\|").replace("\n", " "))


def to_markdown(p: dict[str, Any]) -> str:
    """The pack as a page a facilitator can put on the screen."""
    lines = [f"# Debrief: {_md(p['title'] or '(erased)')}", "",
             f"- escalation: {p['escalation_id']}",
             f"- initiated by {p['initiated_by']} at {p['opened_at']}",
             f"- closed by {_md(p['closed_by'])}",
             f"- repeat of: {_md(p['repeat_of'])}; related: "
             f"{', '.join(p['related']) or '—'}",
             f"- contributors: {', '.join(p['contributors'])}", "", "## Owners", "",
             "| owner | kind | from | to | began | ended |", "|---|---|---|---|---|---|"]
    for s in p["owners"]:
        lines.append(f"| {s['owner']} | {s['kind']} | {s['from']} | {_md(s['to'])} "
                     f"| {s['began']} | {_md(s['ended'])} |")
    lines += ["", "## Clocks", "", "| clock | outcome | late by (s) |", "|---|---|---|"]
    for clock, held in p["sla"].items():
        lines.append(f"| {clock} | {held['outcome']} | {_md(held['late_by_seconds'])} |")
    lines += ["", "## Promises", "", "| kind | due | kept |", "|---|---|---|"]
    for pr in p["promises"]:
        lines.append(f"| {pr['kind']} | {pr['due']} | "
                     f"{'kept ' + pr['kept_at'] if pr['kept'] else 'not kept'} |")
    lines += ["", "## The customer", ""]
    for c in p["contacts"]:
        lines.append(f"- {c['at']} {c['by']} ({c['channel']}): {_md(c['summary'])}")
    for c in p["confirmations"]:
        said = "confirmed" if c["confirmed"] else "not resolved"
        lines.append(f"- {c['at']} {c['by']}: {said}, CSAT {_md(c['csat'])}: "
                     f"{_md(c['comment'])}")
    for g in p["grants"]:
        lines.append(f"- granted {g['kind']} {g['amount']['value']} "
                     f"{g['amount']['currency']} by {g['by']}")
    lines += ["", "## Lessons", ""] + [f"- {_md(lesson)}" for lesson in p["lessons"]]
    lines += ["", "## Action items", "", "| id | what | owner | due | state |",
              "|---|---|---|---|---|"]
    for item in p["action_items"]:
        state = f"done {item['completed_at']}" if item["completed_at"] else (
            "overdue" if item["overdue"] else "open")
        lines.append(f"| {item['id']} | {_md(item['what'])} | {_md(item['owner'])} "
                     f"| {_md(item['due'])} | {state} |")
    return "\n".join(lines) + "\n"
