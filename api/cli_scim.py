"""`baton scim token|tokens|revoke`: the bearer tokens SCIM clients (an identity
provider) present at /scim/v2; each issue and revocation is on the ledger."""

from __future__ import annotations

import json

import click

from api.cli_context import info, operator, with_baton
from api.container import ACCOUNTS, Baton
from audit.store import actors
from audit.store.private_files import open_private
from workflow import access_scim


@click.group("scim")
def scim_group() -> None:
    """SCIM 2.0 provisioning (/scim/v2): its clients' tokens."""


@scim_group.command("token")
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False),
              help="Write the token to this file, readable by its owner only "
                   "(default: stdout, alone)")
@click.option("--as", "by", default="system", help="Who issues it (recorded)")
@with_baton
def scim_token(baton: Baton, out: str | None, by: str) -> None:
    """Issue a SCIM client token; shown this once (store it in the identity provider)."""
    token = access_scim.issue_token(uow=baton.uow, tokens=ACCOUNTS, actor=operator(by),
                                    now=baton.now())
    if out is None:
        click.echo(token)
        return
    with open_private(out) as fh:
        fh.write(token + "\n")
    info(f"SCIM token written to {out} (owner-only)")


@scim_group.command("tokens")
@with_baton
def scim_tokens(baton: Baton) -> None:
    """Every SCIM token by its hash's prefix (never the token), one JSON object a line."""
    with baton.engine.connect() as conn:
        for item in actors.scim_tokens_listing(conn):
            click.echo(json.dumps(item, sort_keys=True))


@scim_group.command("revoke")
@click.argument("prefix")
@click.option("--as", "by", default="system", help="Who revokes it (recorded)")
@with_baton
def scim_revoke(baton: Baton, prefix: str, by: str) -> None:
    """Revoke a SCIM token by its hash's prefix (from `baton scim tokens`)."""
    access_scim.revoke_token(uow=baton.uow, tokens=ACCOUNTS, actor=operator(by),
                             prefix=prefix, now=baton.now())
    info(f"revoked SCIM token {prefix}")
