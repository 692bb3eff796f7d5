"""What the sweeper waits for: the earliest deadline or warning not yet recorded (one read
of the escalations' next_due index), and how it is woken when a write moves that sooner.

On PostgreSQL a trigger on escalations (migration 0013) sends `NOTIFY baton_due` with the
new moment whenever a row's next_due appears or moves earlier, delivered at commit; the
sweeper LISTENs on a connection of its own and wakes at once. On SQLite there is nothing
to listen to: the sweeper looks at the index again after a short bounded poll."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from audit.store import db
from audit.store.schema import escalations
from workflow.timestamps import parse_rfc3339

CHANNEL = "baton_due"
log = logging.getLogger("baton.timers")


def earliest_due(engine: Engine) -> datetime | None:
    """The earliest running deadline or warning not yet recorded, or None."""
    with db.single_read(engine) as conn:
        found = conn.execute(select(func.min(escalations.c.next_due))).scalar()
    return parse_rfc3339(found) if found else None


class Wakeup:
    """Sleeps until a timeout or, on PostgreSQL, until a write moves a deadline sooner."""

    def __init__(self, engine: Engine, poll: float):
        self.engine = engine
        self.poll = poll
        self._conn: Any = None  # the DBAPI connection that LISTENs (PostgreSQL)
        self.listening = engine.dialect.name == "postgresql"

    def _listen(self) -> Any:
        if self._conn is None:
            raw = self.engine.raw_connection()
            conn: Any = raw.driver_connection
            conn.autocommit = True
            conn.execute(f"LISTEN {CHANNEL}")
            self._conn, self._raw = conn, raw
        return self._conn

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds` (the poll interval at most where nothing can be heard);
        True when woken by a notification."""
        if not self.listening:
            time.sleep(max(0.0, min(seconds, self.poll)))
            return False
        try:
            conn = self._listen()
            for _ in conn.notifies(timeout=max(0.0, seconds), stop_after=1):
                return True
            return False
        except Exception as exc:  # the connection broke: a fresh one next time
            log.warning("listening for deadlines failed (%s); polling meanwhile",
                        type(exc).__name__)
            self.close()
            time.sleep(max(0.0, min(seconds, self.poll)))
            return False

    def close(self) -> None:
        """Give the listening connection back (closed: it holds a LISTEN)."""
        if self._conn is not None:
            try:
                self._raw.invalidate()
            except Exception:  # already gone
                pass
            self._conn = None
