"""Business-hours clocks: working time only, in the team's time zone, DST included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.unit.scenario import Driver
from workflow import calendar, policy_loader
from workflow.errors import PolicyError

BERLIN = calendar.parse({"timezone": "Europe/Berlin", "days": ["mon", "tue", "wed", "thu",
                                                                "fri"],
                         "hours": ["09:00", "17:00"], "holidays": ["2026-12-25"]})


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_time_inside_one_working_day() -> None:
    # Monday 2026-03-02 10:00 Berlin = 09:00 UTC; +2 h of work
    assert BERLIN.add(utc(2026, 3, 2, 9), 7200) == utc(2026, 3, 2, 11)


def test_clock_stops_overnight_and_over_the_weekend() -> None:
    # Friday 2026-03-06 16:30 Berlin (15:30 UTC) + 1 h of work -> Monday 09:30 Berlin
    assert BERLIN.add(utc(2026, 3, 6, 15, 30), 3600) == utc(2026, 3, 9, 8, 30)


def test_clock_started_outside_hours_waits_for_the_morning() -> None:
    # Saturday -> Monday 09:00 Berlin + 10 min
    assert BERLIN.add(utc(2026, 3, 7, 12), 600) == utc(2026, 3, 9, 8, 10)


def test_holidays_do_not_count() -> None:
    # Thursday 2026-12-24 16:00 Berlin (15:00 UTC) + 2 h -> Friday is Christmas -> Monday 10:00
    assert BERLIN.add(utc(2026, 12, 24, 15), 7200) == utc(2026, 12, 28, 9)


def test_daylight_saving_change_uses_the_real_offset() -> None:
    # Friday 2026-03-27 16:00 CET (15:00 UTC) + 2 h -> Monday 2026-03-30 10:00 CEST (08:00 UTC)
    assert BERLIN.add(utc(2026, 3, 27, 15), 7200) == utc(2026, 3, 30, 8)


@pytest.mark.parametrize("bad,message", [
    ({"timezone": "Mars/Olympus"}, "unknown time zone"),
    ({"timezone": "UTC", "days": ["funday"]}, "calendar.days"),
    ({"timezone": "UTC", "hours": ["17:00", "09:00"]}, "end after it starts"),
    ({"timezone": "UTC", "holidays": ["someday"]}, "calendar.holidays"),
])
def test_bad_calendars_are_refused(bad: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        calendar.parse(bad)


def test_policy_calendar_drives_escalation_deadlines() -> None:
    text = policy_loader.default_text().replace(
        'fallback = ["andy", "alice"]',
        'fallback = ["andy", "alice"]\ncalendar = { timezone = "Europe/Berlin", hours = ["09:00", '
        '"17:00"] }')
    policy = policy_loader.loads(text)
    d = Driver(policy)
    d.now = utc(2026, 3, 6, 15, 30)  # Friday 16:30 Berlin
    esc = d.open(severity="high").escalation  # opened 16:31; acknowledge within 30 min
    assert esc.deadlines["acknowledge"] == "2026-03-09T08:01:00.000000Z"
    with pytest.raises(PolicyError, match="teams.frontline.calendar.timezone"):
        policy_loader.loads(text.replace("Europe/Berlin", "Nowhere/Land"))


@pytest.mark.parametrize("seconds", [60, 3 * 3600, 9 * 3600, 30 * 3600, 70 * 3600])
def test_working_seconds_is_the_inverse_of_add(seconds: int) -> None:
    start = utc(2026, 3, 27, 15, 30)  # a Friday afternoon, before the DST change
    end = BERLIN.add(start, seconds)
    assert BERLIN.working_seconds(start, end) == pytest.approx(seconds)
    assert BERLIN.working_seconds(end, start) == 0.0
