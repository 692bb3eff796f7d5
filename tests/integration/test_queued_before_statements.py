"""A unit of work's queued fast-path writes are sent before any SQLAlchemy statement on its
connection (on PostgreSQL from the dialect's execute steps; on SQLite they ran already),
so that statement sees them; and no connection-level event listener is left on the
engine, which would make SQLAlchemy consult its dispatch at every statement."""

from __future__ import annotations

from sqlalchemy import text

from audit.store import db, fast_path
from audit.store.uow import SqlUnitOfWork


def test_an_sqlalchemy_statement_sees_the_writes_queued_before_it(database_url: str) -> None:
    engine = db.make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE queued (x INTEGER NOT NULL)"))
        with SqlUnitOfWork(engine) as uow:
            fast_path.write(uow.conn, "INSERT INTO queued (x) VALUES (:x)", {"x": 1})
            fast_path.write_many(uow.conn, "INSERT INTO queued (x) VALUES (:x)",
                                 [{"x": 2}, {"x": 3}])
            assert uow.conn.execute(text("SELECT sum(x) FROM queued")).scalar() == 6
            uow.conn.execute(text("DELETE FROM queued WHERE x = 1"))
            fast_path.write(uow.conn, "INSERT INTO queued (x) VALUES (:x)", {"x": 4})
            assert uow.conn.exec_driver_sql("SELECT count(*) FROM queued").scalar() == 3
            uow.rollback()
        assert not engine._has_events  # noqa: SLF001 - the dispatch SQLAlchemy consults
    finally:
        engine.dispose()
