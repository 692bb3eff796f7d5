"""Shared pieces of the `baton` commands: one-line errors, messages on stderr, --now."""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any

import click

from api.config import settings
from api.container import Baton
from audit.errors import AuditError, DatabaseFailed, SchemaMissing
from audit.store import simulation
from audit.store.failures import STORE_ERRORS, describe
from workflow.errors import WorkflowError
from workflow.model import Actor, parse_rfc3339, rfc3339


def fail(message: str, code: int = 1) -> None:
    """One line on stderr and a non-zero exit: never a traceback."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def info(message: str) -> None:
    """A message for people: stderr, so stdout stays clean for pipes."""
    click.echo(message, err=True)


def sweep_time(baton: Baton, value: str | None) -> datetime:
    """The time a sweep runs at: the wall clock, or `--now` on a simulation only (its
    events are stamped with it, so it may not go back before the latest event)."""
    if value is None:
        return baton.now()  # a simulation's own time
    moment = parse_now(value)
    with baton.engine.connect() as conn:
        if not simulation.is_simulation(conn):
            fail("--now is only for simulations: this database was initialised without "
                 "--simulation, and its events carry the real time")
        latest = simulation.latest_event_at(conn)
    advanced = simulation.advanced_to(baton.engine)
    if advanced is not None and (latest is None or parse_rfc3339(latest) < advanced):
        latest = rfc3339(advanced)
    if latest is not None and moment < parse_rfc3339(latest):
        fail(f"--now {value} is before the latest event ({latest}): a simulation's time "
             "only moves forward")
    # Reads, countdowns and writes of the simulation run at its time from now on.
    simulation.advance(uow=baton.uow, to=moment)
    return moment


def parse_now(value: str | None) -> datetime:
    """--now RFC3339, or the wall clock."""
    if value is None:
        return datetime.now(UTC)
    try:
        moment = parse_rfc3339(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise click.BadParameter("give a time zone, e.g. 2026-03-02T09:00:00Z")
    return moment


def parse_bound(value: str) -> datetime:
    """A period's bound: an RFC 3339 time, or a date (YYYY-MM-DD) meaning that day's start
    in UTC, as the dashboard's metrics page takes dates."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return datetime.combine(date.fromisoformat(value), time(), UTC)
        except ValueError:
            raise click.BadParameter(f"{value!r} is not a date") from None
    return parse_now(value)


def quiet_exit() -> None:
    """The reader of our output went away (`baton … | head`): stop without a word.
    Later writes (the interpreter's final flush) go to /dev/null instead of failing."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(1)


def with_baton(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add --database-url and --signing-key, build the Baton, and turn errors into
    one-line messages."""

    @click.option("--database-url", envvar="BATON_DATABASE_URL", default=None,
                  help="SQLAlchemy URL (default: BATON_DATABASE_URL or sqlite:///baton.db)")
    @click.option("--signing-key", envvar="BATON_SIGNING_KEY", default=None,
                  help="Ed25519 private key file for checkpoints")
    @functools.wraps(func)
    def wrapper(*args: Any, database_url: str | None, signing_key: str | None,
                **kwargs: Any) -> Any:
        baton: Baton | None = None
        try:
            baton = Baton(settings({"BATON_DATABASE_URL": database_url,
                                    "BATON_SIGNING_KEY": signing_key}))
            return func(baton, *args, **kwargs)
        except BrokenPipeError:
            quiet_exit()
        except SchemaMissing as exc:
            fail(f"database: {exc}".splitlines()[0]
                 + " (the database is not initialised: run `baton init`)")
        except DatabaseFailed as exc:
            fail(f"database: {exc}".splitlines()[0])
        except (WorkflowError, AuditError, ValueError, OSError) as exc:
            fail(str(exc))
        except STORE_ERRORS as exc:
            fail(describe(exc))
        finally:  # in-process callers (tests) keep no connection behind
            if baton is not None:
                baton.engine.dispose()

    return wrapper


# Whoever runs the command line holds the database and the signing key; what they do
# is recorded as done by the handle they name, in the operator's role.
OPERATOR_ROLE = "admin"


def operator(handle: str) -> Actor:
    """The actor a command acts as: `--as HANDLE` in the operator's role."""
    return Actor(handle, (OPERATOR_ROLE,), None)
