"""`baton access report`: who held which role and team at an instant, since when,
granted by whom, through which path, folded from the ledger's access events."""

from __future__ import annotations

import csv
import io
import json

import click

from api.cli_context import fail, parse_now, with_baton
from api.container import Baton
from audit.reads import access
from audit.verifier.access_report import COLUMNS, table


@click.group("access")
def access_group() -> None:
    """Access reviews from the ledger."""


@access_group.command("report")
@click.option("--at", "at", default=None, help="The instant, RFC 3339 (default: now)")
@click.option("--format", "shape", type=click.Choice(["table", "csv", "json"]),
              default="table", show_default=True)
@with_baton
def access_report(baton: Baton, at: str | None, shape: str) -> None:
    """Who held which role and team at --at: since when, granted by whom, by which rule,
    through which path (cli, scim, sso, genesis)."""
    moment = parse_now(at) if at is not None else None
    with baton.engine.connect() as conn:
        found = access.report(conn, moment)
    if shape == "json":
        click.echo(json.dumps(found, sort_keys=True, indent=2))
    elif shape == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore",
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(found["items"])
        click.echo(out.getvalue(), nl=False)
    else:
        click.echo(table(found["items"]))
    if found["problems"]:
        fail(f"{len(found['problems'])} access events contradict the history before "
             f"them; the first: {found['problems'][0]}")
