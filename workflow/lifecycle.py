"""The escalation lifecycle as data: states, actions, transitions, one shared Machine."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from transitions import Machine, MachineError

OPENED = "opened"
ACKNOWLEDGED = "acknowledged"
HANDED_OFF = "handed-off"
RESOLVED = "resolved"
DEBRIEFED = "debriefed"
TIER_PREFIX = "escalated-tier-"

# Actions that move the state machine.
STATE_ACTIONS = (
    "acknowledge",
    "escalate",
    "hand-off",
    "accept-handoff",
    "decline-handoff",
    "resolve",
    "reopen",
    "debrief",
)
# Actions that are audited but leave the state where it is.
NOTE_ACTIONS = (
    "update",
    "reassign",
    "add-watcher",
    "add-collaborator",
    "assign-liaison",
    "legal-hold",
    "release-hold",
)
# Every action a role may be granted in a policy ("open" creates the escalation).
ACTIONS = ("open", *STATE_ACTIONS, *NOTE_ACTIONS)

# Non-state actions that still apply to a closed (debriefed) case: retention is
# about the record, which outlives the lifecycle.
_RECORD_ACTIONS = ("legal-hold", "release-hold")


def tier_state(tier: int) -> str:
    """The state name of escalated tier N (N >= 1)."""
    return f"{TIER_PREFIX}{tier}"


def state_tier(state: str) -> int | None:
    """The tier a state stands for (0 for opened/acknowledged), None for the others."""
    if state in (OPENED, ACKNOWLEDGED):
        return 0
    if state.startswith(TIER_PREFIX):
        return int(state[len(TIER_PREFIX):])
    return None


def states(max_tier: int) -> list[str]:
    """All states for a policy whose highest tier is max_tier."""
    return [
        OPENED,
        ACKNOWLEDGED,
        *(tier_state(n) for n in range(1, max_tier + 1)),
        HANDED_OFF,
        RESOLVED,
        DEBRIEFED,
    ]


def _kw_equals(key: str, value: Any) -> Callable[[Any], bool]:
    def condition(event: Any) -> bool:
        return bool(event.kwargs.get(key) == value)

    condition.__name__ = f"{key}_is_{value}"
    return condition


def _awaiting_ack(event: Any) -> bool:
    return bool(event.kwargs.get("awaiting_ack"))


def transitions_table(max_tier: int) -> list[dict[str, Any]]:
    """The lifecycle's transitions, as the dicts transitions.Machine takes."""
    working = [ACKNOWLEDGED, *(tier_state(n) for n in range(1, max_tier + 1))]
    table: list[dict[str, Any]] = [
        {"trigger": "acknowledge", "source": OPENED, "dest": ACKNOWLEDGED},
    ]
    for n in range(1, max_tier + 1):
        table.append(
            {"trigger": "acknowledge", "source": tier_state(n), "dest": tier_state(n),
             "conditions": [_awaiting_ack]}
        )
    for source in working:
        low = state_tier(source) or 0
        for target in range(low + 1, max_tier + 1):
            table.append(
                {"trigger": "escalate", "source": source, "dest": tier_state(target),
                 "conditions": [_kw_equals("to_tier", target)]}
            )
    table.append({"trigger": "hand-off", "source": working, "dest": HANDED_OFF})
    for origin in working:
        for trigger in ("accept-handoff", "decline-handoff"):
            table.append(
                {"trigger": trigger, "source": HANDED_OFF, "dest": origin,
                 "conditions": [_kw_equals("return_to", origin)]}
            )
        table.append(
            {"trigger": "reopen", "source": RESOLVED, "dest": origin,
             "conditions": [_kw_equals("return_to", origin)]}
        )
    table.append({"trigger": "resolve", "source": working, "dest": RESOLVED})
    table.append({"trigger": "debrief", "source": RESOLVED, "dest": DEBRIEFED})
    live = [OPENED, *working, HANDED_OFF]
    # Status updates only while the case is open; people may still be looped in
    # on a resolved case (for the debrief).
    table.append({"trigger": "update", "source": live, "dest": None})
    for action in ("add-watcher", "add-collaborator", "assign-liaison"):
        table.append({"trigger": action, "source": [*live, RESOLVED], "dest": None})
    table.append({"trigger": "reassign", "source": [OPENED, *working], "dest": None})
    for action in _RECORD_ACTIONS:
        table.append({"trigger": action, "source": states(max_tier), "dest": None})
    return table


class _Token:
    """The only model ever attached: it has no attribute a trigger could clash with."""

    __slots__ = ("state", "__dict__")

    def __init__(self) -> None:
        self.state = ""


def _holds(condition: Any, probe: _Probe) -> bool:
    func = condition.func
    if not callable(func):  # our table only uses callables, never callback names
        raise TypeError(f"condition {func!r} is not callable")
    return bool(func(probe)) == condition.target


class _Probe:
    """What a condition sees of an event: its keyword arguments."""

    __slots__ = ("kwargs",)

    def __init__(self, kwargs: dict[str, Any]):
        self.kwargs = kwargs


class Lifecycle:
    """One shared transitions.Machine for every escalation of a given tier count."""

    def __init__(self, max_tier: int):
        self.max_tier = max_tier
        self.states = states(max_tier)
        self.table = transitions_table(max_tier)
        self._machine = Machine(
            model=None,
            states=self.states,
            transitions=self.table,
            initial=None,
            auto_transitions=False,
            send_event=True,
        )
        self._lock = threading.Lock()

    def fire(self, state: str, action: str, **context: Any) -> str | None:
        """The state after `action` from `state`, or None when it is not possible.

        Reads the shared Machine's own event table (the transitions it would try, with
        their conditions) instead of attaching a model per call: same answer, none of
        add_model/remove_model's cost, and nothing shared is mutated."""
        event = self._machine.events.get(action)
        if event is None:
            return None
        probe = _Probe(context)
        for transition in event.transitions.get(state, ()):
            if all(_holds(c, probe) for c in transition.conditions):
                return str(transition.dest) if transition.dest is not None else state
        return None

    def fire_attached(self, state: str, action: str, **context: Any) -> str | None:
        """The same answer through add_model/trigger/remove_model (kept to check fire)."""
        token = _Token()
        with self._lock:
            self._machine.add_model(token, initial=state)
            try:
                moved = token.trigger(action, **context)  # type: ignore[attr-defined]
            except MachineError:
                return None
            finally:
                self._machine.remove_model(token)
        return token.state if moved else None

    def triggers(self, state: str) -> list[str]:
        """The actions defined from `state`, before conditions, in ACTIONS order."""
        found = set(self._machine.get_triggers(state))
        return [a for a in ACTIONS if a in found]

    def mermaid(self) -> str:
        """A Mermaid stateDiagram of the lifecycle, built from the same table."""
        return mermaid(self.states, self.table)


@lru_cache(maxsize=8)
def lifecycle(max_tier: int) -> Lifecycle:
    """The shared Lifecycle for a tier count, built once."""
    return Lifecycle(max_tier)


def _as_list(value: str | Iterable[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def mermaid(all_states: list[str], table: list[dict[str, Any]]) -> str:
    """Render states and transitions as Mermaid text (one edge per trigger and pair)."""
    ids = {s: s.replace("-", "_") for s in all_states}
    lines = ["stateDiagram-v2", f"    [*] --> {ids[OPENED]}: open"]
    seen: set[tuple[str, str, str]] = set()
    for row in table:
        dest = row["dest"]
        if dest is None:
            continue
        for source in _as_list(row["source"]):
            edge = (source, dest, row["trigger"])
            if edge not in seen:
                seen.add(edge)
                lines.append(f"    {ids[source]} --> {ids[dest]}: {row['trigger']}")
    lines.append(f"    {ids[DEBRIEFED]} --> [*]")
    for s in all_states:
        if ids[s] != s:
            lines.append(f'    state "{s}" as {ids[s]}')
    return "\n".join(lines) + "\n"
