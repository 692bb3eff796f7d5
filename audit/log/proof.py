"""A self-contained proof of one ledger event, built from the database: what
`baton audit proof SEQ [-o FILE]` writes and `python -m audit.verifier --proof FILE
--public-key F [--witness-policy P]` checks alone (audit/verifier/proof_check.py).

The proof is a c2sp.org/tlog-proof@v1 text (audit/log/tlog_proof.py): `extra` holds the
event's canonical bytes, then its index (the seq), the RFC 9162 inclusion proof, and the
checkpoint with every cosignature kept for it. The canonical bytes hold commitments, never
personal text, but they do name the customer id, the actors' handles and amounts, as the
log's entry bundles do.

The checkpoint is the newest one that covers the event: under a witness policy, the
newest that meets its quorum (as /log/checkpoint chooses). Which one, and what to do when
there is none, is the caller's (the command signs and asks the witnesses); this module
only finds and builds.
"""

from __future__ import annotations

import base64

from sqlalchemy import Connection, select

from audit.errors import ProofUnavailable
from audit.log import cosignatures, ledger, merkle, tlog_proof
from audit.log.witness_policy import TrustPolicy
from audit.store.schema import ledger as ledger_table


def require_event(conn: Connection, seq: int) -> None:
    """ProofUnavailable unless event `seq` is in the log."""
    size = ledger.read_head(conn, lock=False).size
    if not 0 <= seq < size:
        held = f"seq 0 to {size - 1}" if size else "no events"
        raise ProofUnavailable(f"seq {seq} is not in the log (it holds {held})")


def size_of(note: str) -> int:
    """The tree size a stored checkpoint note states (its second line)."""
    return int(note.split("\n", 2)[1])


def covering(conn: Connection, seq: int, policy: TrustPolicy | None) -> str | None:
    """The newest stored checkpoint that covers `seq` (with its cosignatures) and, under a
    policy, meets its quorum; None when there is none."""
    found = cosignatures.newest(conn) if policy is None else cosignatures.served(conn, policy)
    return found if found is not None and size_of(found) > seq else None


def build(conn: Connection, seq: int, checkpoint: str) -> str:
    """The tlog-proof text of event `seq` under `checkpoint` (a stored note); checked
    against the checkpoint's root before it is handed out."""
    lines = checkpoint.split("\n", 3)
    size, root = int(lines[1]), base64.b64decode(lines[2])
    if not 0 <= seq < size:
        raise ProofUnavailable(f"the checkpoint of size {size} does not cover seq {seq}")
    body = conn.execute(select(ledger_table.c.body).where(ledger_table.c.seq == seq)).scalar()
    if body is None:
        raise ProofUnavailable(f"seq {seq} is not in the log")
    data = bytes(body)
    path = merkle.inclusion_proof(seq, size, ledger.subtree_hasher(conn))
    try:
        merkle.verify_inclusion(seq, size, merkle.leaf_hash(data), path, root)
    except merkle.ProofError:
        raise ProofUnavailable(
            f"the stored log does not match its checkpoint of size {size} at seq {seq}: it "
            "was changed after it was signed (run `baton audit verify --db`)") from None
    return tlog_proof.render(tlog_proof.Proof(seq, data, tuple(path), checkpoint))
