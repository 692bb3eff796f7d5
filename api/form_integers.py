"""Integers typed into a form field: ASCII digits only and at most 18 of them, so that
`²`, `٣` or 5,000 nines are refused as what they are (not an integer Baton takes) instead
of reaching int(), which reads some non-ASCII digits, refuses others (`²`) and refuses
more than 4,300 digits, each time with an exception a page would answer with a 500."""

from __future__ import annotations

MAX_DIGITS = 18  # every such integer fits in 64 bits


def form_int(text: str) -> int | None:
    """The non-negative integer a form field holds, or None when it holds anything else."""
    text = text.strip()
    if not text or len(text) > MAX_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    return int(text)
