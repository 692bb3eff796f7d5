"""`baton demo`'s setup: on a new database, a simulation ledger whose story (workflow's
demo_seed) starts a few hours ago, so there is something to look at; the demo actors'
tokens, kept in an owner-only file beside the database so that a restart prints the same
working tokens instead of revoking them."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import click

from api.container import ACCOUNTS, Baton
from audit.store import actors, db, policies
from workflow import admin_handlers, demo_seed
from workflow.model import Actor

Demo = list[tuple[str, list[str], str | None]]
# How long before the demo starts its ledger begins (the policy, the actors), an hour
# before the story's first escalation.
STORY_START = timedelta(hours=6)


def tokens_path(baton: Baton) -> Path:
    """Where the demo tokens are kept: beside the SQLite file (`baton.db` ->
    `baton.db.demo-tokens`), else beside the signing key (`baton-demo-tokens`)."""
    database = baton.engine.url.database
    if db.is_sqlite(baton.engine) and database not in (None, "", ":memory:"):
        beside = Path(str(database))
        return beside.with_name(beside.name + ".demo-tokens").absolute()
    return Path(baton.settings["BATON_SIGNING_KEY"]).with_name("baton-demo-tokens").absolute()


def _kept(path: Path) -> dict[str, str]:
    """The tokens kept by an earlier start ({} when none or unreadable)."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in found.items() if isinstance(k, str) and isinstance(v, str)} \
        if isinstance(found, dict) else {}


def _keep(path: Path, tokens: dict[str, str]) -> None:
    """Write the tokens, readable by their owner only (0600 from the first byte)."""
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        os.fchmod(fh.fileno(), 0o600)
        json.dump(tokens, fh, indent=1, sort_keys=True)
        fh.write("\n")
    os.replace(partial, path)


def tokens(baton: Baton, demo: Demo, now: datetime) -> tuple[dict[str, str], Path, int]:
    """Each demo actor's token: the kept one while it still works, else a new one (the
    actor is created, or given a new token); the file, and how many were new."""
    path = tokens_path(baton)
    kept = _kept(path)
    with baton.engine.connect() as conn:
        working = {h: t for h, t in kept.items()
                   if (found := actors.by_token(conn, t)) is not None and found.handle == h}
    missing = [actor for actor in demo if actor[0] not in working]
    if missing:
        made = admin_handlers.add_actors(uow=baton.uow, accounts=ACCOUNTS, actors=missing,
                                         now=now)
        working.update({h: t for (h, _, _), t in zip(missing, made, strict=True)})
    result = {h: working[h] for h, _, _ in demo}
    if result != kept:
        _keep(path, result)
    return result, path, len(missing)


def is_new(baton: Baton) -> bool:
    """True when no policy is in force yet: the demo may make it a simulation and seed it."""
    db.create_schema(baton.engine)
    with baton.engine.connect() as conn:
        return policies.active(conn) is None


def prepare(baton: Baton, demo: Demo,
            initialise: Callable[[datetime, bool], None]) -> tuple[dict[str, str], Path]:
    """Initialise (a new database: as a simulation, its ledger starting hours ago),
    keep or issue the tokens, seed the story once; say what was done on stderr."""
    new = is_new(baton)
    now = baton.now().replace(microsecond=0)
    initialise(now - STORY_START if new else now, new)
    made, path, fresh = tokens(baton, demo, now - STORY_START if new else now)
    click.echo(f"{len(made) - fresh} demo tokens kept, {fresh} issued", err=True)
    if new:
        who = {h: Actor(h, tuple(r), t) for h, r, t in demo}
        seeded = demo_seed.seed(uow=baton.uow, actors=who, now=now)
        click.echo(f"seeded {len(seeded.escalations)} escalations (the last five hours, "
                   f"{seeded.breaches} breach); this database is a simulation", err=True)
    return made, path
