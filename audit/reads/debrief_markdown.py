"""The debrief pack as a Markdown page a facilitator pastes into the meeting's notes
unedited: the debrief itself first, then its action items, how each clock held, who owned
it when, what was promised and what the customer said. Times to the second, in UTC;
nothing a program would print for itself (no `None`, no dictionaries)."""

from __future__ import annotations

from typing import Any

from audit.reads.clock_runs import BREACHED, MET, MET_LATE, NOT_KEPT, RUNNING
from audit.reads.markdown_text import NOTHING, cell, duration, moment, table

_ERASED = "*(erased)*"


def _text(review: dict[str, Any], field: str) -> str:
    """A text of the debrief: itself, erased, or not given."""
    if field in review["erased_fields"]:
        return _ERASED
    return cell(review[field])


def _review(p: dict[str, Any]) -> list[str]:
    review = p["debrief"]
    lines = ["## The debrief", ""]
    if review is None:
        return lines + ["Not debriefed yet.", ""]
    lines += [f"Written by {cell(review['by'])} ({cell(review['role'])}) at "
              f"{moment(review['at'])}.", "",
              f"- **Root cause:** {_text(review, 'root_cause')}",
              f"- **What worked:** {_text(review, 'what_worked')}",
              f"- **What did not:** {_text(review, 'what_did_not')}", "", "### Lessons", ""]
    if "lessons" in review["erased_fields"]:
        lessons = [_ERASED]
    else:
        lessons = [f"- {cell(lesson)}" for lesson in review["lessons"]] or [NOTHING]
    return lines + lessons + [""]


def _item_state(item: dict[str, Any]) -> str:
    if item["completed_at"]:
        return f"done {moment(item['completed_at'])} by {cell(item['completed_by'])}"
    return "overdue" if item["overdue"] else "open"


def _items(p: dict[str, Any]) -> list[str]:
    rows = [(cell(i["id"]), cell(i["what"]), cell(i["owner"]), moment(i["due"]),
             _item_state(i)) for i in p["action_items"]]
    return ["## Action items", "",
            *table(("item", "what", "owner", "due", "state"), rows), ""]


def _held(run: dict[str, Any]) -> tuple[str, str]:
    """A clock run's outcome and by how much, in words."""
    margin = run["margin_seconds"]
    if run["outcome"] == MET:
        return "met", f"{duration(margin)} before the deadline"
    if run["outcome"] == MET_LATE:
        return "met late", f"{duration(margin)} after the deadline"
    if run["outcome"] == NOT_KEPT:
        return "not kept", f"ended by {cell(run['ended_by'])}"
    if run["outcome"] == BREACHED:
        return "breached, still running", f"{duration(margin)} overdue"
    assert run["outcome"] == RUNNING
    return "running", f"{duration(margin)} left"


def _clocks(p: dict[str, Any]) -> list[str]:
    rows = []
    for run in p["clocks"]:
        outcome, how_much = _held(run)
        if run["breach_recorded_at"]:
            outcome += f" (breach recorded {moment(run['breach_recorded_at'])})"
        rows.append((cell(run["label"]), moment(run["started_at"]), moment(run["due"]),
                     moment(run["ended_at"]) if run["ended_at"] else "still running",
                     outcome, how_much))
    return ["## Clocks", "",
            *table(("clock", "started", "due", "ended", "outcome", "by how much"), rows), ""]


def _owners(p: dict[str, Any]) -> list[str]:
    rows = [(cell(s["owner"]), cell(s["kind"]), moment(s["from"]),
             moment(s["to"]) if s["to"] else "now", cell(s["began"]), cell(s["ended"]))
            for s in p["owners"]]
    return ["## Owners", "",
            *table(("owner", "as", "from", "until", "began by", "ended by"), rows), ""]


def _promises(p: dict[str, Any]) -> list[str]:
    rows = []
    for pr in p["promises"]:
        kept = f"kept {moment(pr['kept_at'])}" if pr["kept"] else (
            "breached, not kept" if pr["breached"] else "not kept")
        rows.append((cell(pr["id"]), cell(pr["kind"]), cell(pr["made_by"]),
                     moment(pr["made_at"]), moment(pr["due"]), kept))
    return ["## Promises", "",
            *table(("promise", "kind", "made by", "made", "due", "kept"), rows), ""]


def _customer(p: dict[str, Any]) -> list[str]:
    lines = []
    for c in p["contacts"]:
        lines.append(f"- {moment(c['at'])}: {cell(c['by'])} contacted the customer "
                     f"({cell(c['channel'])}): {cell(c['summary'])}")
    for c in p["confirmations"]:
        said = "confirmed the resolution" if c["confirmed"] else "said it was not resolved"
        how = " through the feedback link" if c["through_link"] else ""
        score = f", CSAT {c['csat']}" if c["csat"] is not None else ""
        comment = f": {cell(c['comment'])}" if c["comment"] else ""
        lines.append(f"- {moment(c['at'])}: {cell(c['by'])} {said}{how}{score}{comment}")
    for g in p["grants"]:
        lines.append(f"- {moment(g['at'])}: {cell(g['by'])} granted {cell(g['kind'])} "
                     f"{cell(g['amount']['value'])} {cell(g['amount']['currency'])}")
    return ["## The customer", "", *(lines or ["Nothing recorded."]), ""]


def _heading(p: dict[str, Any]) -> list[str]:
    d = p["durations"]
    lines = [f"# Debrief: {cell(p['title']) if p['title'] else _ERASED}", "",
             f"- Escalation: {cell(p['escalation_id'])}",
             f"- Opened by {cell(p['initiated_by'])} at {moment(p['opened_at'])}",
             f"- Resolved by {cell(p['closed_by'])}" if p["closed_by"] else "- Not resolved",
             f"- Contributors: {', '.join(cell(c) for c in p['contributors'])}",
             f"- Time to first response: {duration(d['time_to_first_response'])}; "
             f"to containment: {duration(d['time_to_containment'])}; "
             f"to resolution: {duration(d['time_to_resolution'])}"]
    if p["repeat_of"]:
        lines.append(f"- Repeat of: {cell(p['repeat_of'])}")
    if p["related"]:
        lines.append(f"- The customer's other escalations: "
                     f"{', '.join(cell(r) for r in p['related'])}")
    return [*lines, ""]


def to_markdown(p: dict[str, Any]) -> str:
    """The pack as a page for the meeting (CommonMark with GitHub tables)."""
    lines = [*_heading(p), *_review(p), *_items(p), *_clocks(p), *_owners(p),
             *_promises(p), *_customer(p)]
    return "\n".join(lines).rstrip("\n") + "\n"
