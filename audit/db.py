"""Engines: SQLite (WAL, durable commits, BEGIN IMMEDIATE for writers) or PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

_WRITE_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def is_sqlite(engine: Engine) -> bool:
    """True when the engine is SQLite."""
    return engine.dialect.name == "sqlite"


def write_lock(engine: Engine) -> threading.Lock:
    """One lock per database per process: SQLite writers queue here instead of
    sleeping in SQLite's busy-retry backoff."""
    key = str(engine.url)
    with _LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(key, threading.Lock())


def make_engine(url: str, **kw: Any) -> Engine:
    """An engine for `url`, with Baton's connection settings."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kw)
    memory = parsed.database in (None, "", ":memory:")
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        poolclass=StaticPool if memory else None,
        **kw,
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        # Erased personal data must not linger in free pages of the file.
        cur.execute("PRAGMA secure_delete=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        writer = conn.get_execution_options().get("baton_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine


def create_schema(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    from audit import migrate  # alembic is only needed by whoever migrates

    migrate.upgrade(engine)
