"""Audit-read records (workflow/audit_reads.py): ledger records without an escalation,
appended in the unit of work's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from audit.store.webhooks import system_record
from workflow.audit_reads import AUDIT_READ

if TYPE_CHECKING:
    from audit.store.uow import SqlUnitOfWork


class SqlReadRecords:
    """The ReadRecords port over one unit of work."""

    def __init__(self, uow: SqlUnitOfWork):
        self._uow = uow

    def record(self, *, actor: str, role: str, rule: str, policy_version: str,
               payload: dict[str, Any], now: datetime) -> int:
        """Append one audit-read record; its seq."""
        record = system_record(AUDIT_READ, actor=actor, role=role, payload=payload,
                               policy_version=policy_version, now=now, rule=rule)
        return self._uow.append(record, [], now)
