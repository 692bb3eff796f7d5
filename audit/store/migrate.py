"""Schema migrations (Alembic), run programmatically on an engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

LOCATION = str(Path(__file__).resolve().parent / "migrations")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", LOCATION)
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database to `revision` (creating the schema on an empty one)."""
    config = _config()
    with engine.connect().execution_options(baton_write=True) as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        conn.commit()


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database back to `revision` (for rolling back a deployment)."""
    config = _config()
    with engine.connect().execution_options(baton_write=True) as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
        conn.commit()


def current(engine: Engine) -> str | None:
    """The database's revision, or None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str | None:
    """The newest revision this code knows."""
    return ScriptDirectory.from_config(_config()).get_current_head()
