"""The `baton` command line: set up, run, administer and audit Baton."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from api.baton import Baton
from api.config import settings
from audit import actors, db, erasure, note, policies
from audit.errors import AuditError
from audit.export import verify_db, write_bundle
from audit.replaycheck import differences
from audit.verify import print_report, verify_bundle
from workflow import policy as policy_module
from workflow.errors import WorkflowError
from workflow.lifecycle import lifecycle

DEMO = [("alice", ["agent"], "frontline"), ("andy", ["agent"], "frontline"),
        ("bob", ["specialist"], "specialists"), ("fiona", ["finance"], "finance"),
        ("sam", ["supervisor"], "supervisors"), ("sue", ["supervisor"], "supervisors"),
        ("lee", ["legal"], "legal"), ("maria", ["manager"], "management"),
        ("erin", ["executive"], "management"), ("fay", ["facilitator"], None),
        ("lia", ["liaison"], None), ("aud", ["auditor"], None), ("root", ["admin"], None)]


def fail(message: str, code: int = 1) -> None:
    """One line on stderr and a non-zero exit: never a traceback."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def info(message: str) -> None:
    """A message for people: stderr, so stdout stays clean for pipes."""
    click.echo(message, err=True)


def parse_now(value: str | None) -> datetime:
    """--now RFC3339, or the wall clock."""
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise click.BadParameter("give a time zone, e.g. 2026-03-02T09:00:00Z")
    return moment


def with_baton(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add --database-url and --signing-key, build the Baton, and turn errors into
    one-line messages."""

    @click.option("--database-url", envvar="BATON_DATABASE_URL", default=None,
                  help="SQLAlchemy URL (default: BATON_DATABASE_URL or sqlite:///baton.db)")
    @click.option("--signing-key", envvar="BATON_SIGNING_KEY", default=None,
                  help="Ed25519 private key file for checkpoints")
    @functools.wraps(func)
    def wrapper(*args: Any, database_url: str | None, signing_key: str | None,
                **kwargs: Any) -> Any:
        try:
            baton = Baton(settings({"BATON_DATABASE_URL": database_url,
                                    "BATON_SIGNING_KEY": signing_key}))
            return func(baton, *args, **kwargs)
        except (WorkflowError, AuditError, ValueError, OSError) as exc:
            fail(str(exc))
        except SQLAlchemyError as exc:
            fail(f"database: {str(exc.orig) if hasattr(exc, 'orig') else exc}".splitlines()[0])

    return wrapper


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


def _initialise(baton: Baton, policy_file: str | None) -> None:
    db.create_schema(baton.engine)
    if baton.ensure_key():
        info(f"created signing key {baton.settings['BATON_SIGNING_KEY']}")
    text, source = (Path(policy_file).read_text(encoding="utf-8"), policy_file) \
        if policy_file else (policy_module.default_text(), "default policy")
    with baton.uow() as uow:
        current = policies.active(uow.conn)
        if current is None or policy_file:
            applied, seq = policies.apply(uow, text, actor="system", role="system",
                                          now=baton.now(), source=source)
            if seq is not None:
                info(f"applied policy {applied.name} version {applied.version[:12]} (seq {seq})")
        if uow.head().checkpoint_size == 0:
            uow.checkpoint(baton.now(), force=True)
        uow.commit()
    info(f"public key: {baton.vkey}")


@main.command()
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False),
              help="Policy TOML to apply (default: the shipped policy, on first run)")
@with_baton
def init(baton: Baton, policy_file: str | None) -> None:
    """Create the schema, load a policy and the signing key; safe to run twice."""
    _initialise(baton, policy_file)
    info("initialised")


@main.group("db")
def db_group() -> None:
    """Schema migrations."""


@db_group.command("upgrade")
@with_baton
def db_upgrade(baton: Baton) -> None:
    """Upgrade an existing database to the newest schema (Alembic)."""
    from audit import migrate

    before = migrate.current(baton.engine)
    migrate.upgrade(baton.engine)
    info(f"schema {before or 'empty'} -> {migrate.current(baton.engine)}")


@main.group("actors")
def actors_group() -> None:
    """Create, list and revoke actors and their API tokens."""


@actors_group.command("add")
@click.argument("handle")
@click.option("--role", "roles", multiple=True, required=True, help="A role of the policy")
@click.option("--team", default=None, help="The actor's team")
@click.option("--rotate", is_flag=True, help="Issue a new token to an existing actor")
@with_baton
def actors_add(baton: Baton, handle: str, roles: tuple[str, ...], team: str | None,
               rotate: bool) -> None:
    """Create an actor; prints its new API token, alone, on stdout."""
    with baton.uow() as uow:
        current = baton.policy(uow.conn)
        unknown = [r for r in roles if r not in current.roles]
        if unknown:
            fail(f"unknown role {unknown[0]!r}; known: {', '.join(current.roles)}")
        if team is not None and team not in current.teams:
            fail(f"unknown team {team!r}; known: {', '.join(current.teams)}")
        token = actors.add(uow.conn, handle, list(roles), team, baton.now(), rotate=rotate)
        uow.commit()
    info(f"actor {handle} ({', '.join(roles)}) created; token follows on stdout")
    click.echo(token)


@actors_group.command("revoke")
@click.argument("handle")
@with_baton
def actors_revoke(baton: Baton, handle: str) -> None:
    """Revoke an actor's token."""
    with baton.uow() as uow:
        actors.revoke(uow.conn, handle, baton.now())
        uow.commit()
    info(f"revoked {handle}")


@actors_group.command("list")
@with_baton
def actors_list(baton: Baton) -> None:
    """List actors (never their tokens)."""
    with baton.engine.connect() as conn:
        for a in actors.listing(conn):
            state = "revoked" if a["revoked_at"] else "active"
            click.echo(f"{a['handle']}\t{','.join(a['roles'])}\t{a['team'] or '-'}\t{state}")


def _serve(baton: Baton, host: str, port: int, workers: int) -> None:
    from gunicorn.app.base import BaseApplication

    from api import create_app

    options = {"bind": f"{host}:{port}", "workers": workers, "worker_class": "sync",
               "keepalive": 5, "accesslog": "-", "timeout": 60}
    overrides = {"BATON_DATABASE_URL": baton.settings["BATON_DATABASE_URL"],
                 "BATON_SIGNING_KEY": baton.settings["BATON_SIGNING_KEY"]}

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return create_app(overrides)

    Server().run()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@with_baton
def serve(baton: Baton, host: str, port: int, workers: int) -> None:
    """Run the HTTP API under gunicorn."""
    baton.policy()
    _serve(baton, host, port, workers)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--no-serve", is_flag=True, help="Set up and print tokens, but do not serve")
@with_baton
def demo(baton: Baton, host: str, port: int, workers: int, no_serve: bool) -> None:
    """Initialise, create the demo actors (printing fresh tokens) and serve."""
    _initialise(baton, None)
    with baton.uow() as uow:
        tokens = [(h, r, t, actors.add(uow.conn, h, r, t, baton.now(), rotate=True))
                  for h, r, t in DEMO]
        uow.commit()
    click.echo("Demo actors (export one, e.g. export TOKEN=...):")
    for handle, roles, team, token in tokens:
        click.echo(f"  {handle:6} {','.join(roles):12} {team or '-':12} {token}")
    click.echo(f"API: http://{host}:{port}/api/v1  docs: http://{host}:{port}/api/v1/docs")
    if not no_serve:
        _serve(baton, host, port, workers)


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
    info(f"# version {current.version}")
    click.echo(found[1], nl=False)


@policy_group.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
def policy_check(file: str) -> None:
    """Validate a policy file without applying it."""
    try:
        checked = policy_module.load(file)
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
    with baton.uow() as uow:
        applied, seq = policies.apply(uow, text, actor=handle, role="admin",
                                      now=baton.now(), source=file)
        uow.commit()
    if seq is None:
        click.echo(f"unchanged: version {applied.version}")
    else:
        click.echo(f"applied version {applied.version} (ledger seq {seq})")


@main.group("audit")
def audit_group() -> None:
    """Export, verify, checkpoint and replay the ledger."""


@audit_group.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="-",
              help="Bundle file (default: stdout)")
@with_baton
def audit_export(baton: Baton, output: str) -> None:
    """Write a JSON Lines bundle: events, content, checkpoints and the public key.
    A checkpoint of the whole log is signed first, so every event is under a signature."""
    with baton.uow() as uow:
        if uow.head().size > uow.head().checkpoint_size:
            uow.checkpoint(baton.now(), force=True)
        uow.commit()
    with baton.engine.connect() as conn:
        if output == "-":
            count = write_bundle(conn, sys.stdout, baton.origin, baton.vkey, baton.now())
        else:
            with open(output, "w", encoding="utf-8") as fh:
                count = write_bundle(conn, fh, baton.origin, baton.vkey, baton.now())
    info(f"exported {count} events")


@audit_group.command("verify")
@click.argument("bundle", required=False, type=click.Path(dir_okay=False))
@click.option("--db", "live", is_flag=True, help="Verify the live database instead")
@click.option("--public-key", type=click.Path(dir_okay=False),
              help="Verifier key file you trust (default: the bundle's own / the configured)")
@click.option("--trusted-checkpoint", multiple=True, type=click.Path(dir_okay=False),
              help="A checkpoint note you held earlier (repeatable)")
@with_baton
def audit_verify(baton: Baton, bundle: str | None, live: bool, public_key: str | None,
                 trusted_checkpoint: tuple[str, ...]) -> None:
    """Check signatures, sequence, leaves, chain, roots, held checkpoints and content."""
    vkey = note.read_verifier_key(public_key) if public_key else None
    held = [Path(p).read_text(encoding="utf-8") for p in trusted_checkpoint]
    if live == (bundle is not None):
        fail("give a BUNDLE or --db", 2)
    if live:
        with baton.engine.connect() as conn:
            report = verify_db(conn, vkey or baton.vkey, baton.origin, held,
                               progress=sys.stderr)
    else:
        assert bundle is not None
        with open(bundle, encoding="utf-8") as fh:
            report = verify_bundle(fh, vkey, held, progress=sys.stderr)
    sys.exit(print_report(report))


@audit_group.command("checkpoint")
@with_baton
def audit_checkpoint(baton: Baton) -> None:
    """Sign a checkpoint of the log now and print it."""
    with baton.uow() as uow:
        text = uow.checkpoint(baton.now(), force=True)
        uow.commit()
    if text is None:
        fail("no signing key: run `baton init`")
    click.echo(text, nl=False)


@audit_group.command("public-key")
@with_baton
def audit_public_key(baton: Baton) -> None:
    """Print the checkpoint verifier key (save it for `audit verify --public-key`)."""
    click.echo(baton.vkey)


@audit_group.command("replay")
@click.option("--check", is_flag=True, required=True,
              help="Rebuild every projection from the ledger and compare")
@with_baton
def audit_replay(baton: Baton, check: bool) -> None:
    """Report every escalation whose stored state differs from its replayed events."""
    with baton.engine.connect() as conn:
        found = list(differences(conn))
    for line in found:
        click.echo(line)
    if found:
        fail(f"{len(found)} escalation(s) differ from their replay")
    click.echo("OK: every stored state equals the replay of its events")


@main.group("content")
def content_group() -> None:
    """Erase personal content (the record of who did what stays)."""


@content_group.command("erase")
@click.option("--customer", required=True, help="The customer id given at opening")
@click.option("--as", "handle", default="system", help="Who erases (recorded)")
@with_baton
def content_erase(baton: Baton, customer: str, handle: str) -> None:
    """Erase the content of every escalation of a customer (legal holds are kept)."""
    with baton.uow() as uow:
        done = erasure.erase_customer(uow, customer, actor=handle, role="admin",
                                      now=baton.now(), policy=baton.policy(uow.conn))
        uow.commit()
    click.echo(json.dumps({"customer_id": customer, "events": done.events,
                           "fields": done.fields, "held": done.held}))


@content_group.command("sweep")
@click.option("--now", "now_text", default=None, help="RFC 3339 time (default: now)")
@with_baton
def content_sweep(baton: Baton, now_text: str | None) -> None:
    """Erase content whose category's retention period has passed (not under hold)."""
    now = parse_now(now_text)
    with baton.uow() as uow:
        done = erasure.retention_sweep(uow, actor="system", role="system", now=now,
                                       policy=baton.policy(uow.conn))
        uow.commit()
    click.echo(json.dumps({"events": done.events, "fields": done.fields, "held": done.held}))


@main.group("sla")
def sla_group() -> None:
    """SLA clocks: sweep for breaches."""


@sla_group.command("sweep")
@click.option("--now", "now_text", default=None, help="RFC 3339 time (default: now)")
@click.option("--loop", is_flag=True, help="Keep sweeping every --interval seconds")
@click.option("--interval", default=60.0, show_default=True, type=click.FloatRange(0.1))
@with_baton
def sla_sweep(baton: Baton, now_text: str | None, loop: bool, interval: float) -> None:
    """Record every breach now due, once: the breach, a temporary owner, the notice.
    Safe to run on several processes or machines at once."""
    import time

    from audit.sweeper import sweep

    while True:
        now = parse_now(now_text)
        done = sweep(baton.uow, lambda uow: baton.policy(uow.conn), now)
        click.echo(json.dumps({"at": now.isoformat(), "escalations": done.escalations,
                               "events": done.events}))
        if not loop:
            return
        time.sleep(interval)


@main.group("metrics")
def metrics_group() -> None:
    """Escalation metrics from the ledger."""


@metrics_group.command("report")
@click.option("--since", "since_text", default=None, help="RFC 3339 (inclusive)")
@click.option("--until", "until_text", default=None, help="RFC 3339 (exclusive)")
@click.option("--group-by", type=click.Choice(["team", "role", "category", "severity",
                                               "tier"]), default=None)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]),
              default="table", show_default=True)
@with_baton
def metrics_report(baton: Baton, since_text: str | None, until_text: str | None,
                   group_by: str | None, fmt: str) -> None:
    """The same figures as GET /api/v1/metrics/escalations, in the terminal."""
    import csv

    from audit import metrics

    since = parse_now(since_text) if since_text else None
    until = parse_now(until_text) if until_text else None
    with baton.engine.connect() as conn:
        data = metrics.report(conn, since, until, group_by, baton.policy(conn).max_tier)
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
        return
    rows = metrics.flat(data)
    if fmt == "csv":
        fields = list(dict.fromkeys(k for r in rows for k in r))
        writer = csv.DictWriter(sys.stdout, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    for row in rows:
        click.echo(f"== {group_by or 'all'}: {row['key']}")
        for key, value in row.items():
            if key != "key":
                shown = f"{value:.3f}" if isinstance(value, float) else value
                click.echo(f"  {key:40} {shown}")


@main.command("diagram")
@with_baton
def diagram(baton: Baton) -> None:
    """Print the lifecycle as a Mermaid state diagram (from the policy's tier count)."""
    try:
        tiers = baton.policy().max_tier
    except (AuditError, SQLAlchemyError):  # no database yet: the shipped policy
        tiers = policy_module.default().max_tier
    click.echo(lifecycle(tiers).mermaid(), nl=False)


if __name__ == "__main__":  # pragma: no cover
    main()
