"""Actors, their tokens and mail addresses behind workflow's ActorAccounts and
AccessAccounts ports, written in the unit of work's transaction; every change of access
(roles, team, tokens, email, deprovisioning) appends its ledger record beside the row
(records without an escalation, as policy-applied is; the fold that reads them back is
audit/verifier/access_report.py). No record holds a token: its hash's prefix only."""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, or_, select, update

from audit.store import actor_emails, actors
from audit.store.actors import ActorError, token_hash
from audit.store.schema import actors as actors_table
from audit.store.schema import dashboard_sessions, escalations, scim_members, scim_tokens
from audit.store.sessions import SHOWN, SqlSessions
from audit.store.webhooks import system_record
from audit.verifier import access_report as ev
from workflow.access_grants import CLOSED, Account, By
from workflow.dashboard_sessions import ENDED_BY_ADMIN
from workflow.model import rfc3339

if TYPE_CHECKING:
    from audit.store.uow import SqlUnitOfWork


def _account(found: Any) -> Account:
    return Account(found.handle, tuple(json.loads(found.roles)), found.team,
                   found.revoked_at is None,
                   found.token_hash[:SHOWN] if found.token_hash else None, found.created_at,
                   found.revoked_at, found.access_seq is not None)


class SqlActorAccounts:
    """Actor rows, changed inside one unit of work with their ledger records."""

    def __init__(self, uow: SqlUnitOfWork):
        self._uow = uow

    # --- the records ---------------------------------------------------------------

    def _record(self, action: str, handle: str, by: By, now: datetime,
                personal: list[tuple[str, str]] | None = None, *,
                row: dict[str, Any] | None = None, **payload: Any) -> int:
        """Append the event, then write the actor's row (`row`'s values and the event's
        seq): on PostgreSQL a trigger lets the app role change an actor only after this
        transaction appended an access event naming it (migration 0011)."""
        record = system_record(action, actor=by.actor, role=by.role,
                               payload={"subject": handle, "path": by.path, **payload},
                               policy_version=by.policy_version, now=now, rule=by.rule)
        seq = self._uow.append(record, personal or [], now)
        actors.put(self._uow.conn, handle, now, access_seq=seq, **(row or {}))
        return seq

    def account(self, handle: str) -> Account | None:
        """The actor as stored, or None."""
        found = actors.row(self._uow.conn, handle)
        return None if found is None else _account(found)

    # --- the AccessAccounts port ------------------------------------------------------

    def grant(self, handle: str, roles: list[str], team: str | None, *, by: By,
              now: datetime) -> int:
        """Create the actor (or reactivate one) with its access-granted record."""
        current = self.account(handle)
        if current is not None and current.active:
            raise ActorError(f"actor {handle!r} already exists")
        return self._record(ev.GRANTED, handle, by, now, roles=sorted(set(roles)), team=team,
                            row={"roles": roles, "team": team, "revoked_at": None})

    def change(self, handle: str, roles: list[str], team: str | None, *, by: By,
               now: datetime) -> int | None:
        """Change roles and team with an access-changed record (None: nothing changed)."""
        current = self.account(handle)
        if current is None or not current.active:
            raise ActorError(f"no active actor {handle!r}")
        wanted = sorted(set(roles))
        if wanted == sorted(current.roles) and team == current.team:
            return None
        return self._record(ev.CHANGED, handle, by, now, roles=wanted, team=team,
                            previous={"roles": sorted(current.roles), "team": current.team},
                            row={"roles": wanted, "team": team})

    def _revoke_token(self, handle: str, token: str, by: By, now: datetime,
                      why: str) -> None:
        self._record(ev.TOKEN_REVOKED, handle, by, now, token=token, why=why,
                     row={"token_hash": None})

    def issue_token(self, handle: str, *, by: By, now: datetime) -> str:
        """A new token (the old one revoked, both on the record); the token itself."""
        current = self.account(handle)
        if current is None or not current.active:
            raise ActorError(f"no active actor {handle!r}")
        if current.token is not None:
            self._revoke_token(handle, current.token, by, now, "rotated")
        token = actors.new_token()
        stored = token_hash(token)
        self._record(ev.TOKEN_ISSUED, handle, by, now, token=stored[:SHOWN],
                     row={"token_hash": stored})
        return token

    def deactivate(self, handle: str, *, by: By, now: datetime) -> int:
        """End access at once: token revoked, running dashboard sessions ended (each on
        the record), access-revoked written; the actor stays for the record. Its seq."""
        current = self.account(handle)
        if current is None or not current.active:
            raise ActorError(f"no active actor {handle!r}")
        if current.token is not None:
            self._revoke_token(handle, current.token, by, now, "deprovisioned")
        running = self._uow.conn.execute(select(dashboard_sessions.c.id_hash).where(
            dashboard_sessions.c.actor == handle,
            dashboard_sessions.c.ended_at.is_(None))).scalars().all()
        store = SqlSessions(self._uow)
        for id_hash in running:
            store.end(id_hash=id_hash, why=ENDED_BY_ADMIN, actor=by.actor, role=by.role,
                      rule=by.rule, policy_version=by.policy_version, now=now)
        return self._record(ev.REVOKED, handle, by, now, sessions_ended=len(running),
                            previous={"roles": sorted(current.roles), "team": current.team},
                            row={"revoked_at": rfc3339(now), "token_hash": None})

    def set_email(self, handle: str, email: str | None, *, by: By, now: datetime) -> None:
        """Set (None: remove) the address, with an email-changed record holding only a
        commitment to it (the address itself is erasable content)."""
        if self.account(handle) is None:  # never an actor made by giving it an address
            raise ActorError(f"no actor {handle!r}")
        if email is None:
            self._record(ev.EMAIL_CHANGED, handle, by, now, email=None)
        else:
            self._record(ev.EMAIL_CHANGED, handle, by, now, [("email", email)], email={})
        actor_emails.set_email(self._uow.conn, handle, email)

    def without_grant(self) -> list[Account]:
        """The actors no access event covers yet."""
        rows = self._uow.conn.execute(select(actors_table).where(
            actors_table.c.access_seq.is_(None)).order_by(actors_table.c.handle))
        return [_account(r) for r in rows]

    def genesis(self, account: Account, *, by: By, now: datetime) -> int:
        """Record the access an existing actor holds (since it was created)."""
        seq = self._record(ev.GRANTED, account.handle, by, now, roles=sorted(account.roles),
                           team=account.team, since=account.created_at, genesis=True)
        if account.token is not None:
            self._record(ev.TOKEN_ISSUED, account.handle, by, now, token=account.token,
                         genesis=True)
        if not account.active:
            self._record(ev.REVOKED, account.handle, by, now, genesis=True,
                         since=account.revoked_at,
                         previous={"roles": sorted(account.roles), "team": account.team})
        return seq

    def open_work(self, handle: str) -> list[str]:
        """The open escalations the actor owns or covers as acting owner."""
        e = escalations
        return list(self._uow.conn.execute(select(e.c.id).where(
            or_(e.c.owner == handle, e.c.acting_owner == handle),
            e.c.state.not_in(CLOSED)).order_by(e.c.id)).scalars())

    # --- the ActorAccounts port (unrecorded rows: demo, tests) ---------------------------

    def add(self, handle: str, roles: list[str], team: str | None, now: datetime, *,
            rotate: bool = False) -> str:
        """Create an actor (or, with rotate, give an existing one a new token); the token."""
        return actors.add(self._uow.conn, handle, roles, team, now, rotate=rotate)

    def revoke(self, handle: str, now: datetime) -> None:
        """Revoke an actor's token."""
        actors.revoke(self._uow.conn, handle, now)

    # --- SCIM: memberships of mapped groups, the provider's id, clients' tokens ------------

    def groups_of(self, handle: str) -> list[str]:
        """The mapped groups a SCIM client put the actor in."""
        m = scim_members
        return list(self._uow.conn.execute(select(m.c.group_name).where(
            m.c.handle == handle).order_by(m.c.group_name)).scalars())

    def members_of(self, group: str) -> list[str]:
        """The actors in a mapped group."""
        m = scim_members
        return list(self._uow.conn.execute(select(m.c.handle).where(
            m.c.group_name == group).order_by(m.c.handle)).scalars())

    def set_member(self, group: str, handle: str, member: bool) -> bool:
        """Put the actor in the group or take it out; whether anything changed."""
        m = scim_members
        if member == (handle in self.members_of(group)):
            return False
        if member:
            self._uow.conn.execute(insert(m).values(group_name=group, handle=handle))
        else:
            self._uow.conn.execute(delete(m).where(m.c.group_name == group,
                                                   m.c.handle == handle))
        return True

    def set_external_id(self, handle: str, external_id: str | None) -> None:
        """The identity provider's id of the person (not on the ledger)."""
        self._uow.conn.execute(update(actors_table).where(
            actors_table.c.handle == handle).values(external_id=external_id))

    def scim_token(self, *, by: By, now: datetime) -> str:
        """A new SCIM client token, its issue on the ledger (its hash's prefix only)."""
        token = "scim_" + secrets.token_urlsafe(32)
        stored = token_hash(token)
        self._uow.conn.execute(insert(scim_tokens).values(
            token_hash=stored, created_at=rfc3339(now), created_by=by.actor))
        self._uow.append(system_record(SCIM_TOKEN_ISSUED, actor=by.actor, role=by.role,
                                       payload={"token": stored[:SHOWN]},
                                       policy_version=by.policy_version, now=now,
                                       rule=by.rule), [], now)
        return token

    def revoke_scim_token(self, prefix: str, *, by: By, now: datetime) -> bool:
        """Revoke the SCIM token whose hash starts with `prefix` (on the ledger); False
        when no single running token matches."""
        t = scim_tokens
        found = self._uow.conn.execute(select(t.c.token_hash).where(
            t.c.revoked_at.is_(None),
            t.c.token_hash.like(prefix.replace("%", "").replace("_", "") + "%"))
        ).scalars().all()
        if len(found) != 1 or len(prefix) < 8:
            return False
        self._uow.conn.execute(update(t).where(t.c.token_hash == found[0]).values(
            revoked_at=rfc3339(now)))
        self._uow.append(system_record(SCIM_TOKEN_REVOKED, actor=by.actor, role=by.role,
                                       payload={"token": found[0][:SHOWN]},
                                       policy_version=by.policy_version, now=now,
                                       rule=by.rule), [], now)
        return True


SCIM_TOKEN_ISSUED = "scim-token-issued"
SCIM_TOKEN_REVOKED = "scim-token-revoked"
