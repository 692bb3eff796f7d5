"""ledger.at as SQLite keeps it (audit/store/ledger_time.py): integer microseconds that
read back as the very text the signed bytes hold, and order as the times do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from audit.store.ledger_time import micros, stored, text_of
from workflow.timestamps import rfc3339

MOMENTS = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31),
                       timezones=st.just(UTC))


@given(MOMENTS)
def test_a_time_reads_back_as_the_same_text(moment: datetime) -> None:
    text = rfc3339(moment)
    assert text_of(micros(text)) == text
    assert stored("postgresql", text) == text and stored("sqlite", text) == micros(text)


@given(MOMENTS, MOMENTS)
def test_integers_order_as_the_texts_do(a: datetime, b: datetime) -> None:
    """Range reads compare stored integers where they compared texts."""
    assert (micros(rfc3339(a)) < micros(rfc3339(b))) == (rfc3339(a) < rfc3339(b))


def test_known_values() -> None:
    assert micros("1970-01-01T00:00:00.000001Z") == 1
    assert micros("2026-12-07T17:47:12.265781Z") == 1796665632265781  # calendar.timegm, by hand
    one_day = micros(rfc3339(datetime(2026, 1, 2, tzinfo=UTC))) - micros(
        rfc3339(datetime(2026, 1, 1, tzinfo=UTC)))
    assert one_day == timedelta(days=1) // timedelta(microseconds=1)
