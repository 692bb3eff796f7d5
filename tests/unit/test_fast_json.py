"""fast_json.loads reads what json.loads reads, the same value, and refuses what it
refuses: orjson where it agrees, json.loads where orjson would differ or refuse."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit.log import fast_json

texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), texts,
              st.floats(allow_nan=False, allow_infinity=False)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(texts, inner, max_size=3)), max_leaves=10)


@given(values)
def test_any_json_reads_as_json_loads_reads_it(value: object) -> None:
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False, indent=1)):
        assert fast_json.loads(text) == json.loads(text) == value
        assert fast_json.loads(text.encode()) == value
        assert type(fast_json.loads(text)) is type(value)


@given(st.integers(min_value=-10 ** 21, max_value=10 ** 21)
       | st.sampled_from([-2 ** 63 - 1, -2 ** 63, 2 ** 64 - 1, 2 ** 64, -(10 ** 19) + 1]))
def test_any_integer_reads_as_the_same_integer(value: int) -> None:
    for text in (str(value), f'{{"e": {value}}}', f"[{value}]"):
        mine = fast_json.loads(text)
        assert mine == json.loads(text)
        assert type(mine if isinstance(mine, int) else next(iter(
            mine.values() if isinstance(mine, dict) else mine))) is int


@pytest.mark.parametrize("text", [
    "123456789012345678901234567890", "[18446744073709551616]", '"\\ud800"', "[NaN]",
    '{"a": Infinity}', '{"a": 1, "a": 2}', '"\\u0000"', "-0", "1E400",
    # orjson reads these as floats: below -2**63 from 19 digits on, above 2**64-1
    "-9223372036854775809", "[-9999999999999999999]", '{"e": -10000000000000000000}',
    "18446744073709551616"])
def test_where_orjson_would_differ_the_value_is_json_loads(text: str) -> None:
    mine, theirs = fast_json.loads(text), json.loads(text)
    assert repr(mine) == repr(theirs) or (math.isnan(mine[0]) and math.isnan(theirs[0]))
    assert type(mine) is type(theirs)


def test_bytes_json_loads_reads_are_read_and_refusals_are_its_own() -> None:
    assert fast_json.loads('{"a": "é"}'.encode("utf-16")) == {"a": "é"}
    assert fast_json.loads(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}  # a UTF-8 byte order mark
    for bad in (b'{"a": 1', b"\xff\xfe\xfd", b"[1,]", b""):
        with pytest.raises(ValueError) as mine:
            fast_json.loads(bad)
        with pytest.raises(ValueError) as theirs:
            json.loads(bad)
        assert type(mine.value) is type(theirs.value)
