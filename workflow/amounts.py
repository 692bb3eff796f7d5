"""Money as Decimal plus currency; never floats."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# ASCII digits only (\d would take "١٠٠" as 100), matched whole (fullmatch: "$" would
# let a trailing newline through).
_AMOUNT = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,4})?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_LIMIT = 10 ** 15


@dataclass(frozen=True)
class Amount:
    """A decimal value in a three-letter ISO 4217 currency."""

    value: Decimal
    currency: str

    def to_json(self) -> dict[str, str]:
        """The amount as JSON-safe strings."""
        return {"value": format(self.value, "f"), "currency": self.currency}

    def __str__(self) -> str:
        return f"{format_decimal(self.value)} {self.currency}"


def parse_decimal(text: object) -> Decimal:
    """A decimal from a string or int; floats are refused (they are not exact)."""
    if isinstance(text, bool) or isinstance(text, float):
        raise ValueError("amounts are decimal strings such as \"1200.00\", never floats")
    if isinstance(text, int):
        if not -_LIMIT < text < _LIMIT:
            raise ValueError("an amount has at most 15 digits before the point")
        return Decimal(text)
    if not isinstance(text, str) or not _AMOUNT.fullmatch(text):
        raise ValueError(f"{text!r} is not a decimal amount such as \"1200.00\"")
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the regex already holds
        raise ValueError(f"{text!r} is not a decimal amount") from exc


def parse_amount(data: object) -> Amount:
    """An Amount from {"value": "12.50", "currency": "USD"}."""
    if not isinstance(data, dict):
        raise ValueError("an amount is an object {value, currency}")
    value = parse_decimal(data.get("value"))
    if value < 0:
        raise ValueError("an amount cannot be negative")
    currency = data.get("currency")
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise ValueError("currency must be a three-letter code such as USD")
    return Amount(value, currency)


def format_decimal(value: Decimal) -> str:
    """1200 -> '1,200'; 1200.5 -> '1,200.50'."""
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value:,.2f}"
