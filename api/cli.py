"""The `baton` command line: set up, run, administer and audit Baton."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from api import (
    cli_access,
    cli_audit,
    cli_demo,
    cli_escalations,
    cli_scim,
    cli_sessions,
    cli_webhooks,
    cli_witness,
)
from api.cli_context import fail, info, operator, with_baton
from api.container import ACCOUNTS, Baton
from audit.store import actors, db, policies
from workflow import admin_handlers, handlers, policy_loader
from workflow.errors import WorkflowError
from workflow.model import SYSTEM

DEMO = [("alice", ["agent"], "frontline"), ("andy", ["agent"], "frontline"),
        ("bob", ["specialist"], "specialists"), ("fiona", ["finance"], "finance"),
        ("sam", ["supervisor"], "supervisors"), ("sue", ["supervisor"], "supervisors"),
        ("lee", ["legal"], "legal"), ("maria", ["manager"], "management"),
        ("erin", ["executive"], "management"), ("fay", ["facilitator"], None),
        ("lia", ["liaison"], None), ("aud", ["auditor"], None), ("root", ["admin"], None)]


def _export_env(name: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(_ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        if value is not None:
            os.environ[name] = value
        return value

    return callback


@click.group()
@click.version_option(package_name="baton")
@click.option("--database-url", default=None, expose_value=False, is_eager=True,
              callback=_export_env("BATON_DATABASE_URL"),
              help="SQLAlchemy URL for every subcommand")
@click.option("--signing-key", default=None, expose_value=False, is_eager=True,
              callback=_export_env("BATON_SIGNING_KEY"), help="Signing key file")
def main() -> None:
    """Baton: escalations that stay owned, on a tamper-evident ledger."""


def _initialise(baton: Baton, policy_file: str | None, simulation: bool = False,
                now: datetime | None = None) -> None:
    db.create_schema(baton.engine)
    if baton.ensure_key():
        info(f"created signing key {baton.settings['BATON_SIGNING_KEY']}")
    text, source = (Path(policy_file).read_text(encoding="utf-8"), policy_file) \
        if policy_file else (policy_loader.default_text(), "default policy")
    done = handlers.initialise(uow=baton.uow, bootstrap=SYSTEM, operator=operator("system"),
                               text=text, source=source, given=policy_file is not None,
                               now=now or baton.now(), simulation=simulation)
    if done.policy is not None and done.seq is not None:
        info(f"applied policy {done.policy.name} version {done.policy.version[:12]} "
             f"(seq {done.seq})")
    info(f"public key: {baton.vkey}")
    _genesis(baton)


def _genesis(baton: Baton) -> None:
    """The genesis grant of each actor added before access was recorded (once)."""
    written = admin_handlers.record_genesis(uow=baton.uow, accounts=ACCOUNTS, now=baton.now())
    if written:
        info(f"recorded the access of {written} existing actors on the ledger (genesis)")


@main.command()
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False),
              help="Policy TOML to apply (default: the shipped policy, on first run)")
@click.option("--simulation", is_flag=True,
              help="Declare this ledger a simulation: sweeps may then run at a --now "
                   "time (recorded in its first event; for rehearsals and tests)")
@with_baton
def init(baton: Baton, policy_file: str | None, simulation: bool) -> None:
    """Create the schema, load a policy and the signing key; safe to run twice."""
    _initialise(baton, policy_file, simulation)
    info("initialised")


@main.group("db")
def db_group() -> None:
    """Schema migrations."""


@db_group.command("upgrade")
@with_baton
def db_upgrade(baton: Baton) -> None:
    """Upgrade an existing database to the newest schema (Alembic)."""
    from audit.store import migrate

    before = migrate.current(baton.engine)
    migrate.upgrade(baton.engine)
    info(f"schema {before or 'empty'} -> {migrate.current(baton.engine)}")
    _genesis(baton)


@main.group("actors")
def actors_group() -> None:
    """Create, list and revoke actors and their API tokens."""


@actors_group.command("add")
@click.argument("handle")
@click.option("--role", "roles", multiple=True, required=True, help="A role of the policy")
@click.option("--team", default=None, help="The actor's team")
@click.option("--rotate", is_flag=True, help="Issue a new token to an existing actor")
@click.option("--email", default=None, help="Where Baton's notifications to the actor go")
@click.option("--as", "by", default="system", help="Who grants it (recorded)")
@with_baton
def actors_add(baton: Baton, handle: str, roles: tuple[str, ...], team: str | None,
               rotate: bool, email: str | None, by: str) -> None:
    """Grant an actor roles (on the ledger); prints its new API token, alone, on stdout."""
    added = admin_handlers.add_actor(uow=baton.uow, accounts=ACCOUNTS, handle=handle,
                                     roles=roles, team=team, email=email, now=baton.now(),
                                     rotate=rotate, actor=operator(by))
    if added.routed_without_team:
        info(f"warning: {handle} has no team, so as {' and '.join(added.routed_without_team)}"
             f" they can acknowledge nothing (escalations are routed to teams: "
             f"{', '.join(added.teams)}); add --team")
    token = added.token
    info(f"actor {handle} ({', '.join(roles)}) created; token follows on stdout")
    click.echo(token)


@actors_group.command("change")
@click.argument("handle")
@click.option("--role", "roles", multiple=True, required=True, help="A role of the policy")
@click.option("--team", default=None, help="The actor's team (omit: none)")
@click.option("--as", "by", default="system", help="Who changes it (recorded)")
@with_baton
def actors_change(baton: Baton, handle: str, roles: tuple[str, ...], team: str | None,
                  by: str) -> None:
    """Change an actor's roles and team (an access-changed event; the token stays)."""
    seq = admin_handlers.change_actor(uow=baton.uow, accounts=ACCOUNTS, actor=operator(by),
                                      handle=handle, roles=roles, team=team, now=baton.now())
    info(f"{handle}: unchanged" if seq is None else f"{handle}: changed (ledger seq {seq})")


@actors_group.command("set-email")
@click.argument("handle")
@click.argument("address")
@click.option("--as", "by", default="system", help="Who changes it (recorded)")
@with_baton
def actors_set_email(baton: Baton, handle: str, address: str, by: str) -> None:
    """Set where an actor's notifications are mailed ("-" removes the address)."""
    admin_handlers.set_actor_email(uow=baton.uow, accounts=ACCOUNTS, handle=handle,
                                   email=None if address == "-" else address,
                                   now=baton.now(), actor=operator(by))
    info(f"{handle}: email {'removed' if address == '-' else 'set'}")


@actors_group.command("revoke")
@click.argument("handle")
@click.option("--as", "by", default="system", help="Who deprovisions (recorded)")
@with_baton
def actors_revoke(baton: Baton, handle: str, by: str) -> None:
    """Deprovision an actor: token and sessions end at once, the actor stays on the
    record, and its open escalations are handed over (each on the ledger)."""
    done = admin_handlers.revoke_actor(uow=baton.uow, accounts=ACCOUNTS, handle=handle,
                                       now=baton.now(), actor=operator(by))
    for escalation_id, to, seq in done.handed:
        info(f"{escalation_id}: handed to {to} (ledger seq {seq})")
    info(f"revoked {handle} (ledger seq {done.seq})")


@actors_group.command("list")
@with_baton
def actors_list(baton: Baton) -> None:
    """List actors (never their tokens)."""
    with baton.engine.connect() as conn:
        for a in actors.listing(conn):
            state = "revoked" if a["revoked_at"] else "active"
            click.echo(f"{a['handle']}\t{','.join(a['roles'])}\t{a['team'] or '-'}\t{state}")


def default_workers() -> int:
    """Twice the CPU cores: a sync worker sits idle while its write waits on the writer lock
    or the disk flush, and a spare one keeps the core busy (bench.http measures it)."""
    return min(64, 2 * (os.cpu_count() or 1))


# Starts the worker and prints its pid: the worker is then not a child of the server
# (gunicorn's workers are its only children), yet in its process group.
_LAUNCH = "import subprocess, sys; print(subprocess.Popen(sys.argv[1:], stdout=2).pid)"
BESIDE = "BATON_WORKER_BESIDE"  # the pid of the server a worker was started beside


def _start_worker(baton: Baton) -> int:
    """`baton worker` beside the server, on the same database and settings; its pid."""
    env = {**os.environ, "BATON_DATABASE_URL": baton.settings["BATON_DATABASE_URL"],
           "BATON_SIGNING_KEY": baton.settings["BATON_SIGNING_KEY"],
           BESIDE: str(os.getpid())}  # it ends when this server is gone, however it went
    launched = subprocess.run([sys.executable, "-c", _LAUNCH, sys.executable, "-m",
                               "api.cli", "worker"], env=env, stdout=subprocess.PIPE,
                              text=True, check=True)
    return int(launched.stdout)


def _serve(baton: Baton, host: str, port: int, workers: int | None,
           no_worker: bool = False) -> None:
    from gunicorn.app.base import BaseApplication

    from api import create_app, server_limits

    workers = workers or default_workers()
    options = {"bind": f"{host}:{port}", "workers": workers, "worker_class": "sync",
               "keepalive": 5, "accesslog": "-", "timeout": 60,
               "logger_class": "api.access_log.RedactingLogger",
               **server_limits.gunicorn_options(server_limits.trust_proxy(baton.settings))}
    server_limits.answer_as_problems()
    overrides = {"BATON_DATABASE_URL": baton.settings["BATON_DATABASE_URL"],
                 "BATON_SIGNING_KEY": baton.settings["BATON_SIGNING_KEY"]}

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return create_app(overrides)

    beside = None if no_worker else _start_worker(baton)
    try:
        Server().run()
    finally:
        if beside is not None:
            try:
                os.kill(beside, signal.SIGTERM)
            except ProcessLookupError:
                pass


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", type=click.IntRange(1, 64),
              help="gunicorn sync workers  [default: twice the CPU cores]")
@click.option("--no-worker", is_flag=True, help="Do not start `baton worker` beside it")
@with_baton
def serve(baton: Baton, host: str, port: int, workers: int | None, no_worker: bool) -> None:
    """Run the HTTP API under gunicorn, and a worker (sweeps, deliveries) beside it."""
    baton.require_current_schema()
    baton.policy()
    baton.signer  # noqa: B018 - refuse to start (one line) when no checkpoint could be signed
    _serve(baton, host, port, workers, no_worker)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", type=click.IntRange(1, 64),
              help="gunicorn sync workers  [default: twice the CPU cores]")
@click.option("--no-serve", is_flag=True, help="Set up and print tokens, but do not serve")
@click.option("--no-worker", is_flag=True, help="Do not start `baton worker` beside it")
@with_baton
def demo(baton: Baton, host: str, port: int, workers: int | None, no_serve: bool,
         no_worker: bool) -> None:
    """Initialise, seed a story on a new database, print the demo actors' tokens (kept
    beside the database, so a restart prints the same ones) and serve."""
    tokens, path = cli_demo.prepare(baton, DEMO, lambda now, new: _initialise(
        baton, None, simulation=new, now=now))
    click.echo(f"Demo actors (tokens kept, owner-only, in {path}; export one, e.g. "
               "export TOKEN=...):")
    for handle, roles, team in DEMO:
        click.echo(f"  {handle:6} {','.join(roles):12} {team or '-':12} {tokens[handle]}")
    click.echo(f"API: http://{host}:{port}/api/v1  docs: http://{host}:{port}/api/v1/docs")
    click.echo(f"Dashboard: http://{host}:{port}/ui/  (sign in with a token above)")
    if not no_serve:
        # Feedback links and notifications lead where this demo answers (unless set).
        where = f"[{host}]" if ":" in host else host
        os.environ.setdefault("BATON_PUBLIC_URL", f"http://{where}:{port}")
        _serve(baton, host, port, workers, no_worker)


@main.group("policy")
def policy_group() -> None:
    """Show, check and apply the escalation policy."""


@policy_group.command("show")
@with_baton
def policy_show(baton: Baton) -> None:
    """Print the policy in force (TOML) and its version."""
    current = baton.policy()
    with baton.engine.connect() as conn:
        found = policies.by_version(conn, current.version)
    assert found is not None
    click.echo(f"# version {current.version}")
    click.echo(found[1], nl=False)


@policy_group.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
def policy_check(file: str) -> None:
    """Validate a policy file without applying it."""
    try:
        checked = policy_loader.load(file)
    except WorkflowError as exc:
        fail(str(exc))
    click.echo(f"{file}: valid; version {checked.version}")


@policy_group.command("apply")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--as", "handle", default="system", help="Who applies it (recorded)")
@with_baton
def policy_apply(baton: Baton, file: str, handle: str) -> None:
    """Apply a policy file: an audited event; unchanged content writes nothing."""
    text = Path(file).read_text(encoding="utf-8")
    applied, seq = handlers.apply_policy(uow=baton.uow, actor=operator(handle), text=text,
                                         now=baton.now(), source=file)
    if seq is None:
        click.echo(f"unchanged: version {applied.version}")
    else:
        click.echo(f"applied version {applied.version} (ledger seq {seq})")


for _command in (cli_audit.audit_group, cli_audit.content_group, cli_audit.sla_group,
                 cli_audit.metrics_group, cli_audit.diagram, cli_webhooks.webhooks_group,
                 cli_webhooks.notifications_group, cli_webhooks.worker,
                 cli_witness.witness_group, cli_escalations.escalations_group,
                 cli_sessions.sessions_group, cli_access.access_group, cli_scim.scim_group):
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    main()
