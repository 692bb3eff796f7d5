"""The ledger's `at` as SQLite keeps it: integer microseconds since the Unix epoch
(migration 0017), 6 bytes where the RFC 3339 text took 27, in the row and in each of the
three indexes that carry it (issue #29).

Every reader still sees the ledger's one timestamp format (workflow/timestamps.py): the
column type converts both ways, including the values a query compares `at` with. The
few statements written as SQL text convert their parameters with `bound`. PostgreSQL
keeps the text as it was.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Dialect, Integer, String
from sqlalchemy.types import TypeDecorator, TypeEngine

from workflow.timestamps import parse_rfc3339, rfc3339

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(text: str) -> int:
    """Microseconds since the epoch of an RFC 3339 time (exact: no float on the way)."""
    return (parse_rfc3339(text) - _EPOCH) // _MICROSECOND


def text_of(value: int) -> str:
    """The RFC 3339 text of a stored integer time."""
    return rfc3339(_EPOCH + value * _MICROSECOND)


def stored(dialect_name: str, text: str) -> int | str:
    """What the ledger's `at` column holds for this time on this database."""
    return micros(text) if dialect_name == "sqlite" else text


def bound(conn: Connection, text: str) -> int | str:
    """A time to compare with ledger.at in a statement written as SQL text."""
    return stored(conn.dialect.name, text)


class LedgerTime(TypeDecorator[str]):
    """ledger.at: RFC 3339 text in and out; integer microseconds inside SQLite."""

    impl = String(32)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(Integer() if dialect.name == "sqlite" else String(32))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return micros(value) if isinstance(value, str) and dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return text_of(value) if isinstance(value, int) else value
