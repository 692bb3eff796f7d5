"""What the schemas share: amounts, texts, the personal-data note, limits."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

from workflow.field_kinds import MAX_HANDLE, MAX_TEXT, NON_BLANK_PATTERN

DECIMAL = v.Regexp(r"^[0-9]{1,15}(\.[0-9]{1,4})?$", error="a decimal string such as \"1200.00\"")
CURRENCY = v.Regexp(r"^[A-Z]{3}$", error="a three-letter currency code such as USD")
TEXT_LENGTH = v.Length(min=1, max=MAX_TEXT)
# Text holds at least one character other than white space, and no NUL.
NON_BLANK = v.Regexp(NON_BLANK_PATTERN, error="must be a non-empty string")
HANDLE_LENGTH = v.Length(min=1, max=MAX_HANDLE)
INT64_MAX = 2**63 - 1
ERASABLE = ("Personal or free text: kept out of the hashed ledger bytes (which hold a salted "
            "commitment) and erasable; null once erased.")


def text(required: bool = False, erasable: bool = True, **kw: object) -> f.String:
    meta = {"description": ERASABLE} if erasable else {}
    return f.String(required=required, validate=[TEXT_LENGTH, NON_BLANK], metadata=meta,
                    **kw)  # type: ignore[arg-type]


class AmountSchema(ma.Schema):
    value = f.String(required=True, validate=DECIMAL)
    currency = f.String(required=True, validate=CURRENCY, metadata={"x-policy": "currency"})
