"""`baton sessions list|end`: the dashboard's sessions, and ending one (or all of an
actor's) as an administrator, on the ledger."""

from __future__ import annotations

import json

import click

from api.cli_context import fail, info, operator, with_baton
from api.container import Baton
from api.ui.session import limits
from audit.store import sessions
from audit.store.sessions import SqlSessions
from workflow import dashboard_sessions


@click.group("sessions")
def sessions_group() -> None:
    """The dashboard's sessions: list them, end one or all of an actor's."""


@sessions_group.command("list")
@click.option("--actor", default=None, help="Only this actor's sessions")
@click.option("--all", "everything", is_flag=True, help="Ended sessions too")
@with_baton
def sessions_list(baton: Baton, actor: str | None, everything: bool) -> None:
    """One JSON object a line: session (hash prefix), actor, token (hash prefix), times,
    and its state: running, or why it ended (signed-out, idle, expired, token-revoked,
    ended-by-admin)."""
    now, bounds = baton.now(), limits(baton.settings)
    with baton.engine.connect() as conn:
        for item in sessions.listing(conn, actor):
            stored = sessions.lookup(conn, item.pop("id_hash"))
            why = dashboard_sessions.ended_why(stored, now, bounds)
            if why is None or everything:
                click.echo(json.dumps({**item, "state": why or "running"}, sort_keys=True))


@sessions_group.command("end")
@click.argument("session", required=False)
@click.option("--actor", default=None, help="End every running session of this actor")
@click.option("--as", "handle", default="system", help="Who ends it (recorded)")
@with_baton
def sessions_end(baton: Baton, session: str | None, actor: str | None, handle: str) -> None:
    """End a session by the hash prefix `list` shows, or every session of --actor."""
    if (session is None) == (actor is None):
        fail("name a SESSION (its prefix from `baton sessions list`) or --actor, not both")
    with baton.engine.connect() as conn:
        if session is not None:
            if len(session) < 8 or not all(c in "0123456789abcdef" for c in session):
                fail("a session is named by at least 8 hex digits of its hash")
            hashes = sessions.by_prefix(conn, session)
            if len(hashes) != 1:
                fail(f"no session {session!r}" if not hashes
                     else f"{session!r} names more than one session: give more digits")
        else:
            hashes = [i["id_hash"] for i in sessions.listing(conn, actor)
                      if i["ended_at"] is None]
        policy = baton.policy(conn)
    ended = 0
    for id_hash in hashes:
        uow = baton.uow()
        ended += dashboard_sessions.end_by_admin(
            uow=uow, store=SqlSessions(uow), actor=operator(handle), id_hash=id_hash,
            policy=policy, now=baton.now())
    info(f"ended {ended} session{'s' if ended != 1 else ''}")
