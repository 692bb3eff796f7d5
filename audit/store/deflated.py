"""The ledger's bodies as SQLite keeps them: deflated against a fixed dictionary (issue #29).

An event's canonical bytes (audit/log/event_record.py) are what is hashed, signed, exported
and verified; this is only how a SQLite file keeps them. A stored body that starts with a
tag byte (TAG_1) is raw deflate (RFC 1951) primed with that tag's dictionary; anything
else (rows written before, every row on PostgreSQL, whose triggers read and hash the
bytes) is the canonical bytes themselves, which always start with '{'. A dictionary's
bytes never change: rows written with it are read with it. A new dictionary takes a new
tag.

A stored value that does not inflate to a whole stream is returned as stored, so an edit
of the file is read as bytes whose hash no longer matches (the verifier names the seq),
never as an error of the read.
"""

from __future__ import annotations

import zlib
from typing import Any

from sqlalchemy import Dialect, LargeBinary
from sqlalchemy.types import TypeDecorator

TAG_1 = b"\x01"  # a ledger body, DICTIONARY_1
_WBITS = -13  # raw deflate, an 8 KiB window: the dictionary and a body both fit
# Format 2 events of each action from the demo's story (values of people, ids, hashes
# and commitments blanked, times set to 2000-01-01), the most common actions last, where
# deflate finds them nearest. Never edit: tests/unit/test_deflated.py pins its hash.
DICTIONARY_1 = (
    b'{"a":"access-granted","by":"","payload":{"path":"cli","roles":["agent"],"subject":"","te'
    b'am":"frontline"},"pr":0,"r":"admin","ru":"permission.manage-actors","s":1,"t":"2000-01-0'
    b'1T00:00:00.000000Z","v":2}'
    b'{"a":"token-issued","by":"","payload":{"path":"cli","subject":"","token":""},"pr":0,"r":'
    b'"admin","ru":"permission.manage-actors","s":2,"t":"2000-01-01T00:00:00.000000Z","v":2}'
    b'{"a":"policy-applied","by":"","payload":{"name":"baton-default","previous_version":null,'
    b'"simulation":true,"version":""},"pv":"","r":"system","ru":"policy.apply","s":0,"t":"2000'
    b'-01-01T00:00:00.000000Z","v":2}'
    b'{"a":"notified","by":"","e":"","fs":"opened","n":3,"payload":{"about":"sla-breached","ch'
    b'annels":{"email":[],"webhook":[]},"clock":"acknowledge","recipients":["",""]},"pr":0,"r"'
    b':"system","ru":"sla.notify","s":44,"t":"2000-01-01T00:00:00.000000Z","ti":0,"ts":"opened'
    b'","v":2}'
    b'{"a":"sla-warning","by":"","e":"","fs":"opened","n":1,"payload":{"clock":"acknowledge","'
    b'deadline":"2000-01-01T00:00:00.000000Z","severity":"urgent","threshold":"75%","told":{"h'
    b'andles":[],"team":"frontline"},"warn_at":"2000-01-01T00:00:00.000000Z"},"pr":0,"r":"syst'
    b'em","ru":"sla.urgent.acknowledge.warn","s":41,"t":"2000-01-01T00:00:00.000000Z","ti":0,"'
    b'ts":"opened","v":2}'
    b'{"a":"sla-breached","by":"","e":"","fs":"opened","n":2,"payload":{"acting_owner":"","clo'
    b'ck":"acknowledge","deadline":"2000-01-01T00:00:00.000000Z","late_by_seconds":2,"severity'
    b'":"urgent","target_seconds":600},"pr":0,"r":"system","ru":"sla.urgent.acknowledge","s":4'
    b'3,"t":"2000-01-01T00:00:00.000000Z","ti":0,"ts":"opened","v":2}'
    b'{"a":"promise","by":"","c":{"note":""},"e":"","fo":"","fs":"acknowledged","n":2,"payload'
    b'":{"deadlines":{"promise-p2":"2000-01-01T00:00:00.000000Z"},"due":"2000-01-01T00:00:00.0'
    b'00000Z","kind":"callback","promise_id":"p2","warnings":{"promise-p2":{"75%":"2000-01-01T'
    b'00:00:00.000000Z"}},"within":7200},"pr":0,"r":"agent","ru":"owner.acts","s":35,"t":"2000'
    b'-01-01T00:00:00.000000Z","ti":0,"to":"","ts":"acknowledged","v":2}'
    b'{"a":"contact-customer","by":"","c":{"summary":""},"e":"","fo":"","fs":"acknowledged","n'
    b'":3,"payload":{"channel":"phone","kept":["p2"]},"pr":0,"r":"agent","ru":"owner.acts","s"'
    b':37,"t":"2000-01-01T00:00:00.000000Z","ti":0,"to":"","ts":"acknowledged","v":2}'
    b'{"a":"confirm-resolution","by":"","c":{"comment":""},"e":"","fo":"","fs":"resolved","n":'
    b'6,"payload":{"confirmed":true,"csat":4},"pr":0,"r":"specialist","ru":"owner.acts","s":36'
    b',"t":"2000-01-01T00:00:00.000000Z","ti":1,"to":"","ts":"resolved","v":2}'
    b'{"a":"complete-action","by":"","c":{"note":""},"e":"","fo":"","fs":"debriefed","n":8,"pa'
    b'yload":{"item":"a7.2"},"pr":0,"r":"agent","ru":"item.owner","s":47,"t":"2000-01-01T00:00'
    b':00.000000Z","ti":1,"to":"","ts":"debriefed","v":2}'
    b'{"a":"update","by":"","c":{"next_steps":"","note":""},"e":"","fo":"","fs":"escalated-tie'
    b'r-1","n":4,"payload":{"deadlines":{"update":"2000-01-01T00:00:00.000000Z"},"warnings":{"'
    b'update":{"75%":"2000-01-01T00:00:00.000000Z"}},"workaround":true},"pr":0,"r":"specialist'
    b'","ru":"owner.acts","s":31,"t":"2000-01-01T00:00:00.000000Z","ti":1,"to":"","ts":"escala'
    b'ted-tier-1","v":2}'
    b'{"a":"debrief","by":"","c":{"actions":[""],"lessons":[""],"root_cause":"","what_did_not"'
    b':"","what_worked":""},"e":"","fo":"","fs":"resolved","n":7,"payload":{"action_items":[{"'
    b'due":"2000-01-01T00:00:00.000000Z","id":"a7.1","owner":""},{"due":"2000-01-01T00:00:00.0'
    b'00000Z","id":"a7.2","owner":""}],"deadlines":{"item-a7.1":"2000-01-01T00:00:00.000000Z",'
    b'"item-a7.2":"2000-01-01T00:00:00.000000Z"},"warnings":{"item-a7.1":{"75%":"2000-01-01T00'
    b':00:00.000000Z"},"item-a7.2":{"75%":"2000-01-01T00:00:00.000000Z"}}},"pr":0,"r":"facilit'
    b'ator","ru":"role.actions","s":39,"t":"2000-01-01T00:00:00.000000Z","ti":1,"to":"","ts":"'
    b'debriefed","v":2}'
    b'{"a":"resolve","by":"","c":{"summary":""},"e":"","fo":"","fs":"escalated-tier-1","n":5,"'
    b'payload":{"deadlines":{"follow_up":"2000-01-01T00:00:00.000000Z"},"warnings":{"follow_up'
    b'":{"75%":"2000-01-01T00:00:00.000000Z"}}},"pr":0,"r":"specialist","ru":"owner.acts","s":'
    b'32,"t":"2000-01-01T00:00:00.000000Z","ti":1,"to":"","ts":"resolved","v":2}'
    b'{"a":"hand-off","by":"","c":{"context":""},"e":"","fo":"","fs":"escalated-tier-1","n":3,'
    b'"payload":{"deadlines":{"handoff":"2000-01-01T00:00:00.000000Z"},"to":"","warnings":{"ha'
    b'ndoff":{"75%":"2000-01-01T00:00:00.000000Z"}}},"pr":0,"r":"agent","ru":"owner.acts","s":'
    b'49,"t":"2000-01-01T00:00:00.000000Z","ti":1,"to":"","ts":"handed-off","v":2}'
    b'{"a":"escalate","by":"","c":{"reason":""},"e":"","fo":"","fs":"acknowledged","n":2,"payl'
    b'oad":{"deadlines":{"acknowledge":"2000-01-01T00:00:00.000000Z"},"from_tier":0,"governor"'
    b':"","team":"specialists","to_tier":1,"trigger":"complexity","warnings":{"acknowledge":{"'
    b'75%":"2000-01-01T00:00:00.000000Z"}}},"pr":0,"r":"agent","ru":"owner.acts","s":29,"t":"2'
    b'000-01-01T00:00:00.000000Z","ti":1,"to":"","ts":"escalated-tier-1","v":2}'
    b'{"a":"open","by":"","c":{"customer_name":"","description":"","title":""},"e":"","n":0,"p'
    b'ayload":{"category":"account","customer_id":"","customer_value":"high","deadlines":{"ack'
    b'nowledge":"2000-01-01T00:00:00.000000Z","resolve":"2000-01-01T00:00:00.000000Z"},"govern'
    b'or":"","severity":"high","team":"frontline","warnings":{"acknowledge":{"75%":"2000-01-01'
    b'T00:00:00.000000Z"},"resolve":{"75%":"2000-01-01T00:00:00.000000Z"}}},"pr":0,"r":"agent"'
    b',"ru":"role.actions","s":27,"t":"2000-01-01T00:00:00.000000Z","ti":0,"ts":"opened","v":2'
    b'}'
    b'{"a":"acknowledge","by":"","c":{"note":""},"e":"","fs":"opened","n":1,"payload":{"deadli'
    b'nes":{"update":"2000-01-01T00:00:00.000000Z"},"warnings":{"update":{"75%":"2000-01-01T00'
    b':00:00.000000Z"}}},"pr":0,"r":"agent","ru":"acknowledge.eligible","s":28,"t":"2000-01-01'
    b'T00:00:00.000000Z","ti":0,"to":"","ts":"acknowledged","v":2}')
# Primed once: setting a dictionary costs more than deflating a body. Level 6 with a
# small hash table (memLevel 4): about 15 us a body in a transition.
_PRIMED = zlib.compressobj(6, zlib.DEFLATED, _WBITS, 4, zlib.Z_DEFAULT_STRATEGY, DICTIONARY_1)
# Bodies lately inflated or deflated here, by their stored form (every write's response
# reads its escalation's opening event): keyed by the stored bytes themselves, so never
# stale; emptied when full (about 1 MB at most).
_RECENT: dict[bytes, bytes] = {}
_RECENT_MAX = 2048


def _remember(stored: bytes, body: bytes) -> None:
    if len(_RECENT) >= _RECENT_MAX:
        _RECENT.clear()
    _RECENT[stored] = body


def pack(body: bytes) -> bytes:
    """The stored form of canonical bytes on SQLite."""
    deflate = _PRIMED.copy()
    stored = TAG_1 + deflate.compress(body) + deflate.flush()
    _remember(stored, body)
    return stored


def unpack(stored: bytes | memoryview) -> bytes:
    """The canonical bytes of a stored body (either form)."""
    stored = bytes(stored)
    known = _RECENT.get(stored)
    if known is not None:
        return known
    if stored[:1] != TAG_1:
        return stored
    inflate = zlib.decompressobj(_WBITS, zdict=DICTIONARY_1)
    try:
        body = inflate.decompress(stored[1:])
    except zlib.error:
        return stored
    if not inflate.eof or inflate.unused_data:
        return stored
    _remember(stored, body)
    return body


def packed_for(dialect_name: str, body: bytes) -> bytes:
    """What to write for these canonical bytes on this database."""
    return pack(body) if dialect_name == "sqlite" else body


class StoredBody(TypeDecorator[bytes]):
    """The ledger's body column: canonical bytes in, canonical bytes out, on any database."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return value if value is None else packed_for(dialect.name, bytes(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return value if value is None else unpack(value)

