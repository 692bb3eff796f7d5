"""Business-hours calendars: clocks that run only in a team's working time (zoneinfo)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_DAYS = 3660  # a deadline further than ten years of calendar away is a policy error


@dataclass(frozen=True)
class Calendar:
    """Working days and hours in a time zone, minus holidays."""

    zone: str
    days: frozenset[int]
    start: time
    end: time
    holidays: frozenset[date]

    def add(self, moment: datetime, seconds: int) -> datetime:
        """The instant `seconds` of working time after `moment` (UTC in, UTC out)."""
        tz = ZoneInfo(self.zone)
        cursor = moment.astimezone(UTC)
        remaining = timedelta(seconds=seconds)
        day = cursor.astimezone(tz).date()
        for _ in range(MAX_DAYS):
            if day.weekday() in self.days and day not in self.holidays:
                # Aware local times converted to UTC, so DST days have their real length.
                opens = datetime.combine(day, self.start, tz).astimezone(UTC)
                closes = datetime.combine(day, self.end, tz).astimezone(UTC)
                begin = max(opens, cursor)
                if begin < closes:
                    available = closes - begin
                    if remaining <= available:
                        return begin + remaining
                    remaining -= available
            day += timedelta(days=1)
        raise ValueError("the calendar has no working time in the next ten years")

    def working_seconds(self, start: datetime, end: datetime) -> float:
        """Working time between two instants (0 if `end` is not after `start`)."""
        if end <= start:
            return 0.0
        tz = ZoneInfo(self.zone)
        total = 0.0
        day = start.astimezone(tz).date()
        last = end.astimezone(tz).date()
        while day <= last:
            if day.weekday() in self.days and day not in self.holidays:
                opens = datetime.combine(day, self.start, tz).astimezone(UTC)
                closes = datetime.combine(day, self.end, tz).astimezone(UTC)
                overlap = min(closes, end) - max(opens, start)
                total += max(overlap.total_seconds(), 0.0)
            day += timedelta(days=1)
        return total


def parse(data: object) -> Calendar:
    """A Calendar from its policy table; raises ValueError naming the bad key."""
    if not isinstance(data, dict):
        raise ValueError("calendar: must be a table")
    unknown = set(data) - {"timezone", "days", "hours", "holidays"}
    if unknown:
        raise ValueError(f"calendar: unknown key {sorted(unknown)[0]!r}")
    zone = data.get("timezone")
    try:
        ZoneInfo(str(zone))
    except (ValueError, KeyError, OSError):
        raise ValueError(f"calendar.timezone: unknown time zone {zone!r}") from None
    days = data.get("days", list(DAYS[:5]))
    if not isinstance(days, list) or not days or any(d not in DAYS for d in days):
        raise ValueError(f"calendar.days: a list of {', '.join(DAYS)}")
    hours = data.get("hours", ["09:00", "17:00"])
    try:
        start, end = (time.fromisoformat(h) for h in hours)
    except (TypeError, ValueError):
        raise ValueError("calendar.hours: [\"HH:MM\", \"HH:MM\"]") from None
    if not start < end:
        raise ValueError("calendar.hours: the day must end after it starts")
    try:
        holidays = frozenset(date.fromisoformat(str(h)) for h in data.get("holidays", []))
    except ValueError:
        raise ValueError("calendar.holidays: dates such as \"2026-12-25\"") from None
    return Calendar(str(zone), frozenset(DAYS.index(d) for d in days), start, end, holidays)
