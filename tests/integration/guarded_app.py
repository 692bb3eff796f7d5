"""An initialised app (schema, key, default policy, demo actors) on any database URL, for
the tests of what requests may carry; and what a request may have written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import text

from api import create_app
from api.cli import DEMO
from audit.store import actors, db
from tests.initialised_app import Client
from workflow import policy_change, policy_loader
from workflow.model import Actor

TABLES = ("ledger", "content", "idempotency")


def make(database_url: str, tmp_path: Path, **config: Any) -> Client:
    """The app on that database, with a token per demo actor."""
    app = create_app({"BATON_DATABASE_URL": database_url,
                      "BATON_SIGNING_KEY": str(tmp_path / "signing.key"),
                      "BATON_CHECKPOINT_EVERY": 10, **config})
    baton = app.extensions["baton"]
    db.create_schema(baton.engine)
    baton.ensure_key()
    with baton.uow() as uow:
        policy_change.apply_policy(uow=uow, actor=Actor("root", ("admin",)),
                                   text=policy_loader.default_text(), now=baton.now())
        tokens = {handle: actors.add(uow.conn, handle, roles, team, baton.now())
                  for handle, roles, team in DEMO}
        uow.commit()
    return Client(app, tokens)


def written(c: Client) -> tuple[int, ...]:
    """Rows in the ledger, the content table and the idempotency table."""
    with c.app.extensions["baton"].engine.connect() as conn:
        return tuple(int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
                     for t in TABLES)


def signed_in(c: Client, who: str) -> str:
    """Sign the test client in to the dashboard as `who`; this session's CSRF token."""
    page = c.http.get("/ui/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf, page
    r = c.http.post("/ui/login", data={"token": c.tokens[who], "csrf_token": csrf[1]})
    assert r.status_code == 303, r.get_data(as_text=True)
    page = c.http.get("/ui/").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found[1]
