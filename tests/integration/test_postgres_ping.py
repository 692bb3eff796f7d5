"""The pool's ping before a checkout on PostgreSQL (issue 29): an idle pooled connection
is vouched for by its socket, without a SELECT 1 on every request; one whose backend was
terminated is found out at checkout and replaced, so the request it serves succeeds; a
host gone without a word is given up on by TCP keepalives in about a minute."""

from __future__ import annotations

import socket
import time
from typing import Any

from sqlalchemy import text

from audit.store import db


def _backend(conn: object) -> int:
    return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())  # type: ignore[attr-defined]


def test_a_healthy_pooled_connection_is_checked_out_without_a_statement(pg_cluster) -> None:  # type: ignore[no-untyped-def]
    url = pg_cluster.new_database()
    engine, watcher = db.make_engine(url, pool_size=1), db.make_engine(url)
    try:
        with engine.connect() as conn:  # autocommit: no ROLLBACK at the checkin either
            conn.execution_options(isolation_level="AUTOCOMMIT")
            pid = _backend(conn)
            conn.exec_driver_sql("SELECT 'the last statement before the checkout'")
        with engine.connect() as conn:  # the same pooled connection, pinged at checkout
            with watcher.connect() as other:
                last = other.execute(text("SELECT query FROM pg_stat_activity WHERE pid = :p"),
                                     {"p": pid}).scalar_one()
            assert last == "SELECT 'the last statement before the checkout'"
            assert _backend(conn) == pid
    finally:
        engine.dispose()
        watcher.dispose()


def test_a_terminated_backend_is_replaced_at_checkout(pg_cluster) -> None:  # type: ignore[no-untyped-def]
    url = pg_cluster.new_database()
    engine, killer = db.make_engine(url, pool_size=1), db.make_engine(url)
    try:
        with engine.connect() as conn:
            pid = _backend(conn)
        with killer.connect() as other:
            assert other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
            deadline = time.monotonic() + 10
            while other.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"),
                                {"p": pid}).scalar_one():
                assert time.monotonic() < deadline, "the backend did not end"
                time.sleep(0.02)
        with engine.connect() as conn:  # no error: the ping found it dead and reconnected
            assert _backend(conn) != pid
            assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1
    finally:
        engine.dispose()
        killer.dispose()


def _tcp(conn: Any) -> dict[str, int]:
    """The socket options the kernel holds for the connection's socket."""
    fd = conn.connection.driver_connection.pgconn.socket
    with socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM) as sock:  # a duplicate fd
        return {"keepalive": sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                **{name: sock.getsockopt(socket.IPPROTO_TCP, option) for name, option in (
                    ("idle", socket.TCP_KEEPIDLE), ("interval", socket.TCP_KEEPINTVL),
                    ("count", socket.TCP_KEEPCNT), ("user_timeout", socket.TCP_USER_TIMEOUT))}}


def test_a_silent_host_is_given_up_on_by_keepalives_unless_the_url_says(pg_cluster) -> None:  # type: ignore[no-untyped-def]
    url = pg_cluster.new_database()
    assert "@127.0.0.1:" in url or "@localhost:" in url  # TCP: the options apply
    engine, tuned = db.make_engine(url), db.make_engine(f"{url}?keepalives_idle=120")
    try:
        with engine.connect() as conn:
            assert _tcp(conn) == {"keepalive": 1, "idle": 30, "interval": 10, "count": 3,
                                  "user_timeout": 30_000}
        with tuned.connect() as conn:  # the URL's setting wins, the others stay
            assert _tcp(conn) == {"keepalive": 1, "idle": 120, "interval": 10, "count": 3,
                                  "user_timeout": 30_000}
    finally:
        engine.dispose()
        tuned.dispose()
