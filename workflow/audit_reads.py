"""Reads of the audit log, recorded (PCI DSS v4 10.2.1.3, "all access to audit logs").

Each request that reads the log - its events, an export, a proof fetched with a token,
the dashboard's audit page, an access review, the SIEM stream - appends ONE `audit-read`
ledger record: who read (actor, the role and the rule that allowed it, the policy
version), what was read, the range of seqs and the tree size served, and the query (ids
and facts only). One per request, never one per entry read. The record is appended in a
short write transaction of its own after the read, so the read itself stays a read for
concurrency; a read that could not be recorded is not answered (the caller raises).

The published checkpoint, its public key and the log's tiles are not "access": they are
published for anyone, and record nothing (docs/identity.md, "Reads of the audit log")."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from workflow.decision import enforce
from workflow.handler_ports import U, UnitOfWorkFactory
from workflow.model import Actor
from workflow.read_grants import may_read

AUDIT_READ = "audit-read"
# Where a read came through.
API, CLI, UI = "api", "cli", "ui"
# What was read.
KINDS: dict[str, str] = {
    "audit-events": "the ledger's events, a page (GET /api/v1/audit/events)",
    "export": "an export bundle of the whole log (API, CLI, dashboard)",
    "proof": "an inclusion or consistency proof",
    "audit-page": "the dashboard's audit page (the log verified)",
    "access-report": "an access review (GET /api/v1/access, baton access report)",
    "stream": "the SIEM stream (GET /api/v1/audit/stream)",
}
# The stream's own records: it does not serve them back (a poll would otherwise always
# find the record of the poll before it).
STREAM = "stream"


@dataclass(frozen=True)
class Read:
    """What one request read: the kind, the tree size it saw, the seqs it served (first,
    last, how many), the read of the policy that grants it, and the query's ids and facts
    (never text a person typed)."""

    kind: str
    size: int
    first: int | None = None
    last: int | None = None
    count: int = 0
    path: str = API
    grant: str = "audit-log"
    query: Mapping[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """The record's payload."""
        if self.kind not in KINDS:
            raise ValueError(f"unknown audit read {self.kind!r}")
        out: dict[str, Any] = {"read": self.kind, "path": self.path, "size": self.size,
                               "first": self.first, "last": self.last, "count": self.count}
        query = {k: v for k, v in sorted(self.query.items()) if v is not None}
        if query:
            out["query"] = query
        return out

    @classmethod
    def whole(cls, kind: str, size: int, **more: Any) -> Read:
        """A read that served every event of a log of `size` (an export, a verification)."""
        return cls(kind, size, 0 if size else None, size - 1 if size else None, size,
                   **more)

    @classmethod
    def served(cls, kind: str, size: int, seqs: list[int], **more: Any) -> Read:
        """A read that served the events `seqs` (in order) of a log of `size`."""
        return cls(kind, size, seqs[0] if seqs else None, seqs[-1] if seqs else None,
                   len(seqs), **more)


class ReadRecords(Protocol):
    """Where audit-read records are appended (audit/store/read_records.py)."""

    def record(self, *, actor: str, role: str, rule: str, policy_version: str,
               payload: dict[str, Any], now: datetime) -> int:
        """Append one audit-read record; its seq."""


Records = Callable[[Any], ReadRecords]


def record_read(*, uow: UnitOfWorkFactory[U], records: Records, actor: Actor, read: Read,
                now: datetime) -> int:
    """Record one read of the audit log by `actor` (refused, with the rule, when the
    policy does not grant the actor that read); the record's seq."""
    with uow() as tx:
        policy = tx.policies.active_or_raise()
        decision = enforce(may_read(actor, read.grant, policy))
        seq = records(tx).record(actor=actor.handle, role=decision.role or "",
                                 rule=decision.rule, policy_version=policy.version,
                                 payload=read.payload(), now=now)
        tx.commit()
    return seq
