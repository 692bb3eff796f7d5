"""Warnings before a clock runs out (issue 26, point 2): once per threshold of a running
clock, never for a clock met or stopped before it, afresh when the clock restarts; the
policy's [warnings] table is validated like the rest."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.fakes import FakeUnitOfWork
from tests.unit.scenario import Driver
from workflow import policy_loader, sla, sla_sweep, warn_policy
from workflow.errors import PolicyError
from workflow.model import replay
from workflow.policy import Policy
from workflow.timestamps import parse_rfc3339


def _policy(table: str) -> Policy:
    text = policy_loader.default_text().replace('[warnings]\ndefault = ["75%"]\n', table)
    return policy_loader.loads(text)


def _driver(policy: Policy) -> Driver:
    return Driver(policy, FakeUnitOfWork(policy=policy))


def _warnings(d: Driver) -> list[tuple[str, str]]:
    return [(e.payload["clock"], e.payload["threshold"]) for e in d.uow.events
            if e.action == "sla-warning"]


def _sweep(d: Driver, at: timedelta) -> int:
    return sla_sweep.sweep(uow_factory=lambda: d.uow, now=d.now + at).events


def test_each_threshold_warns_once_at_its_moment_and_tells_who_must_act(
        policy: Policy) -> None:
    d = _driver(policy)
    d.uow.outbox.addresses |= {"alice", "andy", "bob"}
    d.uow.outbox.subscriptions["hook"] = ["escalation.sla_warning"]
    opened = d.open(severity="high")  # acknowledge 30m, resolve 8h; 75 % of each
    moment = parse_rfc3339(opened.event.payload["warnings"]["acknowledge"]["75%"])
    assert moment - opened.event.at == timedelta(minutes=22, seconds=30)
    assert sla.next_due(d.get()) == opened.event.payload["warnings"]["acknowledge"]["75%"]
    assert _sweep(d, timedelta(minutes=21)) == 0, "not before its moment"
    assert _sweep(d, timedelta(minutes=23)) == 1
    assert _sweep(d, timedelta(minutes=24)) == 0, "once per threshold"
    [event] = [e for e in d.uow.events if e.action == "sla-warning"]
    assert event.payload["clock"] == "acknowledge" and event.payload["threshold"] == "75%"
    assert event.payload["deadline"] == d.get().deadlines["acknowledge"]
    # Nobody owns it yet: the team that may acknowledge it is told.
    assert event.payload["told"] == {"handles": [], "team": "frontline"}
    sent = [(m.channel, m.target, m.data["threshold"]) for m in d.uow.outbox.messages
            if m.event_type == "escalation.sla_warning"]
    # The webhook, and mail to the team's members with an address (bob is a specialist).
    assert sorted(sent) == [("email", "alice", "75%"), ("email", "andy", "75%"),
                            ("webhook", "hook", "75%")]
    assert d.get().warnings["acknowledge"]["given"] == ["75%"]
    assert "acknowledge" in sla.status(d.get(), d.now + timedelta(minutes=23))["at_risk"]
    assert replay(e for e in d.uow.events if e.escalation_id == "esc-1") == d.get()


def test_a_clock_met_before_its_threshold_never_warns(policy: Policy) -> None:
    d = _driver(policy)
    d.open(severity="high")
    d.act("alice", "acknowledge")  # the acknowledge clock is met at minute 1
    assert "acknowledge" not in d.get().warnings
    _sweep(d, timedelta(minutes=29))
    assert _warnings(d) == [], "met before its threshold: no warning, ever"
    # The update clock (2h) it started warns at 75 % with the owner told.
    _sweep(d, timedelta(minutes=91))
    [event] = [e for e in d.uow.events if e.action == "sla-warning"]
    assert event.payload["clock"] == "update"
    assert event.payload["told"] == {"handles": ["alice"]}


def test_a_restarted_clock_warns_afresh(policy: Policy) -> None:
    d = _driver(policy)
    d.open(severity="high")
    d.act("alice", "acknowledge")
    _sweep(d, timedelta(minutes=91))  # the update clock's 75 %
    d.now += timedelta(minutes=91)
    d.act("alice", "update")  # restarts the update clock: new moments
    pending = d.get().warnings["update"]
    assert pending["given"] == [] and "75%" in pending["at"]
    _sweep(d, timedelta(minutes=91))
    assert _warnings(d) == [("update", "75%"), ("update", "75%")]
    assert replay(list(d.uow.events)) == d.get()


def test_a_breach_due_at_once_takes_the_place_of_its_warning(policy: Policy) -> None:
    d = _driver(policy)
    d.open(severity="high")
    _sweep(d, timedelta(hours=1))  # the sweeper was away past the deadline
    actions = [e.action for e in d.uow.events]
    assert "sla-breached" in actions and "sla-warning" not in actions
    assert "acknowledge" not in d.get().warnings


def test_promises_warn_like_clocks_and_durations_count_back_from_the_deadline() -> None:
    d = _driver(_policy('[warnings]\ndefault = []\npromise = ["50%", "10m"]\n'))
    d.open(severity="high")
    assert d.get().warnings == {}, "default = [] warns never"
    d.act("alice", "acknowledge")
    made = d.act("alice", "promise", {"kind": "callback", "within": "1h"})
    clock = next(iter(made.event.payload["deadlines"]))
    moments = made.event.payload["warnings"][clock]
    at = made.event.at
    assert parse_rfc3339(moments["50%"]) - at == timedelta(minutes=30)
    assert parse_rfc3339(moments["10m"]) - at == timedelta(minutes=50)
    _sweep(d, timedelta(minutes=55))
    assert sorted(t for c, t in _warnings(d) if c == clock) == ["10m", "50%"]


def test_a_kept_promise_never_warns() -> None:
    d = _driver(_policy('[warnings]\npromise = ["50%"]\n'))
    d.open(severity="high")
    d.act("alice", "acknowledge")
    d.act("alice", "promise", {"kind": "callback", "within": "1h"})
    d.act("alice", "contact-customer", {"channel": "phone", "summary": "Called back"})
    _sweep(d, timedelta(minutes=40))
    assert _warnings(d) == []


def test_the_most_specific_entry_wins() -> None:
    policy = _policy('[warnings]\ndefault = ["75%"]\nresolve = ["90%"]\n'
                     '[warnings.urgent]\ndefault = ["50%"]\nresolve = ["1h"]\n')
    assert warn_policy.thresholds(policy, "urgent", "resolve") == ("1h",)
    assert warn_policy.thresholds(policy, "urgent", "acknowledge") == ("50%",)
    assert warn_policy.thresholds(policy, "high", "resolve") == ("90%",)
    assert warn_policy.thresholds(policy, "high", "promise-p3") == ("75%",)
    assert warn_policy.thresholds(policy_loader.default(), "low", "item-a5.1") == ("75%",)


@pytest.mark.parametrize(("table", "key"), [
    ('[warnings]\ndefault = ["150%"]\n', "warnings.default"),
    ('[warnings]\ndefault = "75%"\n', "warnings.default"),
    ('[warnings]\ndefault = ["75%", "75%"]\n', "warnings.default"),
    ('[warnings]\nsoon = ["75%"]\n', "warnings.soon"),
    ('[warnings]\nresolve = ["2 hours"]\n', "warnings.resolve"),
    ('[warnings.urgent]\nlater = ["75%"]\n', "warnings.urgent.later"),
])
def test_a_wrong_warnings_table_is_refused_naming_its_key(table: str, key: str) -> None:
    with pytest.raises(PolicyError) as refused:
        _policy(table)
    assert key in str(refused.value)


def test_the_default_policy_warns_at_three_quarters_of_every_clock(policy: Policy) -> None:
    assert policy.warnings == {"default": ("75%",)}
    d = _driver(policy)
    opened = d.open(severity="urgent")
    assert set(opened.event.payload["warnings"]) == {"acknowledge", "resolve"}
