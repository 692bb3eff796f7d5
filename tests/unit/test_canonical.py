"""Canonical bytes are RFC 8785 output; commitments bind text without holding it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from audit.log import canonical, fast_json
from audit.log.canonical import canonical_bytes, commitment, content_text

names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**53) + 1, 2**53 - 1),
                    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",))))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(names, inner, max_size=4)), max_leaves=12)

events = st.fixed_dictionaries({
    "v": st.just(1), "seq": st.integers(0, 2**40), "action": st.sampled_from(
        ["open", "acknowledge", "escalate", "hand-off"]),
    "actor": st.from_regex(r"[a-z][a-z0-9-]{0,15}", fullmatch=True),
    "at": st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")),
    "tier": st.integers(0, 9), "to_owner": st.one_of(st.none(), names),
    "payload": st.dictionaries(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), values,
                               max_size=6),
})


@given(events)
def test_event_bytes_equal_rfc8785(event: dict) -> None:
    assert canonical_bytes(event) == rfc8785.dumps(event)


@given(st.dictionaries(names, values, max_size=6))
def test_arbitrary_documents_equal_rfc8785(doc: dict) -> None:
    assert canonical_bytes(doc) == rfc8785.dumps(doc)


def test_keys_are_ordered_by_utf16_code_units_like_rfc8785() -> None:
    doc = {"\U0001f600": 1, "\uff61": 2, "a": 3}  # code-point order would swap the first two
    assert canonical_bytes(doc) == rfc8785.dumps(doc)
    text = canonical_bytes(doc).decode()
    assert text.index("\U0001f600") < text.index("\uff61")  # surrogate D83D < FF61


@pytest.mark.parametrize("bad", [{"x": 1.5}, {"x": 2**53}, {"x": {1: "a"}}, {"x": b"b"}])
def test_floats_big_integers_and_other_types_are_refused(bad: dict) -> None:
    with pytest.raises(ValueError):
        canonical_bytes(bad)


def test_commitment_binds_salt_and_text() -> None:
    salt = bytes(range(32))
    c = commitment(salt, "Ada Lovelace")
    assert c == commitment(salt, "Ada Lovelace")
    assert c != commitment(salt, "Ada Lovelac3")
    assert c != commitment(bytes(32), "Ada Lovelace")
    assert content_text(["a", "é"]) == json.dumps(["a", "é"], ensure_ascii=False,
                                                  separators=(",", ":"))


# orjson encodes the usual event (ASCII keys, exact types); the standard library's encoder
# is the fallback and what the offline verifier runs without orjson. Both give the same bytes.
every_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
ascii_names = st.text(st.characters(max_codepoint=127), max_size=12)
ascii_documents = st.dictionaries(ascii_names, st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**53) + 1, 2**53 - 1), every_text),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(ascii_names, inner, max_size=4)),
    max_leaves=12), max_size=6)


@given(ascii_documents)
def test_orjson_and_the_standard_library_write_the_same_bytes(doc: dict) -> None:
    assert fast_json.orjson is not None  # installed with Baton: the fast way is taken
    assert canonical.canonical_bytes(doc) == canonical._SORTED.encode(doc).encode("utf-8")


def test_every_character_is_escaped_alike() -> None:
    for code in [*range(0, 0xD800), *range(0xE000, 0x11000), 0x10FFFF, 0x1F600]:
        doc = {"k": f"a{chr(code)}b"}
        assert canonical.canonical_bytes(doc) == canonical._SORTED.encode(doc).encode()


def test_what_orjson_refuses_takes_the_standard_librarys_way() -> None:
    with pytest.raises(UnicodeEncodeError):  # as before orjson: a lone surrogate
        canonical_bytes({"x": "\ud800"})
    deep: list = []
    doc = {"x": deep}
    for _ in range(300):  # deeper than orjson's limit
        deep.append([])
        deep = deep[0]
    assert canonical_bytes(doc) == b'{"x":' + b"[" * 301 + b"]" * 301 + b"}"


def test_without_orjson_the_same_bytes_and_the_verifier_imports() -> None:
    doc = {"a": "é\n\x01", "b": [1, None, True], "c": {"z": "\u2028"}}
    code = ("import sys; sys.modules['orjson'] = None\n"
            "from audit.log import canonical, fast_json; import audit.verifier.verify\n"
            "assert fast_json.orjson is None\n"
            f"sys.stdout.buffer.write(canonical.canonical_bytes({doc!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True,
                         cwd=Path(__file__).parents[2])
    assert out.stdout == canonical_bytes(doc) == rfc8785.dumps(doc)
