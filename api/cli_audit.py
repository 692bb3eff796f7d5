"""`baton audit|content|sla|metrics|diagram`: the ledger, erasure, SLA sweeps, figures."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import click

from api.cli_access import record_read
from api.cli_context import (
    fail,
    info,
    operator,
    parse_bound,
    sweep_time,
    with_baton,
)
from api.container import Baton
from api.witnessing import Witnessing
from audit.errors import AuditError
from audit.log import (
    cosignatures,
    fresh_checkpoint,
    ledger,
    proof,
    signed_note,
    tiles,
    witness_policy,
)
from audit.reads.export import verify_db, write_binary_bundle, write_bundle
from audit.reads.replaycheck import differences
from audit.store import private_files
from audit.store.failures import STORE_ERRORS
from audit.verifier import verify_parallel
from audit.verifier.verify import print_report, verify_path
from workflow import handlers, policy_loader
from workflow import sla_sweep as sla_sweep_use_case
from workflow.audit_reads import CLI, Read
from workflow.lifecycle import lifecycle

# What `baton diagram` takes for "no database yet" (it then draws the shipped policy's).
NO_DATABASE_YET: tuple[type[Exception], ...] = (AuditError, *STORE_ERRORS)


@click.group("audit")
def audit_group() -> None:
    """Export, verify, checkpoint and replay the ledger."""


@audit_group.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="-",
              help="Bundle file (default: stdout)")
@click.option("--binary", is_flag=True,
              help="The ledger's structure only (no content), in the binary format "
                   "python -m audit.verifier reads at hashing speed; needs -o FILE")
@click.option("--as", "handle", default="system", show_default=True,
              help="Who exports (recorded as an audit-read)")
@with_baton
def audit_export(baton: Baton, output: str, binary: bool, handle: str) -> None:
    """Write a JSON Lines bundle: events, content, checkpoints (with the witnesses'
    cosignatures) and the public key. A checkpoint of the whole log is signed first, so
    every event is under a signature; under BATON_WITNESS_POLICY it is sent to the
    witnesses at once, so that the bundle's newest checkpoint can carry their quorum."""
    if binary and output == "-":
        fail("--binary writes a file: give -o FILE", 2)
    fresh_checkpoint.covering(baton.engine, lambda: baton.signer, baton.now)
    path = baton.settings["BATON_WITNESS_POLICY"]
    if path:
        _ask_witnesses(baton, witness_policy.load(path))
    with baton.engine.connect() as conn:
        size = ledger.read_head(conn, lock=False).size
    record_read(baton, handle, Read.whole("export", size, path=CLI, query={
        "format": "binary" if binary else "jsonl"}))  # its record is after the export's end
    with baton.engine.connect() as conn:
        now = baton.now()
        if output == "-":
            count = write_bundle(conn, sys.stdout, baton.origin, baton.vkey, now, size)
        elif binary:
            with private_files.open_private_binary(output) as fh:
                count = write_binary_bundle(conn, fh, baton.origin, baton.vkey, now, size)
        else:
            with private_files.open_private(output) as fh:  # it holds personal text: 0600
                count = write_bundle(conn, fh, baton.origin, baton.vkey, now, size)
    info(f"exported {count} events")


@audit_group.command("verify")
@click.argument("bundle", required=False, type=click.Path(dir_okay=False))
@click.option("--db", "live", is_flag=True, help="Verify the live database instead")
@click.option("--public-key", type=click.Path(dir_okay=False),
              help="Verifier key file you trust (default: the bundle's own / the configured)")
@click.option("--trusted-checkpoint", multiple=True, type=click.Path(dir_okay=False),
              help="A checkpoint note you held earlier (repeatable)")
@click.option("--witness-policy", "witness_policy_file", type=click.Path(dir_okay=False),
              help="Witness policy file (c2sp.org/tlog-policy): the bundle's newest "
                   "checkpoint must meet its quorum")
@click.option("--structural", is_flag=True,
              help="Check the ledger's structure only (not content or repeated fields)")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Processes for a large bundle (default: the cores here)")
@with_baton
def audit_verify(baton: Baton, bundle: str | None, live: bool, public_key: str | None,
                 trusted_checkpoint: tuple[str, ...], witness_policy_file: str | None,
                 structural: bool, jobs: int | None) -> None:
    """Check signatures, sequence, leaves, chain, roots, held checkpoints, content and
    (with --witness-policy) the witnesses' quorum."""
    vkey = signed_note.read_verifier_key(public_key) if public_key else None
    held = [Path(p).read_text(encoding="utf-8") for p in trusted_checkpoint]
    if live == (bundle is not None):
        fail("give a BUNDLE or --db", 2)
    if live:
        if witness_policy_file or structural or jobs:
            fail("--witness-policy, --structural and --jobs apply to a BUNDLE", 2)
        with baton.engine.connect() as conn:
            report = verify_db(conn, vkey or baton.vkey, baton.origin, held,
                               progress=sys.stderr)
    else:
        assert bundle is not None
        policy = witness_policy.load(witness_policy_file) if witness_policy_file else None
        report = verify_path(bundle, vkey, held, progress=sys.stderr, policy=policy,
                             structural=structural, jobs=jobs or verify_parallel.cores())
    sys.exit(print_report(report))


@audit_group.command("checkpoint")
@with_baton
def audit_checkpoint(baton: Baton) -> None:
    """Sign a checkpoint of the log now and print it."""
    text = handlers.sign_checkpoint(uow=baton.uow, now=baton.now())
    if text is None:
        fail("no signing key: run `baton init`")
    click.echo(text, nl=False)


@audit_group.command("proof", context_settings={"ignore_unknown_options": True})
@click.argument("seq_text", metavar="SEQ")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="-",
              help="Proof file, conventionally NAME.tlog-proof (default: stdout)")
@click.option("--without-quorum", is_flag=True,
              help="Under a witness policy, write a proof whose checkpoint lacks its quorum "
                   "rather than none (it fails `--witness-policy` checks)")
@click.option("--as", "handle", default="system", show_default=True,
              help="Who fetches the proof (recorded as an audit-read)")
@with_baton
def audit_proof(baton: Baton, seq_text: str, output: str, without_quorum: bool,
                handle: str) -> None:
    """Write a self-contained proof of ledger event SEQ (c2sp.org/tlog-proof@v1): its
    canonical bytes, its inclusion proof and a checkpoint with its cosignatures, which
    `python -m audit.verifier --proof FILE --public-key KEY [--witness-policy P]` checks
    alone. The checkpoint is the newest that covers SEQ and, under BATON_WITNESS_POLICY,
    meets the quorum. When none does, one is signed now and, under a policy, sent to the
    witnesses at once; if the quorum is still not met, no proof is written (exit 1)
    unless --without-quorum."""
    if not re.fullmatch(r"-?[0-9]+", seq_text):
        fail(f"SEQ must be a ledger seq (a whole number), not {seq_text!r}", 2)
    seq = int(seq_text)
    path = baton.settings["BATON_WITNESS_POLICY"]
    policy = witness_policy.load(path) if path else None
    with baton.engine.connect() as conn:
        proof.require_event(conn, seq)
        note = proof.covering(conn, seq, policy)
    if note is None:
        fresh_checkpoint.covering(baton.engine, lambda: baton.signer, baton.now)
        if policy is not None:
            _ask_witnesses(baton, policy)
        with baton.engine.connect() as conn:
            note = proof.covering(conn, seq, policy)
            if note is None:
                newest = cosignatures.newest(conn)
                served = None if policy is None else cosignatures.served(conn, policy)
        if note is None:
            note = _short_of_quorum(seq, policy, newest, served, without_quorum)
    with baton.engine.connect() as conn:
        text = proof.build(conn, seq, note)
    record_read(baton, handle, Read("proof", proof.size_of(note), seq, seq, 1, path=CLI,
                                    grant="proofs", query={"proof": "tlog-proof"}))
    if output == "-":
        click.echo(text, nl=False)
    else:
        # The event bytes name the customer id, handles and amounts: owner-only, like
        # exports; share the file as a finding's attachment is shared.
        with private_files.open_private(output) as fh:
            fh.write(text)
    info(f"proof of seq {seq} under the checkpoint of size {proof.size_of(note)}")


def _ask_witnesses(baton: Baton, policy: witness_policy.TrustPolicy) -> None:
    """One witnessing round now (as the worker's), saying what each witness answered."""
    for name, outcome in sorted(Witnessing(baton.engine, lambda: baton.vkey,
                                           policy).step().items()):
        info(f"witness {name}: {outcome}")


def _short_of_quorum(seq: int, policy: witness_policy.TrustPolicy | None, note: str | None,
                     served: str | None, without_quorum: bool) -> str:
    """No checkpoint covering seq meets the quorum even after signing and asking the
    witnesses (`note`: the newest checkpoint; `served`: the newest that meets it): say
    why, and fail, or (--without-quorum) warn and take the newest."""
    if note is None or policy is None:
        fail(f"no checkpoint covers seq {seq}")
    assert note is not None and policy is not None
    signers = ", ".join(sorted(policy.signed_by(note))) or "no witness"
    reach = ("no checkpoint meets it yet" if served is None else
             f"the newest that does has size {proof.size_of(served)}")
    why = (f"no checkpoint covering seq {seq} meets the witness policy's quorum "
           f"{policy.quorum!r}: the newest (size {proof.size_of(note)}) is cosigned by "
           f"{signers}; {reach}")
    if not without_quorum:
        fail(f"{why} (check that the witnesses are reachable, or pass --without-quorum "
             "for a proof only the log signs)")
    info(f"warning: {why}; writing the proof anyway (--without-quorum)")
    return note


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


@click.group("content")
def content_group() -> None:
    """Erase personal content (the record of who did what stays)."""


@content_group.command("erase")
@click.option("--customer", required=True, help="The customer id given at opening")
@click.option("--as", "handle", default="system", help="Who erases (recorded)")
@with_baton
def content_erase(baton: Baton, customer: str, handle: str) -> None:
    """Erase the content of every escalation of a customer (legal holds are kept)."""
    done = handlers.erase_customer(uow=baton.uow, actor=operator(handle), customer_id=customer,
                                   now=baton.now())
    click.echo(json.dumps({"customer_id": customer, "events": done.events,
                           "fields": done.fields, "held": done.held}))


@content_group.command("sweep")
@click.option("--now", "now_text", default=None,
              help="RFC 3339 time, on a simulation only (default: now)")
@with_baton
def content_sweep(baton: Baton, now_text: str | None) -> None:
    """Erase content whose category's retention period has passed (not under hold)."""
    now = sweep_time(baton, now_text)
    done = handlers.retention_sweep(uow=baton.uow, now=now)
    click.echo(json.dumps({"events": done.events, "fields": done.fields, "held": done.held}))


@click.group("sla")
def sla_group() -> None:
    """SLA clocks: sweep for breaches."""


@sla_group.command("sweep")
@click.option("--now", "now_text", default=None,
              help="RFC 3339 time, on a simulation only (default: now)")
@click.option("--loop", is_flag=True, help="Keep sweeping every --interval seconds")
@click.option("--interval", default=60.0, show_default=True, type=click.FloatRange(0.1))
@with_baton
def sla_sweep(baton: Baton, now_text: str | None, loop: bool, interval: float) -> None:
    """Record every breach now due, once: the breach, a temporary owner, the notice.
    Safe to run on several processes or machines at once."""
    while True:
        now = sweep_time(baton, now_text)
        done = sla_sweep_use_case.sweep(uow_factory=baton.uow, now=now)
        click.echo(json.dumps({"at": now.isoformat(), "escalations": done.escalations,
                               "events": done.events}))
        if not loop:
            return
        time.sleep(interval)


@click.group("metrics")
def metrics_group() -> None:
    """Escalation metrics from the ledger."""


@metrics_group.command("report")
@click.option("--since", "since_text", default=None,
              help="RFC 3339, or a date: that day's start in UTC (inclusive)")
@click.option("--until", "until_text", default=None,
              help="RFC 3339, or a date: that day's start in UTC (exclusive)")
@click.option("--group-by", type=click.Choice(["team", "role", "category", "severity",
                                               "tier"]), default=None)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]),
              default="table", show_default=True)
@with_baton
def metrics_report(baton: Baton, since_text: str | None, until_text: str | None,
                   group_by: str | None, fmt: str) -> None:
    """The same figures as GET /api/v1/metrics/escalations, in the terminal."""
    import csv

    from audit.reads import metrics

    since = parse_bound(since_text) if since_text else None
    until = parse_bound(until_text) if until_text else None
    with baton.engine.connect() as conn:
        data = metrics.report(conn, since, until, group_by, baton.policy(conn).max_tier,
                              baton.now())
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


@click.command("diagram")
@with_baton
def diagram(baton: Baton) -> None:
    """Print the lifecycle as a Mermaid state diagram (from the policy's tier count)."""
    try:
        tiers = baton.policy().max_tier
    except NO_DATABASE_YET:
        # no database yet: draw the shipped policy's lifecycle
        tiers = policy_loader.default().max_tier
    click.echo(lifecycle(tiers).mermaid(), nl=False)


@audit_group.command("tiles")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--no-entries", is_flag=True,
              help="Write the checkpoint and hash tiles only (no entry bundles)")
@with_baton
def audit_tiles(baton: Baton, directory: str, no_entries: bool) -> None:
    """Write the log as C2SP tiles (tlog-tiles) under DIRECTORY, for any static web
    server: checkpoint, tile/<L>/<N>, tile/entries/<N>. Incremental: tiles already there
    are kept, so each run writes only what is new. A checkpoint of the whole log is signed
    first. Entry bundles hold customer ids, handles and amounts: publish them only where
    the audit log may be read."""
    note = fresh_checkpoint.covering(baton.engine, lambda: baton.signer, baton.now)
    with baton.engine.connect() as conn:
        size = signed_note.open_note(note, baton.vkey).size
        done = tiles.write_static(conn, Path(directory), note, size,
                                  entries=not no_entries)
    info(f"size {done.size}: {done.written} files written, {done.kept} kept, "
         f"{done.removed} partial tiles removed")
