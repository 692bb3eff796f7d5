"""The escalation lifecycle as data: states, actions, transitions, one shared Machine."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from transitions import Machine, MachineError

from workflow.catalogue import CATALOGUE, GRANTABLE
from workflow.states import DEBRIEFED, OPENED, Shape, states

# Derived from the catalogue, in its order.
STATE_ACTIONS = tuple(a for a in GRANTABLE if CATALOGUE[a].moves_state)
NOTE_ACTIONS = tuple(a for a in GRANTABLE if a != "open" and not CATALOGUE[a].moves_state)
ACTIONS = GRANTABLE


def transitions_table(max_tier: int) -> list[dict[str, Any]]:
    """The lifecycle's transitions, as the dicts transitions.Machine takes, from each
    catalogue entry's transitions in catalogue order."""
    shape = Shape(max_tier)
    table: list[dict[str, Any]] = []
    for spec in CATALOGUE.values():
        if spec.transitions is not None:
            table += [{"trigger": spec.name, **row} for row in spec.transitions(shape)]
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
        # The table never changes once built: each state's triggers are asked once.
        self._triggers: dict[str, tuple[str, ...]] = {}

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
        known = self._triggers.get(state)
        if known is None:
            found = set(self._machine.get_triggers(state))
            known = self._triggers[state] = tuple(a for a in ACTIONS if a in found)
        return list(known)

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
