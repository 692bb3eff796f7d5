"""The checkpoint an auditor is handed: one that covers every event committed before they
asked. Signed on request when the log has grown since the last one, and coalesced so that
a flood of requests writes at most one checkpoint a second, across every process."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from audit.log import ledger
from audit.store import db
from audit.store.uow import SqlUnitOfWork
from workflow.model import parse_rfc3339

MIN_INTERVAL_SECONDS = 1.0


def _since(head: ledger.Head, now: datetime) -> float | None:
    """Seconds since the newest checkpoint was signed (None: never)."""
    if head.checkpoint_at is None:
        return None
    return (now - parse_rfc3339(head.checkpoint_at)).total_seconds()


def covering(engine: Engine, signer: Callable[[], ledger.Signer | None],
             clock: Callable[[], datetime], *,
             sleep: Callable[[float], None] = time.sleep) -> str:
    """The newest checkpoint once it covers every event committed before this call: the
    stored one when the log has not grown, else one signed now, or the one another request
    signs within the second (requests in that second wait for it instead of signing).
    With no signer (no key) the newest stored checkpoint is all there is."""
    with db.single_read(engine) as conn:
        head = ledger.read_head(conn, lock=False)
        wanted = head.size
        if head.checkpoint_size >= wanted or (key := signer()) is None:
            return ledger.latest_checkpoint(conn)
    waited = False
    while True:
        # The log head's lock (the SQLite writer lock, or the row lock on PostgreSQL) makes
        # every process take its turn here; whoever comes after a signing finds it done.
        with SqlUnitOfWork(engine, key) as uow:
            head = uow.head()
            if head.checkpoint_size >= wanted:
                return ledger.latest_checkpoint(uow.conn)
            now = clock()
            since = _since(head, now)
            if waited or since is None or since >= MIN_INTERVAL_SECONDS:
                text = ledger.sign_checkpoint(uow.conn, head, key, now)
                uow.commit()
                return text
        # Signed within the last second: wait for that second to pass (without holding the
        # lock, so writes go on), then take the lock again; one of the waiters signs.
        sleep(min(MIN_INTERVAL_SECONDS, MIN_INTERVAL_SECONDS - since))
        waited = True
