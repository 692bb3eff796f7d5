"""Policy versions by reference (event format 2, audit/log/event_record.py): the seq of
the policy-applied event that introduced a version, and back, from the `policies` table.

Cached per engine, but only what is known to be committed: rows below the size of the
log as some append found it at the start of its transaction (what a transaction that
rolls back wrote never enters the cache, so a seq it used is never misread later).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select

from audit.log.event_record import POLICY_APPLIED, policy_introduced, record_of
from audit.store.deflated import unpack
from audit.store.schema import ledger, policies


@dataclass
class _Refs:
    by_version: dict[str, int] = field(default_factory=dict)
    by_seq: dict[int, str] = field(default_factory=dict)
    floor: int = 0  # seqs below it are committed
    records: dict[int, dict[str, Any]] = field(default_factory=dict)  # record_at's


# Records record_at keeps (an escalation's opening event, its latest hand-off: what every
# write's response shows again); emptied when full.
RECORDS_KEPT = 4096


_CACHE: weakref.WeakKeyDictionary[Engine, _Refs] = weakref.WeakKeyDictionary()
# The policy's rows with the ledger's bytes at their seq: a reference is written only to
# an event that the bytes say is the policy-applied event of that version.
_SEQ_OF = (select(policies.c.seq, ledger.c.body)
           .join(ledger, ledger.c.seq == policies.c.seq)
           .where(policies.c.version == bindparam("v"), ledger.c.action == POLICY_APPLIED)
           .order_by(policies.c.ordinal))
_ALL = select(policies.c.seq, policies.c.version).order_by(policies.c.ordinal)


def _refs(conn: Connection) -> _Refs:
    found = _CACHE.get(conn.engine)
    if found is None:
        found = _CACHE.setdefault(conn.engine, _Refs())
    return found


def committed_below(conn: Connection, size: int) -> None:
    """The log's first `size` events are committed (an append's transaction began at
    that size, under the append lock)."""
    refs = _refs(conn)
    if size > refs.floor:
        refs.floor = size


def seq_of_policy(conn: Connection, version: Any) -> int | None:
    """The seq of the (first) policy-applied event of `version`, or None."""
    if not isinstance(version, str):
        return None
    refs = _refs(conn)
    seq = refs.by_version.get(version)
    if seq is not None:
        return seq
    for seq, body in conn.execute(_SEQ_OF, {"v": version}):
        if policy_introduced(record_of(bytes(body), _unresolved)) != version:
            continue
        if seq < refs.floor:
            refs.by_version[version] = int(seq)
        return int(seq)
    return None


def _unresolved(ref: int) -> str:  # only the payload's version is read here
    return ""


def policy_of_seq(conn: Connection) -> Callable[[int], str | None]:
    """seq -> the version its policy-applied event introduced (None when it is none),
    reading the table at most once per call of this function."""
    refs = _refs(conn)
    read: dict[int, str] | None = None

    def lookup(seq: int) -> str | None:
        nonlocal read
        found = refs.by_seq.get(seq)
        if found is not None:
            return found
        if read is None:
            read = {int(s): str(v) for s, v in conn.execute(_ALL)}
            for s, v in read.items():
                if s < refs.floor:
                    refs.by_seq.setdefault(s, v)
        return read.get(seq)

    return lookup


def record(conn: Connection, body: bytes | memoryview | str) -> dict[str, Any]:
    """The record of one ledger body of either format (audit.log.event_record.record_of)."""
    return records(conn, [body])[0]


def record_at(conn: Connection, seq: int, body: bytes | memoryview | str) -> dict[str, Any]:
    """record(conn, body) of ledger row `seq`, decoded once while kept when the row is
    committed: a committed row never changes (its triggers refuse UPDATE and DELETE), so
    neither does its record. A row of a transaction still open is decoded every time.
    Each caller gets a copy of its own top level (records._restore replaces keys)."""
    refs = _refs(conn)
    found = refs.records.get(seq)
    if found is None:
        found = record(conn, body)
        if seq < refs.floor:
            if len(refs.records) >= RECORDS_KEPT:
                refs.records.clear()
            refs.records[seq] = found
    return dict(found)


def records(conn: Connection, bodies: list[Any]) -> list[dict[str, Any]]:
    """The records of ledger bodies of either format, as read or as stored (a body SQLite
    keeps deflated, audit/store/deflated.py), policy references read once."""
    resolve = policy_of_seq(conn)
    return [record_of(unpack(b) if not isinstance(b, str) else b.encode(), resolve)
            for b in bodies]
