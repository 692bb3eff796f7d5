"""The projection's snapshot text: orjson writes and reads it; what orjson refuses (a lone
surrogate, an integer beyond 64 bits) takes the standard library's way, both ways; text
written before orjson (ASCII with \\u escapes) reads the same."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from audit.log.fast_json import loads as _decode
from audit.store.projection import _encode, _json_encode

texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
snapshots = st.dictionaries(texts, st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), texts),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(texts, inner, max_size=3)),
    max_leaves=10), max_size=6)


@given(snapshots)
def test_a_snapshot_reads_back_as_written_and_as_the_old_text_reads(data: dict) -> None:
    text = _encode(data)
    assert _decode(text) == data == json.loads(text)
    assert _decode(_json_encode(data)) == data  # a row written before orjson
    assert list(json.loads(text)) == sorted(data)  # keys sorted, as before


def test_what_orjson_refuses_is_written_and_read_the_standard_librarys_way() -> None:
    for data in ({"note": "a\ud800b"}, {"n": 2**70}):
        text = _encode(data)
        assert text == _json_encode(data)
        assert _decode(text) == data
