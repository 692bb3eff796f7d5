"""The append-only ledger: append (the only write), checkpoints, proofs, reads.

There is deliberately no function here that updates or deletes a ledger row.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, insert, select

from audit.errors import CheckpointMissing, LedgerRefused, ProofUnavailable, RowRefused
from audit.log import event_record, merkle, signed_note
from audit.log.canonical import commitment, content_text, new_salt
from audit.store import deflated, fast_path, ledger_time, policy_refs
from audit.store.schema import checkpoints, ledger, merkle_nodes
from workflow.catalogue import PERSONAL_FIELDS
from workflow.model import Event, parse_rfc3339, rfc3339

FORMAT = 1  # the record's shape; its bytes are format 2 (audit/log/event_record.py)
NODE_LEVEL_MIN = 4  # subtrees of 16+ leaves are stored; smaller ones are rehashed


@dataclass
class Signer:
    """The checkpoint signing key, the log's origin line and when to sign."""

    key: Ed25519PrivateKey
    origin: str
    every: int = 1000
    interval_seconds: int = 300

    @property
    def vkey(self) -> str:
        """The public verifier key."""
        return signed_note.verifier_key(self.origin, self.key.public_key())


@dataclass
class Head:
    """The log head as read at the start of an append."""

    size: int
    chain: bytes
    range: merkle.CompactRange
    checkpoint_size: int
    checkpoint_at: str | None
    first: int = -1  # the seq of this transaction's first append (-1: none yet)


_HEAD_SQL = ("SELECT size, chain_hash, compact_range, checkpoint_size, checkpoint_at "
             "FROM log_head WHERE id = 1")
_HEAD = fast_path.Query(_HEAD_SQL)
_HEAD_LOCKED = fast_path.Query(_HEAD_SQL, lock="FOR UPDATE")
_INSERT_LEDGER_SQL = (
    "INSERT INTO ledger (seq, escalation_id, escalation_seq, action, actor, owner, at, body, "
    "chain_hash) VALUES (:seq, :escalation_id, :escalation_seq, :action, :actor, :owner, :at, "
    ":body, :chain_hash)")
_INSERT_NODE_SQL = "INSERT INTO merkle_nodes (level, idx, hash) VALUES (:level, :idx, :hash)"
_INSERT_CONTENT_SQL = ("INSERT INTO content (seq, field, salt, text) VALUES (:seq, :field, :salt,"
                       " :text)")
_UPDATE_HEAD_SQL = ("UPDATE log_head SET size = :size, chain_hash = :chain_hash, "
                    "compact_range = :compact_range, checkpoint_size = :checkpoint_size, "
                    "checkpoint_at = :checkpoint_at WHERE id = 1")


def read_head(conn: Connection, lock: bool = True) -> Head:
    """The log head; on PostgreSQL `lock` takes the row lock that serialises appends."""
    size, chain, compact, cp_size, cp_at = (_HEAD_LOCKED if lock else _HEAD).fetch_one(
        conn, {})
    return Head(size, bytes(chain), merkle.CompactRange.from_bytes(size, bytes(compact)),
                cp_size, cp_at)


def event_body(event: Event, seq: int) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The hashed record of an event, with personal fields replaced by commitments
    (filled in by append), and the (field, text) pairs to store beside it."""
    payload: dict[str, Any] = {}
    personal: list[tuple[str, str]] = []
    for key, value in event.payload.items():
        if key in PERSONAL_FIELDS:
            personal.append((key, content_text(value)))
            payload[key] = {"commitment": None, "list": not isinstance(value, str)}
        else:
            payload[key] = value
    body = {
        "v": FORMAT, "seq": seq, "escalation_id": event.escalation_id,
        "version": event.version, "action": event.action, "actor": event.actor,
        "role": event.role, "at": rfc3339(event.at), "from_state": event.from_state,
        "to_state": event.to_state, "from_owner": event.from_owner,
        "to_owner": event.to_owner, "tier": event.tier, "payload": payload,
        "policy_version": event.policy_version, "rule": event.rule,
    }
    return body, personal


def append(conn: Connection, head: Head, record: dict[str, Any],
           personal: list[tuple[str, str]]) -> int:
    """Append one record to the ledger and the head (personal text goes to `content`);
    returns its seq."""
    seq = head.size
    record["seq"] = seq
    if head.first < 0:  # the head was read at the transaction's start: all before is in
        head.first = seq
        policy_refs.committed_below(conn, seq)
    stored: list[tuple[str, bytes, str]] = []
    payload = record.get("payload", {})
    for key, text in personal:
        salt = new_salt()
        payload[key]["commitment"] = commitment(salt, text)
        stored.append((key, salt, text))
    # The record stays in format 1's shape (the outbox's CloudEvent is made from it);
    # its bytes are format 2, the policy by the seq of the event that applied it.
    body = event_record.encoded_bytes(
        record, policy_refs.seq_of_policy(conn, record.get("policy_version")))
    leaf = merkle.leaf_hash(body)
    chain = merkle.chain_hash(head.chain, leaf)
    made = head.range.append(leaf)
    try:
        fast_path.write(conn, _INSERT_LEDGER_SQL, {
            "seq": seq, "escalation_id": record.get("escalation_id"),
            "escalation_seq": record.get("version"), "action": record["action"],
            "actor": record["actor"], "owner": record.get("to_owner"),
            "at": ledger_time.stored(conn.dialect.name, record["at"]),
            "body": deflated.packed_for(conn.dialect.name, body), "chain_hash": chain})
    except RowRefused as exc:  # at once on SQLite; on PostgreSQL the write is queued
        raise LedgerRefused(str(exc)) from None
    nodes = [{"level": lv, "idx": ix, "hash": h} for lv, ix, h in made if lv >= NODE_LEVEL_MIN]
    if nodes:
        fast_path.write_many(conn, _INSERT_NODE_SQL, nodes)
    if stored:
        fast_path.write_many(conn, _INSERT_CONTENT_SQL, [
            {"seq": seq, "field": k, "salt": s, "text": t} for k, s, t in stored])
    head.size += 1
    head.chain = chain
    return seq


def write_head(conn: Connection, head: Head) -> None:
    """Store the head after the appends of this transaction."""
    fast_path.write(conn, _UPDATE_HEAD_SQL, {
        "size": head.size, "chain_hash": head.chain, "compact_range": head.range.to_bytes(),
        "checkpoint_size": head.checkpoint_size, "checkpoint_at": head.checkpoint_at})


def checkpoint_due(head: Head, signer: Signer | None, now: datetime) -> bool:
    """Every `every` events, or `interval_seconds` after the last one if anything is new."""
    if signer is None or head.size == head.checkpoint_size:
        return False
    if head.size - head.checkpoint_size >= signer.every or head.checkpoint_at is None:
        return True
    last = parse_rfc3339(head.checkpoint_at)
    return (now - last).total_seconds() >= signer.interval_seconds


def sign_checkpoint(conn: Connection, head: Head, signer: Signer, now: datetime) -> str:
    """Sign the head's tree size and root; store the note; returns it."""
    root = head.range.root()
    text = signed_note.sign(signer.origin, head.size, root, signer.key, signer.origin)
    existing = conn.execute(select(checkpoints.c.note).where(
        checkpoints.c.size == head.size)).scalar()
    if existing is None:
        conn.execute(insert(checkpoints).values(size=head.size, root=root, note=text,
                                                created_at=rfc3339(now)))
    head.checkpoint_size = head.size
    head.checkpoint_at = rfc3339(now)
    return existing or text


def latest_checkpoint(conn: Connection) -> str:
    """The newest signed note."""
    found = conn.execute(select(checkpoints.c.note).order_by(
        checkpoints.c.size.desc()).limit(1)).scalar()
    if found is None:
        raise CheckpointMissing("no checkpoint has been signed yet")
    return str(found)


def bodies(conn: Connection, start: int, end: int) -> list[bytes]:
    """The canonical bytes of seqs start..end-1, in order."""
    return [bytes(body) for body in conn.execute(select(ledger.c.body).where(
        ledger.c.seq >= start, ledger.c.seq < end).order_by(ledger.c.seq)).scalars()]


def leaf_hashes(conn: Connection, start: int, end: int) -> list[bytes]:
    """The leaf hashes of seqs start..end-1 in order (not stored: their bodies hashed)."""
    return [merkle.leaf_hash(body) for body in bodies(conn, start, end)]


def subtree_hasher(conn: Connection) -> merkle.SubtreeHash:
    """mth(start, end) over the stored log, using stored nodes where it can."""

    def mth(start: int, end: int) -> bytes:
        n = end - start
        if n & (n - 1) == 0 and start % n == 0:
            level = n.bit_length() - 1
            if level >= NODE_LEVEL_MIN:
                found = conn.execute(select(merkle_nodes.c.hash).where(
                    merkle_nodes.c.level == level, merkle_nodes.c.idx == start >> level)).scalar()
                if found is not None:
                    return bytes(found)
            if n <= 1 << NODE_LEVEL_MIN:
                return merkle.root_of(leaf_hashes(conn, start, end))
        k = 1 << ((n - 1).bit_length() - 1)
        return merkle.node_hash(mth(start, start + k), mth(start + k, end))

    return mth


def inclusion(conn: Connection, seq: int, size: int) -> dict[str, Any]:
    """An RFC 9162 inclusion proof of event `seq` in the tree of `size` events."""
    head = read_head(conn, lock=False)
    if not 0 <= seq < size <= head.size:
        raise ProofUnavailable(f"need 0 <= seq < size <= {head.size} (the log size)")
    mth = subtree_hasher(conn)
    leaf = merkle.leaf_hash(bytes(conn.execute(select(ledger.c.body).where(
        ledger.c.seq == seq)).scalar_one()))
    proof = merkle.inclusion_proof(seq, size, mth)
    root = mth(0, size)
    return {"seq": seq, "size": size, "leaf_hash": _b64(leaf), "root": _b64(root),
            "proof": [_b64(p) for p in proof],
            # Hashes are hex everywhere in JSON; the base64 fields above stay for
            # existing clients (deprecated in the OpenAPI document).
            "leaf_hash_hex": bytes(leaf).hex(), "root_hex": root.hex(),
            "proof_hex": [p.hex() for p in proof]}


def consistency(conn: Connection, first: int, second: int) -> dict[str, Any]:
    """An RFC 9162 consistency proof between two tree sizes."""
    head = read_head(conn, lock=False)
    if not 0 < first <= second <= head.size:
        raise ProofUnavailable(f"need 0 < from <= to <= {head.size} (the log size)")
    mth = subtree_hasher(conn)
    proof = merkle.consistency_proof(first, second, mth)
    old, new = mth(0, first), mth(0, second)
    return {"from": first, "to": second, "from_root": _b64(old), "to_root": _b64(new),
            "proof": [_b64(p) for p in proof], "from_root_hex": old.hex(),
            "to_root_hex": new.hex(), "proof_hex": [p.hex() for p in proof]}


def _b64(value: bytes) -> str:
    return base64.b64encode(bytes(value)).decode()
