"""Applied policy versions behind workflow's PolicyStore port: each new version stored
with its policy-applied ledger event, in the unit of work's transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from audit.errors import NotInitialised
from audit.store import policies
from audit.store.schema import policies as policies_table
from workflow import policy_loader
from workflow.model import rfc3339
from workflow.policy import Policy

# The unit of work's ledger append: (record, personal texts, at) -> seq.
Append = Callable[[dict[str, Any], list[tuple[str, str]], datetime], int]


class SqlPolicies:
    """Policy versions, read and applied in one transaction on `conn`; `append` writes
    the policy-applied event to the ledger in the same transaction."""

    def __init__(self, conn: Connection, append: Append):
        self._conn = conn
        self._append = append

    def active(self) -> Policy | None:
        """The policy in force, or None before `baton init`."""
        return policies.active(self._conn)

    def active_or_raise(self) -> Policy:
        """The policy in force; NotInitialised before `baton init`."""
        found = self.active()
        if found is None:
            raise NotInitialised("no policy has been applied: run `baton init`")
        return found

    def record_applied(self, policy: Policy, text: str, *, actor: str, role: str,
                       previous: Policy | None, now: datetime,
                       simulation: bool = False) -> int:
        """Append the policy-applied event and store the version; returns its seq."""
        record = {
            "v": 1, "escalation_id": None, "version": None, "action": "policy-applied",
            "actor": actor, "role": role, "at": rfc3339(now), "from_state": None,
            "to_state": None, "from_owner": None, "to_owner": None, "tier": None,
            "payload": {"name": policy.name, "version": policy.version,
                        "previous_version": previous.version if previous else None,
                        **({"simulation": True} if simulation else {})},
            "policy_version": policy.version, "rule": "policy.apply",
        }
        seq = self._append(record, [], now)
        self._conn.execute(insert(policies_table).values(
            version=policy.version, name=policy.name, text=text, applied_at=rfc3339(now),
            applied_by=actor, seq=seq))
        return seq

    def apply(self, text: str, *, actor: str, role: str, now: datetime,
              source: str = "<policy>") -> tuple[Policy, int | None]:
        """Validate and apply policy text; an unchanged policy writes nothing (seq None)."""
        new = policy_loader.loads(text, source)
        current = self.active()
        if current is not None and current.version == new.version:
            return new, None
        return new, self.record_applied(new, text, actor=actor, role=role,
                                        previous=current, now=now)
