"""Which clocks held: every run of every clock of one escalation (acknowledge, update,
resolve, a hand-off's answer, the follow-up, each promise, each debrief action item),
from the replay of its ledger. A run starts when a clock gets a deadline and ends when
the clock stops or its deadline moves (an update meets the update clock and starts the
next). Its outcome: met (so long before its deadline), met late (so long after it), not
kept (a promise whose clock stopped unkept), breached and still running, or running."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from audit.reads.records import to_event
from workflow.action_effects import item_of
from workflow.model import Escalation, parse_rfc3339
from workflow.states import OPENED

MET, MET_LATE, NOT_KEPT, BREACHED, RUNNING = ("met", "met-late", "not-kept", "breached",
                                              "running")
PROMISE_PREFIX = "promise-"


def label(clock: str, promises: dict[str, dict[str, Any]]) -> str:
    """A clock as people name it: `callback promise p2`, `action item a9.1`, `handoff`."""
    item = item_of(clock)
    if item is not None:
        return f"action item {item}"
    if clock.startswith(PROMISE_PREFIX):
        promise_id = clock.removeprefix(PROMISE_PREFIX)
        kind = promises.get(promise_id, {}).get("kind", "")
        return f"{kind} promise {promise_id}".strip()
    return clock.replace("_", "-")


def _ended(run: dict[str, Any], at: str, action: str, esc: Escalation) -> None:
    """Close a run at `at`, by `action`: met, met late, or a promise left unkept."""
    margin = (parse_rfc3339(run["due"]) - parse_rfc3339(at)).total_seconds()
    promise_id = run["clock"].removeprefix(PROMISE_PREFIX)
    unkept = (run["clock"].startswith(PROMISE_PREFIX)
              and not esc.promises.get(promise_id, {}).get("kept_at"))
    run.update(ended_at=at, ended_by=action, margin_seconds=margin,
               outcome=NOT_KEPT if unkept else (MET if margin >= 0 else MET_LATE))


def runs(records: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Every run of every clock, in the order they started (ties: by clock name)."""
    out: list[dict[str, Any]] = []
    live: dict[str, dict[str, Any]] = {}
    folded: Escalation | None = None
    for rec in records:
        event = to_event(rec)
        if folded is None:
            folded = Escalation(id=event.escalation_id, state=OPENED)
        before = dict(folded.deadlines)
        folded.apply(event)
        after = folded.deadlines
        for clock in sorted(set(before) | set(after)):
            if before.get(clock) == after.get(clock):
                continue
            if clock in live:
                _ended(live.pop(clock), rec["at"], rec["action"], folded)
            if clock in after:
                live[clock] = {"clock": clock, "started_at": rec["at"], "due": after[clock],
                               "ended_at": None, "ended_by": None, "breach_recorded_at": None}
                out.append(live[clock])
        for clock, when in folded.breached.items():
            run = live.get(clock)
            if run is not None and run["due"] == when and run["breach_recorded_at"] is None:
                run["breach_recorded_at"] = rec["at"]
    promises = folded.promises if folded is not None else {}
    for run in out:
        run["label"] = label(run["clock"], promises)
        if run["ended_at"] is None:
            margin = (parse_rfc3339(run["due"]) - now).total_seconds()
            run.update(margin_seconds=margin, outcome=RUNNING if margin >= 0 else BREACHED)
    return out


def summary(clock_runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per clock, how it held over all its runs: the worst outcome (breached, not kept,
    met late, running, met) and the most it was late by (None when never late)."""
    rank = [MET, RUNNING, MET_LATE, NOT_KEPT, BREACHED]
    out: dict[str, dict[str, Any]] = {}
    for run in clock_runs:
        held = out.setdefault(run["clock"], {"outcome": MET, "late_by_seconds": None})
        if rank.index(run["outcome"]) > rank.index(held["outcome"]):
            held["outcome"] = run["outcome"]
        if run["margin_seconds"] < 0 and run["outcome"] != RUNNING:
            late = -run["margin_seconds"]
            held["late_by_seconds"] = max(held["late_by_seconds"] or 0, late)
    return dict(sorted(out.items()))
