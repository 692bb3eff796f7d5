"""Witness cosignatures kept beside the checkpoints they sign, and the checkpoint the log
serves as its head under a witness policy: the newest one that meets the quorum."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, insert, select

from audit.log import cosignature
from audit.log.witness_policy import TrustPolicy
from audit.store.schema import checkpoints, cosignatures
from workflow.model import rfc3339

SEARCH_NEWEST = 1000  # how many of the newest cosigned checkpoints the quorum is sought in


def cosigner_id(cosigner: cosignature.Cosigner) -> str:
    """How a cosigner is stored: NAME+HEXID."""
    return f"{cosigner.name}+{cosigner.key_id.hex()}"


def add(conn: Connection, size: int, cosigner: cosignature.Cosigner, line: str,
        now: datetime) -> None:
    """Keep one cosignature line of the checkpoint of `size` (once per cosigner)."""
    key = cosigner_id(cosigner)
    found = conn.execute(select(cosignatures.c.size).where(
        cosignatures.c.size == size, cosignatures.c.cosigner == key)).first()
    if found is None:
        conn.execute(insert(cosignatures).values(size=size, cosigner=key,
                                                 line=line.rstrip("\n"),
                                                 created_at=rfc3339(now)))


def cosigners_of(conn: Connection, size: int) -> set[str]:
    """The cosigners (NAME+HEXID) that cosigned the checkpoint of `size`."""
    return set(conn.execute(select(cosignatures.c.cosigner).where(
        cosignatures.c.size == size)).scalars())


def witnessed_size(conn: Connection, cosigner: cosignature.Cosigner) -> int:
    """The largest size this cosigner cosigned for us (0: never): where the log expects
    the witness to stand."""
    found = conn.execute(select(func.max(cosignatures.c.size)).where(
        cosignatures.c.cosigner == cosigner_id(cosigner))).scalar()
    return int(found or 0)


def with_cosignatures(conn: Connection, size: int, note: str) -> str:
    """The checkpoint note with every cosignature kept for it appended."""
    found = conn.execute(select(cosignatures.c.line).where(cosignatures.c.size == size)
                         .order_by(cosignatures.c.cosigner)).scalars()
    return note + "".join(f"{line}\n" for line in found)


def newest(conn: Connection) -> str | None:
    """The newest stored checkpoint with the cosignatures kept for it; None: none yet."""
    found = conn.execute(select(checkpoints.c.size, checkpoints.c.note)
                         .order_by(checkpoints.c.size.desc()).limit(1)).first()
    return None if found is None else with_cosignatures(conn, found.size, found.note)


def served(conn: Connection, policy: TrustPolicy) -> str | None:
    """The newest checkpoint whose valid cosignatures meet the policy's quorum, with
    them; None when none does (a checkpoint without its quorum is not the log's head)."""
    if policy.met(set()):
        return newest(conn)
    # Which witnesses cosigned which of the newest sizes, in one read: only a size whose
    # stored cosigners could meet the quorum is read and its cosignatures checked.
    newest_sizes = select(cosignatures.c.size).distinct().order_by(
        cosignatures.c.size.desc()).limit(SEARCH_NEWEST).subquery()
    by_size: dict[int, set[str]] = {}
    for size, cosigner in conn.execute(
            select(cosignatures.c.size, cosignatures.c.cosigner).where(
                cosignatures.c.size.in_(select(newest_sizes.c.size)))):
        by_size.setdefault(size, set()).add(cosigner)
    names = {cosigner_id(w.cosigner): w.name for w in policy.witnesses.values()}
    for size in sorted(by_size, reverse=True):
        if not policy.met({names[c] for c in by_size[size] if c in names}):
            continue
        note = conn.execute(select(checkpoints.c.note).where(
            checkpoints.c.size == size)).scalar()
        if note is None:
            continue
        full = with_cosignatures(conn, size, note)
        if policy.met(policy.signed_by(full)):
            return full
    return None
