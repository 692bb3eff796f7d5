"""Post-mortem timelines: every event, the milestones, the durations between them."""

from __future__ import annotations

import csv
import html
import io
from typing import Any

from audit.reads.markdown_text import FORMULA_START, moment, printable, times_in
from audit.reads.records import to_event
from audit.reads.trails import trail
from audit.store.projection import parse_time
from workflow.catalogue import CATALOGUE, EVERY, FIRST, PER_TIER, ActionSpec, Milestone
from workflow.model import Escalation
from workflow.states import HANDED_OFF, OPENED


def _between(a: str | None, b: str | None) -> float | None:
    if a is None or b is None:
        return None
    x, y = parse_time(a), parse_time(b)
    assert x is not None and y is not None
    return (y - x).total_seconds()


def _text(rec: dict[str, Any]) -> str | None:
    """The event's free texts, as its catalogue entry says they read."""
    spec = CATALOGUE.get(rec["action"])
    if spec is None:
        return None
    p = rec["payload"]
    present = [k for k in spec.text_fields if p.get(k)]
    shown = {k: "; ".join(p[k]) if isinstance(p[k], list) else str(p[k]) for k in present}
    if spec.labelled_text:
        parts = [f"{k}: {shown[k]}" for k in present]
    else:
        parts = [shown[k] for k in present]
    return " | ".join(parts) if parts else None


def _subject(rec: dict[str, Any]) -> str | None:
    """Whom the event names: a proposed or new owner, someone looped in, the cover."""
    spec = CATALOGUE.get(rec["action"])
    field = spec and (spec.subject or spec.names_actor)
    return rec["payload"].get(field) if field else None


# What changes of an escalation a timeline row reports (the rest is bookkeeping).
# Bookkeeping, not news: `warnings` holds the moments a running clock will warn at (the
# warnings themselves are sla-warning events of their own).
_UNREPORTED = ("version", "updated_at", "created_at", "policy_version", "opened_by",
               "awaiting_ack", "return_to", "warnings")


def _value(value: Any) -> str:
    """A field's value as people read it (no `None`, `True`, `False`)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return " ".join(_value(v) for v in value.values())
    return "—" if value is None else str(value)


def _entries(key: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Entries of a keyed collection (promises, action items, feedback links) that an
    event added or changed (`promises p2: kind callback, due …`) or removed."""
    out = []
    for entry in sorted(set(old) | set(new)):
        if entry not in new:
            out.append(f"{key} -{entry}")
        elif old.get(entry) != new[entry]:
            facts = new[entry]
            shown = ", ".join(f"{k.replace('_', ' ')} {_value(v)}" for k, v in facts.items()
                              if v is not None) if isinstance(facts, dict) else _value(facts)
            out.append(f"{key} {entry}: {shown}")
    return out


def _changes(before: dict[str, Any] | None, after: dict[str, Any],
             payload: dict[str, Any]) -> list[str]:
    """What one event changed: each field of the escalation it moved (from the replay of
    the ledger before and after it), and what a resolution granted."""
    out: list[str] = []
    for key, new in after.items():
        old = None if before is None else before.get(key)
        if key in _UNREPORTED or old == new:
            continue
        if isinstance(new, list):
            added = [x for x in new if x not in (old or [])]
            gone = [x for x in (old or []) if x not in new]
            out += [f"{key} +{x}" for x in added] + [f"{key} -{x}" for x in gone]
        elif isinstance(new, dict) and key in ("deadlines", "breached"):
            for clock in sorted(set(new) | set(old or {})):
                if (old or {}).get(clock) != new.get(clock):
                    label = "due" if key == "deadlines" else "breached at"
                    out.append(f"{clock} {label} {new[clock]}" if clock in new
                               else f"{clock} clock stopped")
        elif isinstance(new, dict) and key != "amount":
            out += _entries(key, old or {}, new)
        elif isinstance(new, dict):
            out.append(f"{key}: {' '.join(str(v) for v in new.values())}")
        else:
            out.append(f"{key}: {_value(old)} → {_value(new)}")
    grant = payload.get("grant")
    if grant:
        amount = grant["amount"]
        out.append(f"granted {grant['kind']} {amount['value']} {amount['currency']}")
    return out


def _milestones() -> dict[str, Any]:
    """Every milestone of the catalogue, none reached yet (a first workaround beside the
    tiers reached: any event's payload may say one was given)."""
    out: dict[str, Any] = {}
    for spec in CATALOGUE.values():
        mark = spec.milestone
        if mark is not None:
            out[mark.key] = {EVERY: [], PER_TIER: {}}.get(mark.how)
            if mark.how == PER_TIER:
                out["first_workaround"] = None
    out.setdefault("first_workaround", None)
    return out


def _mark(milestones: dict[str, Any], mark: Milestone | None, rec: dict[str, Any]) -> None:
    """The milestone an event marks, as its catalogue entry says."""
    at = rec["at"]
    if mark is not None:
        if mark.how == FIRST:
            milestones[mark.key] = milestones[mark.key] or at
        elif mark.how == EVERY:
            milestones[mark.key].append(at)
        elif mark.how == PER_TIER:
            milestones[mark.key].setdefault(str(rec["tier"]), at)
        else:
            milestones[mark.key] = at
        if mark.clears:
            milestones[mark.clears] = None
    if rec["payload"].get("workaround") and milestones["first_workaround"] is None:
        milestones["first_workaround"] = at


def _row(spec: ActionSpec | None, rec: dict[str, Any], handoffs: list[dict[str, Any]],
         breaches: list[dict[str, Any]]) -> None:
    """The row an event adds to the timeline's hand-offs or breaches, or the pending
    hand-off it decides."""
    at, p = rec["at"], rec["payload"]
    if spec is None:
        return
    if spec.timeline == "breaches":
        breaches.append({"clock": p["clock"], "at": at, "deadline": p["deadline"],
                         "late_by_seconds": p["late_by_seconds"],
                         "acting_owner": p.get("acting_owner")})
    elif spec.timeline == "handoffs":
        handoffs.append({"from": rec["from_owner"], "to": _subject(rec),
                         "proposed_at": at, "outcome": "pending", "decided_at": None,
                         "seconds_to_decision": None})
    elif rec["from_state"] == HANDED_OFF and spec.handoff_outcome and handoffs:
        last = handoffs[-1]
        last.update(outcome=spec.handoff_outcome, decided_at=at,
                    seconds_to_decision=_between(last["proposed_at"], at))


def _event(rec: dict[str, Any], before: dict[str, Any] | None,
           after: dict[str, Any]) -> dict[str, Any]:
    return {
        "seq": rec["seq"], "at": rec["at"], "action": rec["action"],
        "actor": rec["actor"], "role": rec["role"], "from_state": rec["from_state"],
        "to_state": rec["to_state"], "from_owner": rec["from_owner"],
        "to_owner": rec["to_owner"], "tier": rec["tier"], "rule": rec["rule"],
        "text": _text(rec), "erased_fields": sorted(rec["erased"]),
        "subject": _subject(rec), "changes": _changes(before, after, rec["payload"]),
    }


def build(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The timeline of one escalation from its ledger records."""
    if not records:
        raise ValueError("no records")
    events = []
    milestones = _milestones()
    handoffs: list[dict[str, Any]] = []
    breaches: list[dict[str, Any]] = []
    time_per_tier: dict[str, float] = {}
    current_tier, tier_since = 0, records[0]["at"]
    folded: Escalation | None = None
    after: dict[str, Any] | None = None  # the state after the previous event
    for rec in records:
        before = after
        event = to_event(rec)
        if folded is None:
            folded = Escalation(id=event.escalation_id, state=OPENED)
        folded.apply(event)
        after = folded.snapshot()
        events.append(_event(rec, before, after))
        spec = CATALOGUE.get(rec["action"])
        if rec["tier"] != current_tier:  # moved to another tier: the time at the last
            spent = _between(tier_since, rec["at"]) or 0.0
            time_per_tier[str(current_tier)] = time_per_tier.get(str(current_tier), 0) + spent
            current_tier, tier_since = rec["tier"], rec["at"]
        _mark(milestones, spec.milestone if spec else None, rec)
        _row(spec, rec, handoffs, breaches)
    end = milestones["resolved"] or records[-1]["at"]
    spent = _between(tier_since, end) or 0.0
    time_per_tier[str(current_tier)] = time_per_tier.get(str(current_tier), 0) + spent
    opened = milestones["opened"]
    return {
        "escalation_id": records[0]["escalation_id"],
        "title": records[0]["payload"].get("title"),
        "events": events,
        "milestones": milestones,
        "durations": {
            "time_to_first_response": _between(opened, milestones["first_acknowledged"]),
            "time_to_containment": _between(opened, milestones["first_workaround"]),
            "time_to_resolution": _between(opened, milestones["resolved"]),
            "time_per_tier": time_per_tier,
        },
        "handoffs": handoffs,
        "breaches": breaches,
        "ownership": trail(records),
    }


CSV_COLUMNS = ("seq", "at", "action", "actor", "role", "subject", "from_state", "to_state",
               "from_owner", "to_owner", "tier", "rule", "changes", "text", "erased_fields")




def _cell(value: Any) -> Any:
    """A text that cannot start a formula: a leading quote disarms it (OWASP)."""
    if isinstance(value, str):
        value = printable(value)
        if value.startswith(FORMULA_START):
            return "'" + value
    return value


def to_csv(timeline: dict[str, Any]) -> str:
    """One row per event (RFC 4180); no cell starts a spreadsheet formula."""
    out = io.StringIO()
    # CRLF rows: the csv module quotes a cell holding any character of the terminator, so a
    # text with a bare CR stays one cell instead of starting a row of its own.
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for event in timeline["events"]:
        row = dict(event)
        row["erased_fields"] = ";".join(event["erased_fields"])
        row["changes"] = "; ".join(event["changes"])
        writer.writerow({k: _cell(row.get(k)) for k in CSV_COLUMNS})
    return out.getvalue()


def _md(value: Any) -> str:
    """A Markdown table cell: no HTML a wiki would render, no table break, no formula."""
    if value is None:
        return ""
    text = " ".join(str(value).splitlines()).replace("|", "\\|")
    return str(_cell(html.escape(text, quote=False)))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, sec = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {sec:02d}s" if hours else f"{minutes}m {sec:02d}s"


def to_markdown(timeline: dict[str, Any]) -> str:
    """A post-mortem page: milestones, durations, handoffs, ownership, events."""
    m, d = timeline["milestones"], timeline["durations"]
    lines = [f"# Escalation {timeline['escalation_id']}: {_md(timeline['title'] or '(erased)')}",
             "", "## Milestones", ""]
    for key in ("opened", "first_acknowledged", "first_workaround", "resolved", "debriefed"):
        lines.append(f"- {key.replace('_', ' ')}: {moment(m[key])}")
    for tier, at in sorted(m["tiers_reached"].items()):
        lines.append(f"- tier {tier} reached: {moment(at)}")
    for at in m["reopened"]:
        lines.append(f"- reopened: {moment(at)}")
    lines += ["", "## Durations", "",
              f"- time to first response: {_duration(d['time_to_first_response'])}",
              f"- time to containment: {_duration(d['time_to_containment'])}",
              f"- time to resolution: {_duration(d['time_to_resolution'])}"]
    for tier, secs in sorted(d["time_per_tier"].items()):
        lines.append(f"- time at tier {tier}: {_duration(secs)}")
    if timeline["handoffs"]:
        lines += ["", "## Handoffs", "", "| from | to | proposed | outcome | took |",
                  "|---|---|---|---|---|"]
        for h in timeline["handoffs"]:
            lines.append(f"| {_md(h['from'])} | {_md(h['to'])} | {moment(h['proposed_at'])} "
                         f"| {h['outcome']} | {_duration(h['seconds_to_decision'])} |")
    if timeline["breaches"]:
        lines += ["", "## SLA breaches", "", "| clock | at | late by | acting owner |",
                  "|---|---|---|---|"]
        for b in timeline["breaches"]:
            lines.append(f"| {b['clock']} | {moment(b['at'])} | {_duration(b['late_by_seconds'])} "
                         f"| {_md(b['acting_owner']) or '—'} |")
    lines += ["", "## Ownership", "", "| owner | kind | from | to | began | ended |",
              "|---|---|---|---|---|---|"]
    for s in timeline["ownership"]:
        lines.append(f"| {_md(s['owner'])} | {s['kind']} | {moment(s['from'])} "
                     f"| {moment(s['to']) if s['to'] else 'now'} "
                     f"| {_md(s['began'])} ({_md(s['began_by'])}) | {_md(s['ended']) or '—'} |")
    lines += ["", "## Events", "",
              "| seq | at | action | by (role) | to | state | owner | changed | note |",
              "|---|---|---|---|---|---|---|---|---|"]
    for e in timeline["events"]:
        state = f"{e['from_state'] or '—'} → {e['to_state']}"
        owner = f"{_md(e['from_owner']) or '—'} → {_md(e['to_owner']) or '—'}"
        text = _md(e["text"]) + (" *(erased: " + ", ".join(e["erased_fields"]) + ")*"
                                 if e["erased_fields"] else "")
        lines.append(f"| {e['seq']} | {moment(e['at'])} | {e['action']} | {_md(e['actor'])} "
                     f"({e['role']}) | {_md(e['subject']) or '—'} | {state} | {owner} "
                     f"| {_md(times_in('; '.join(e['changes'])))} | {text} |")
    return "\n".join(lines) + "\n"
