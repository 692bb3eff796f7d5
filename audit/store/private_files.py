"""Files that hold personal text and token hashes: readable by their owner only (0600),
and an SQLite write-ahead log that erased text does not linger in."""

from __future__ import annotations

import logging
import os
from typing import BinaryIO, TextIO

from sqlalchemy import Connection

log = logging.getLogger(__name__)

OWNER_ONLY = 0o600
# SQLite creates its -wal and -shm files with the database file's own mode.
SQLITE_SUFFIXES = ("", "-wal", "-shm")


def restrict_sqlite(database: str) -> None:
    """Make an SQLite database file owner-only, with its -wal and -shm files when they
    exist (databases made before this was done). Called as each connection opens: a new
    database is still empty then."""
    if database.startswith("file:"):
        return  # an SQLite URI names the file itself; left as it is
    path = os.path.abspath(database)
    for suffix in SQLITE_SUFFIXES:
        try:
            os.chmod(path + suffix, OWNER_ONLY)
        except FileNotFoundError:
            pass
        except PermissionError:
            log.warning("cannot make %s owner-only (not its owner)", path + suffix)


def open_private(path: str) -> TextIO:
    """A text file for writing, created (or truncated and made) owner-only: exports hold
    personal text."""
    return os.fdopen(_private_fd(path), "w", encoding="utf-8")


def open_private_binary(path: str) -> BinaryIO:
    """A binary file for writing, owner-only like open_private (a binary export names
    customer ids, handles and amounts)."""
    return os.fdopen(_private_fd(path), "wb")


def _private_fd(path: str) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY)
    os.fchmod(fd, OWNER_ONLY)
    return fd


def truncate_wal(conn: Connection) -> bool:
    """SQLite: copy the write-ahead log into the database file and truncate it to zero
    bytes, so that erased text (deleted, and zeroed by secure_delete in the database file)
    leaves no copy in the log. Call it outside a transaction, after the erasure's commit.
    Waits for readers (busy_timeout); True when the log was emptied."""
    if conn.engine.dialect.name != "sqlite" or conn.engine.url.database in (None, "",
                                                                           ":memory:"):
        return True
    row = conn.connection.driver_connection.execute(  # type: ignore[union-attr]
        "PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if row is None or row[0]:
        log.warning("write-ahead log not emptied after an erasure (readers held it); the "
                    "next checkpoint of the log will")
        return False
    return True
