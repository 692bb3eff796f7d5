"""Rebuild every projection from the ledger and report any difference."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Connection, select

from audit.reads import records
from audit.reads.trails import trail
from audit.store import projection
from audit.store.schema import escalations, ledger, ownership_spans
from workflow.model import replay


def differences(conn: Connection) -> Iterator[str]:
    """One line per escalation whose stored state differs from the replay of its events."""
    in_ledger = set(conn.execute(select(ledger.c.escalation_id).where(
        ledger.c.escalation_id.is_not(None)).distinct()).scalars())
    stored = set(conn.execute(select(escalations.c.id)).scalars())
    for missing in sorted(in_ledger - stored):
        yield f"{missing}: events in the ledger but no stored state"
    for orphan in sorted(stored - in_ledger):
        yield f"{orphan}: stored state but no events in the ledger"
    for escalation_id in sorted(in_ledger & stored):
        recs = records.history(conn, escalation_id)
        rebuilt = replay(records.to_event(r) for r in recs)
        row = conn.execute(select(escalations).where(escalations.c.id == escalation_id)).one()
        current = projection.from_row(row._mapping)
        want = sorted((s["owner"], s["kind"], s["from"], s["to"]) for s in trail(recs))
        have = sorted(tuple(r) for r in conn.execute(
            select(ownership_spans.c.owner, ownership_spans.c.kind,
                   ownership_spans.c.started_at, ownership_spans.c.ended_at)
            .where(ownership_spans.c.escalation_id == escalation_id)))
        if want != have:
            yield f"{escalation_id}: ownership spans differ from the ledger's trail"
        if current != rebuilt:
            diff = [k for k, v in rebuilt.snapshot().items() if current.snapshot()[k] != v]
            yield f"{escalation_id}: stored state differs from replay in {', '.join(diff)}"
            continue
        columns = [k for k, v in projection.columns_of(rebuilt).items()
                   if k != "snapshot" and row._mapping[k] != v]
        if columns:
            yield (f"{escalation_id}: stored columns differ from replay in "
                   f"{', '.join(columns)}")
