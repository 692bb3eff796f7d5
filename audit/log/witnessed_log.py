"""The log as a witnessing round sees it (api/witnessing.py speaks the protocol): the
newest checkpoint and who cosigned it, where each witness stands, consistency proofs,
and the cosignatures kept. Each call is its own short transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from audit.errors import CheckpointMissing
from audit.log import cosignature, cosignatures, ledger, merkle, signed_note


class WitnessedLog:
    """The stored log, for the witnessing rounds."""

    def __init__(self, engine: Engine):
        self._engine = engine

    def newest(self, vkey: Callable[[], str]) -> tuple[str, int, set[str]] | None:
        """The newest checkpoint, its size and the cosigners (NAME+HEXID) it has; None
        before the first checkpoint (`vkey` is asked only once there is one)."""
        try:
            with self._engine.connect() as conn:
                note = ledger.latest_checkpoint(conn)
                size = signed_note.open_note(note, vkey()).size
                return note, size, cosignatures.cosigners_of(conn, size)
        except CheckpointMissing:
            return None

    def witnessed_size(self, cosigner: cosignature.Cosigner) -> int:
        """The largest size this cosigner cosigned for us (0: never)."""
        with self._engine.connect() as conn:
            return cosignatures.witnessed_size(conn, cosigner)

    def consistency_proof(self, old: int, size: int) -> list[bytes]:
        """The proof that the tree of `size` extends the one of `old` (none from 0)."""
        if old in (0, size):
            return []
        with self._engine.connect() as conn:
            return merkle.consistency_proof(old, size, ledger.subtree_hasher(conn))

    def keep(self, size: int, cosigner: cosignature.Cosigner, line: str,
             at: datetime) -> None:
        """Keep a witness's verified cosignature of the checkpoint of `size`."""
        with self._engine.begin() as conn:
            cosignatures.add(conn, size, cosigner, line, at)
