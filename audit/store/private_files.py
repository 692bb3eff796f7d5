"""Files that hold personal text and token hashes: readable by their owner only (0600).
(That erased text does not linger in SQLite's write-ahead log: audit.store.sqlite_recorder.)"""

from __future__ import annotations

import logging
import os
from typing import BinaryIO, TextIO

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
