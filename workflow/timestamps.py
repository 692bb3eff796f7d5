"""The ledger's one timestamp format (RFC 3339, UTC, microseconds, "Z") and its inverse."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(moment: datetime) -> str:
    """UTC, microseconds, 'Z': the one timestamp format of the ledger."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")

    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def parse_rfc3339(text: str) -> datetime:
    """The inverse of rfc3339: an aware datetime from '...Z' (or any ISO offset)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
