"""Database failures audit/ leaves as the driver layer raised them (SQLAlchemy's), named for
the doors that must still answer them in one line: the command line and the checks that
tell "no database yet" from a broken one, without importing SQLAlchemy themselves."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

# Every failure of a statement that audit.store.driver_errors did not translate.
STORE_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError,)


def describe(exc: Exception) -> str:
    """One line saying what the database answered (the driver's own message when there
    is one, without SQLAlchemy's wrapping and background link)."""
    orig = getattr(exc, "orig", None)
    return f"database: {orig if orig is not None else exc}".splitlines()[0]
