"""The wiring: one object that owns the engine, the signer and the clock."""

from __future__ import annotations

import errno
import logging
import os
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g, has_request_context
from sqlalchemy import Connection, Engine

from api import request_guard
from audit.errors import KeyFileError, NotInitialised, SigningUnavailable
from audit.log import signed_note
from audit.log.ledger import Signer
from audit.reads import escalation_ids, records
from audit.store import db, policies, simulation
from audit.store.actor_accounts import SqlActorAccounts
from audit.store.fast_path import Query
from audit.store.read_records import SqlReadRecords
from audit.store.redeliveries import SqlRedeliveries
from audit.store.uow import SqlUnitOfWork
from audit.store.webhooks import SqlWebhooks
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


def request_uow() -> SqlUnitOfWork:
    """The unit of work of a write over HTTP (the factory the API gives the service
    layer's handlers): on this request's connection, releasing its locks before the
    flush, so concurrent requests overlap their flushes and each is acknowledged once
    durable (audit.store.db explains)."""
    return current().uow(request_connection(), release_before_flush=True,
                         shows=(records.OPENING_TEXTS, escalation_ids.RELATED))


# The stores some commands write beside the ledger, each made from a unit of work
# (workflow.handler_ports names them; the handlers are given these).
WEBHOOKS = SqlWebhooks
ACCOUNTS = SqlActorAccounts
REDELIVERIES = SqlRedeliveries
READ_RECORDS = SqlReadRecords


def _release_connection(_exc: BaseException | None) -> None:
    # Teardown never raises: the response is already made, and an exception here would
    # reach gunicorn, which answers with an HTML page. Closing a connection the database
    # dropped can fail; the connection is then discarded instead.
    conn: Connection | None = g.pop("baton_connection", None)
    if conn is None:
        return
    try:
        conn.close()
    except Exception as exc:  # noqa: BLE001 - whatever the driver raises, never past here
        log.warning("request connection discarded: %s", type(exc).__name__)
        try:
            conn.invalidate()
        except Exception:  # noqa: BLE001
            pass


def init_app(app: Flask) -> None:
    """Give each request's connection back when the request ends; load the signing key
    as the (gunicorn) worker starts, logging why when it cannot be."""
    app.teardown_request(_release_connection)
    # Before authentication: a NUL in a token must not reach the database either.
    app.before_request(request_guard.check)
    key = app.extensions["baton"].key
    key.announce = True
    try:
        key.get()
    except SigningUnavailable:
        pass  # logged; writes answer 503 signing-unavailable until the key is back


log = logging.getLogger("baton.signing")


def _identity(path: Path) -> tuple[int, ...]:
    st = path.stat()
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class SigningKey:
    """The checkpoint signer, loaded from its file at start and reloaded when the file
    changes. A key that is missing or unreadable makes every write fail with
    SigningUnavailable (never a write without its checkpoints); the failure is logged
    once per change, naming no path, and writes resume once the key is back."""

    def __init__(self, settings: dict[str, Any]):
        self._settings = settings
        self._path = Path(settings["BATON_SIGNING_KEY"])
        self._guard = threading.Lock()
        self._signer: Signer | None = None
        self._seen: tuple[int, ...] | None = None
        self.problem: str | None = "not loaded yet"
        # The server logs a key's loss and return; the command line reports it on stderr.
        self.announce = False

    def get(self) -> Signer:
        """The signer, after a cheap check that the key file is still the one loaded
        (one stat); SigningUnavailable when it cannot be had."""
        try:
            seen: tuple[int, ...] | None = _identity(self._path)
        except OSError as exc:
            seen = None
            reason = _reason(exc)
        with self._guard:
            if seen is None:
                self._fail(reason)
            elif seen != self._seen or self._signer is None:
                self._load(seen)
            if self._signer is None:
                raise SigningUnavailable(f"checkpoints cannot be signed: {self.problem}; "
                                         "writes are refused until the key is back")
            return self._signer

    def _load(self, seen: tuple[int, ...]) -> None:
        try:
            key = signed_note.load_private_key(self._path)
        except KeyFileError as exc:
            self._fail(_reason(exc.__context__) if exc.__context__ else "not a usable key")
            self._seen = seen
            return
        s = self._settings
        self._signer = Signer(key, s["BATON_LOG_ORIGIN"], every=s["BATON_CHECKPOINT_EVERY"],
                              interval_seconds=s["BATON_CHECKPOINT_INTERVAL"])
        if self.problem not in (None, "not loaded yet") and self.announce:
            log.warning("signing key loaded again: checkpoints and writes resume")
        self._seen, self.problem = seen, None

    def _fail(self, reason: str) -> None:
        if self.problem != reason and self.announce:
            log.error("signing key unavailable (%s): writes are refused", reason)
        self._signer, self._seen, self.problem = None, None, reason

    def forget(self) -> None:
        """Load the key again at the next use (it was just created)."""
        with self._guard:
            self._signer, self._seen = None, None


def _reason(exc: BaseException | None) -> str:
    """What went wrong with the key file, without its path."""
    if isinstance(exc, OSError) and exc.errno is not None:
        if exc.errno == errno.ENOENT:
            return "no key file (run `baton init`)"
        return os.strerror(exc.errno).lower()
    return "not an Ed25519 private key"


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
        self.key = SigningKey(settings)
        self._simulation: bool | None = None  # None: not known yet (not initialised)

    @property
    def signer(self) -> Signer:
        """The checkpoint signer; SigningUnavailable when its key cannot be loaded."""
        return self.key.get()

    def require_current_schema(self) -> None:
        """Refuse (ValueError, one line) a database whose schema this code does not write:
        newer code on an older schema would write rows the older layout misreads."""
        from audit.store import migrate

        found, wanted = migrate.current(self.engine), migrate.head()
        if found is not None and found != wanted:
            raise ValueError(f"the database's schema is {found} and this Baton writes "
                             f"{wanted}: run `baton db upgrade` first")

    def ensure_key(self) -> bool:
        """Create the signing key if it is missing; True when created."""
        _, created = signed_note.ensure_private_key(self.settings["BATON_SIGNING_KEY"])
        self.key.forget()
        return created

    @property
    def vkey(self) -> str:
        """The public verifier key."""
        return self.signer.vkey

    def uow(self, connection: Connection | None = None, *,
            release_before_flush: bool = False,
            shows: Iterable[Query] = ()) -> SqlUnitOfWork:
        """A new unit of work (on `connection` when given, else on its own). Refused with
        SigningUnavailable, before anything is written, when no checkpoint could be
        signed: a write is never accepted that its checkpoints could not cover."""
        made = SqlUnitOfWork(self.engine, self.signer, connection,
                             release_before_flush=release_before_flush, shows=shows)
        made.acting = g.get("actor") if has_request_context() else None
        return made

    def policy(self, conn: Any = None, version: str | None = None) -> Policy:
        """The policy in force; `version`: its version, read already (by the request's
        authentication), so that only a version not seen before is read."""
        if conn is None:
            with self.engine.connect() as c:
                return self.policy(c, version)
        found = policies.active(conn) if version is None else policies.of_version(conn, version)
        if found is None:
            raise NotInitialised("no policy has been applied: run `baton init`")
        return found

    def now(self) -> datetime:
        """The current time from the configured clock; on a simulation, the latest time
        it was advanced to while the clock has not passed it (audit.store.simulation)."""
        wall = self.clock()
        if not self.is_simulation():
            return wall
        advanced = simulation.advanced_to(self.engine)
        return max(wall, advanced) if advanced is not None else wall

    def is_simulation(self) -> bool:
        """Whether this database is a simulation (read once it is initialised: a ledger
        never becomes one, nor stops being one)."""
        if self._simulation is None:
            with db.single_read(self.engine) as conn:
                self._simulation = simulation.declared(conn)
        return bool(self._simulation)
