"""`baton access report`: who held which role and team at an instant, since when,
granted by whom, through which path, folded from the ledger's access events."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import click

from api.cli_context import fail, operator, parse_now, with_baton
from api.container import READ_RECORDS, Baton
from audit.log import ledger
from audit.reads import access, audit_events
from audit.verifier.access_report import COLUMNS, table
from workflow import audit_reads
from workflow.audit_reads import CLI, Read


def record_read(baton: Baton, handle: str, read: Read) -> int:
    """Record a command's read of the audit log as an audit-read by `handle` (in the
    operator's role), in a write transaction of its own; its seq."""
    return audit_reads.record_read(uow=baton.uow, records=READ_RECORDS,
                                   actor=operator(handle), read=read, now=baton.now())


@click.group("access")
def access_group() -> None:
    """Access reviews from the ledger."""


@access_group.command("report")
@click.option("--at", "at", default=None, help="The instant, RFC 3339 (default: now)")
@click.option("--format", "shape", type=click.Choice(["table", "csv", "json"]),
              default="table", show_default=True)
@click.option("--reads", is_flag=True,
              help="List who read the audit log instead (its audit-read events up to --at)")
@click.option("--as", "handle", default="system", show_default=True,
              help="Who asks (the review is itself recorded as an audit-read)")
@with_baton
def access_report(baton: Baton, at: str | None, shape: str, reads: bool,
                  handle: str) -> None:
    """Who held which role and team at --at: since when, granted by whom, by which rule,
    through which path (cli, scim, sso, genesis); with --reads, who read the audit log."""
    moment = parse_now(at) if at is not None else None
    with baton.engine.connect() as conn:
        size = ledger.read_head(conn, lock=False).size
        found = access.report(conn, moment)
        if reads:
            found = {"at": found["at"], "items": audit_events.reads(conn, moment, size),
                     "problems": []}
    record_read(baton, handle, Read("access-report", size, path=CLI, query={
        "at": found["at"], "reads": reads or None}))
    _show(found, shape, audit_events.READ_COLUMNS if reads else COLUMNS)


def _show(found: dict[str, Any], shape: str, columns: tuple[str, ...]) -> None:
    if shape == "json":
        click.echo(json.dumps(found, sort_keys=True, indent=2))
    elif shape == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore",
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(found["items"])
        click.echo(out.getvalue(), nl=False)
    else:
        click.echo(table(found["items"]) if columns == COLUMNS
                   else _aligned(found["items"], columns))
    if found["problems"]:
        fail(f"{len(found['problems'])} access events contradict the history before "
             f"them; the first: {found['problems'][0]}")


def _aligned(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    """Rows as an aligned text table of `columns` ("-" for nothing)."""
    shown = [[str(r[c]) if r.get(c) is not None else "-" for c in columns] for r in rows]
    widths = [max(len(x) for x in col) for col in zip(columns, *shown, strict=False)]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip()
                     for line in [list(columns), *shown])
