"""The wiring: one object that owns the engine, the signer and the clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Connection, Engine

from audit import db, policies, signed_note
from audit.errors import NotInitialised
from audit.ledger import Signer
from audit.uow import SqlUnitOfWork
from workflow.policy import Policy


def current() -> Baton:
    """The Baton of the app handling this request."""
    baton: Baton = current_app.extensions["baton"]
    return baton


def request_connection() -> Connection:
    """This request's database connection, checked out at its first use (the token
    lookup) and given back when the request ends: a write's unit of work continues on
    it instead of checking out a second one (on PostgreSQL, a second pre-ping)."""
    conn: Connection | None = g.get("baton_connection")
    if conn is None:
        conn = g.baton_connection = db.single_read(current().engine)
    return conn


def _release_connection(_exc: BaseException | None) -> None:
    conn: Connection | None = g.pop("baton_connection", None)
    if conn is not None:
        conn.close()


def init_app(app: Flask) -> None:
    """Give each request's connection back when the request ends."""
    app.teardown_request(_release_connection)


def utcnow() -> datetime:
    """The wall clock, in UTC (only the doors read it; the domain is handed it)."""
    return datetime.now(UTC)


class Baton:
    """Engine, signer and clock for one database."""

    def __init__(self, settings: dict[str, Any], clock: Callable[[], datetime] = utcnow):
        self.settings = settings
        self.engine: Engine = db.make_engine(settings["BATON_DATABASE_URL"])
        self.origin: str = settings["BATON_LOG_ORIGIN"]
        self.clock = clock
        self._signer: Signer | None = None

    @property
    def signer(self) -> Signer | None:
        """The checkpoint signer, when the private key file exists."""
        if self._signer is None:
            path = Path(self.settings["BATON_SIGNING_KEY"])
            if path.exists():
                self._signer = Signer(signed_note.load_private_key(path), self.origin,
                                      every=self.settings["BATON_CHECKPOINT_EVERY"],
                                      interval_seconds=self.settings["BATON_CHECKPOINT_INTERVAL"])
        return self._signer

    def ensure_key(self) -> bool:
        """Create the signing key if it is missing; True when created."""
        _, created = signed_note.ensure_private_key(self.settings["BATON_SIGNING_KEY"])
        self._signer = None
        return created

    @property
    def vkey(self) -> str:
        """The public verifier key."""
        signer = self.signer
        if signer is None:
            raise NotInitialised(f"no signing key at {self.settings['BATON_SIGNING_KEY']}: "
                                 "run `baton init`")
        return signer.vkey

    def uow(self, connection: Connection | None = None, *,
            release_before_flush: bool = False) -> SqlUnitOfWork:
        """A new unit of work (on `connection` when given, else on its own)."""
        return SqlUnitOfWork(self.engine, self.signer, connection,
                             release_before_flush=release_before_flush)

    def policy(self, conn: Any = None) -> Policy:
        """The policy in force."""
        if conn is None:
            with self.engine.connect() as c:
                found = policies.active(c)
        else:
            found = policies.active(conn)
        if found is None:
            raise NotInitialised("no policy has been applied: run `baton init`")
        return found

    def now(self) -> datetime:
        """The current time from the configured clock."""
        return self.clock()
