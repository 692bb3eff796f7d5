"""The ledger's one timestamp format (RFC 3339, UTC, microseconds, "Z") and its inverse."""

from __future__ import annotations

from datetime import UTC, datetime

# The last moment formatted and its text: a transition formats its one `now` several times
# (the event, its spans, the state's updated_at). Held by identity, so never stale.
_last: tuple[datetime | None, str] = (None, "")


def rfc3339(moment: datetime) -> str:
    """UTC, microseconds, 'Z': the one timestamp format of the ledger."""
    global _last
    last = _last
    if last[0] is moment:
        return last[1]
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    text = moment.isoformat(timespec="microseconds")[:-6] + "Z"
    _last = (moment, text)
    return text


def parse_rfc3339(text: str) -> datetime:
    """The inverse of rfc3339: an aware datetime from '...Z' (or any ISO offset)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
