"""The ledger's bodies as SQLite keeps them (audit/store/deflated.py): deflated against
a dictionary that never changes, read back as the very bytes that were hashed."""

from __future__ import annotations

import hashlib
import json
import zlib

from hypothesis import given, settings
from hypothesis import strategies as st

from audit.store import deflated
from audit.store.deflated import DICTIONARY_1, TAG_1, pack, packed_for, unpack

# Rows on disk were written with these bytes: a changed dictionary would misread them all.
DICTIONARY_1_SHA256 = "bad6d57978c55480584490d54e676beee9401e6ca01063153bf637770bbd3c1b"

EVENT = (b'{"a":"acknowledge","by":"fiona","c":{"note":"ptjU1gyi3p82MU_Y3fleYmQj4BhNgQCjH0zN'
         b'FxDyEPw"},"e":"esc-0","fo":"alice","fs":"escalated-tier-1","n":3,"payload":{"dead'
         b'lines":{"update":"2026-12-07T19:47:12.270596Z"},"warnings":{"update":{"75%":"2026-1'
         b'2-07T19:17:12.270596Z"}}},"pr":0,"r":"finance","ru":"acknowledge.eligible","s":4,"'
         b't":"2026-12-07T17:47:12.270596Z","ti":1,"to":"fiona","ts":"escalated-tier-1","v":2}')


def test_the_dictionary_never_changes() -> None:
    assert hashlib.sha256(DICTIONARY_1).hexdigest() == DICTIONARY_1_SHA256


def test_an_event_is_kept_in_well_under_half_its_bytes_and_read_back_exactly() -> None:
    stored = pack(EVENT)
    assert stored[:1] == TAG_1 and len(stored) < len(EVENT) * 0.45, len(stored)
    assert unpack(stored) == EVENT
    assert unpack(memoryview(stored)) == EVENT


def test_bodies_written_before_and_postgresql_bodies_are_read_as_they_are() -> None:
    assert unpack(EVENT) == EVENT  # canonical bytes start with '{', never with the tag
    assert packed_for("postgresql", EVENT) is EVENT  # its triggers read and hash the bytes
    assert unpack(packed_for("sqlite", EVENT)) == EVENT


def test_an_edited_stored_body_is_read_as_stored_not_as_an_error() -> None:
    """An edit of the file reads as bytes whose hash no longer matches (the verifier
    names the seq), never as a failed read."""
    stored = bytearray(pack(EVENT))
    stored[20] ^= 0xFF
    assert unpack(bytes(stored)) != EVENT
    truncated = pack(EVENT)[:-3]
    assert unpack(truncated) == truncated  # not a whole stream: as stored
    assert unpack(TAG_1 + b"\xff\xfe") == TAG_1 + b"\xff\xfe"
    trailing = pack(EVENT) + b"x"
    assert unpack(trailing) == trailing


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=12), st.one_of(
    st.text(max_size=60), st.integers(), st.none(), st.booleans()), max_size=12))
def test_any_canonical_json_round_trips(doc: dict[str, object]) -> None:
    body = json.dumps(doc, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()
    assert unpack(pack(body)) == body


def test_the_stream_is_raw_deflate_with_the_dictionary() -> None:
    """What a reader without Baton needs: tag 0x01, then RFC 1951 raw deflate whose
    preset dictionary is DICTIONARY_1 (docs/operations.md)."""
    inflate = zlib.decompressobj(-15, zdict=DICTIONARY_1)
    assert inflate.decompress(pack(EVENT)[1:]) == EVENT
    assert deflated.__doc__ and "never change" in deflated.__doc__
