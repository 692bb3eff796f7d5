"""A repeat's original, found on both databases by the customer's own cases (the lookup
once walked every resolve in the repeat window, whoever the customer)."""

from __future__ import annotations

from datetime import timedelta

from tests.integration.conftest import Ledger

ADA = {"id": "cust-ada", "name": "Ada Lovelace", "value": "strategic"}
BOB = {"id": "cust-bob", "name": "Bob", "value": "standard"}


def test_a_repeat_names_the_customers_latest_resolution_within_the_window(
        led: Ledger) -> None:
    led.lifecycle("ada-1", customer=ADA)
    led.lifecycle("bob-1", customer=BOB)
    led.lifecycle("ada-2", customer=ADA)
    led.lifecycle("bob-2", customer=BOB)
    assert led.open("ada-3", customer=ADA).escalation.repeat_of == "ada-2"
    assert led.open("bob-3", customer=BOB).escalation.repeat_of == "bob-2"
    newcomer = {"id": "cust-new", "name": "New", "value": "standard"}
    assert led.open("new-1", customer=newcomer).escalation.repeat_of is None
    led.now += timedelta(days=31)  # past the default policy's 30-day window
    assert led.open("ada-4", customer=ADA).escalation.repeat_of is None
