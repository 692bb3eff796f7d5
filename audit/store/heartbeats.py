"""Workers' heartbeats: each running worker overwrites its one row every few seconds
(after each round of its sweeper), so whoever asks sees which workers are alive and
when each last swept. Not the ledger: rows are overwritten, and forgotten at a clean stop
or a day after their last beat."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, delete, select

from audit.store import db, fast_path
from audit.store.schema import worker_heartbeats
from audit.store.uow import SqlUnitOfWork

FORGET_AFTER = 86400.0
_UPDATE_SQL = ("UPDATE worker_heartbeats SET beat_at = :now, swept_at = :swept "
               "WHERE worker = :worker")
_INSERT_SQL = ("INSERT INTO worker_heartbeats (worker, started_at, beat_at, swept_at) "
               "VALUES (:worker, :started, :now, :swept)")


@dataclass(frozen=True)
class Beat:
    """A worker's latest beat (wall-clock seconds)."""

    worker: str
    started_at: float
    beat_at: float
    swept_at: float | None


def beat(*, uow: Callable[[], SqlUnitOfWork], worker: str, started_at: float, now: float,
         swept_at: float | None) -> None:
    """Record that `worker` is alive at `now` (and last finished a sweep at `swept_at`)."""
    params = {"worker": worker, "started": started_at, "now": now, "swept": swept_at}
    with uow() as work:
        found = work.conn.execute(select(worker_heartbeats.c.worker).where(
            worker_heartbeats.c.worker == worker)).first()
        fast_path.write(work.conn, _UPDATE_SQL if found else _INSERT_SQL, params)
        work.conn.execute(delete(worker_heartbeats).where(
            worker_heartbeats.c.beat_at < now - FORGET_AFTER))
        work.commit()


def forget(*, uow: Callable[[], SqlUnitOfWork], worker: str) -> None:
    """The worker stops cleanly: its row goes (a killed worker's row just stops beating)."""
    with uow() as work:
        work.conn.execute(delete(worker_heartbeats).where(
            worker_heartbeats.c.worker == worker))
        work.commit()


def beats(conn: Connection) -> list[Beat]:
    """Every worker's latest beat, newest first."""
    rows = conn.execute(select(worker_heartbeats).order_by(
        worker_heartbeats.c.beat_at.desc())).all()
    return [Beat(r.worker, r.started_at, r.beat_at, r.swept_at) for r in rows]


def alive(engine: Engine, now: float, within: float) -> list[Beat]:
    """The workers that beat in the last `within` seconds."""
    with db.single_read(engine) as conn:
        return [b for b in beats(conn) if b.beat_at >= now - within]
