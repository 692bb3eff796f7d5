"""The API's JSON provider (orjson) writes what Flask's own provider writes, but UTF-8 for
what Flask \\u-escapes; what orjson will not do goes Flask's way, unchanged."""

from __future__ import annotations

import dataclasses
import json
import math
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask import Flask
from flask.json.provider import DefaultJSONProvider
from hypothesis import given
from hypothesis import strategies as st

from api.json_provider import OrjsonProvider


@dataclasses.dataclass
class Point:
    x: int
    label: str


app = Flask(__name__)
ours, flasks = OrjsonProvider(app), DefaultJSONProvider(app)
texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
documents = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), texts,
              st.floats(allow_nan=False, allow_infinity=False)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(texts, inner, max_size=3)), max_leaves=10)


@given(documents)
def test_any_document_reads_back_as_flasks_own(doc: object) -> None:
    assert ours.dumps(doc) == flasks.dumps(doc)  # no options: Flask's own, spaces and all
    assert (json.loads(ours.dumps(doc, separators=(",", ":")))
            == json.loads(flasks.dumps(doc, separators=(",", ":"))))
    assert ours.loads(flasks.dumps(doc)) == doc


def test_an_ascii_response_is_flasks_byte_for_byte_and_other_text_is_utf8() -> None:
    doc = {"b": [1, None, True], "a": {"z": "x\n\"\\\x01", "y": 2}}
    with app.app_context():
        assert ours.response(doc).get_data() == flasks.response(doc).get_data()
        named = ours.response({"name": "Zoë 😀"})
    assert named.get_data() == '{"name":"Zoë 😀"}\n'.encode()
    assert named.mimetype == "application/json"


@pytest.mark.parametrize("value", [
    {"at": datetime(2026, 12, 7, 22, 0, tzinfo=UTC)}, {"on": date(2026, 12, 7)},
    {"amount": Decimal("12.50")}, {"id": uuid.UUID(int=7)}, {"p": Point(1, "a")},
    {1: "an integer key"}, {"n": 2**70}, {"s": "\ud800"}])
def test_what_flask_converts_or_refuses_is_converted_as_flask_does(value: dict) -> None:
    compact = {"separators": (",", ":")}
    assert ours.dumps(value, **compact) == flasks.dumps(value, **compact)


def test_reading_takes_flasks_way_for_what_orjson_refuses() -> None:
    assert ours.loads('{"a": 1}'.encode("utf-16")) == {"a": 1}
    assert math.isnan(ours.loads("[NaN]")[0])
    assert ours.loads("[123456789012345678901234567890]") == [123456789012345678901234567890]


def test_in_debug_the_response_is_indented_as_flasks() -> None:
    debug = Flask("debug")
    debug.debug = True
    with debug.app_context():
        assert (OrjsonProvider(debug).response({"b": 1, "a": [2]}).get_data()
                == DefaultJSONProvider(debug).response({"b": 1, "a": [2]}).get_data())
