"""SCIM provisioning's use cases (the door: api/views/scim.py): people created,
replaced, (de)activated and put in the policy's mapped groups, each change of their
access on the ledger by path "scim"; deactivation is the deprovisioning of
workflow.admin_handlers (tokens and sessions end, open escalations handed over)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from workflow import access_groups
from workflow.access_grants import SCIM, AccessAccounts, authorise
from workflow.admin_handlers import Deprovisioned, deprovision
from workflow.errors import WorkflowError
from workflow.handler_ports import U, UnitOfWorkFactory
from workflow.model import Actor
from workflow.policy import Policy

# The SCIM client as the records name it (its token's hash prefix is on the token's
# own records).
CLIENT = Actor("scim", ("system",), None)


class ScimConflict(WorkflowError):
    """A userName already taken (SCIM 409, scimType uniqueness)."""


class ScimNotFound(WorkflowError):
    """No such user or mapped group (SCIM 404)."""


class ScimAccounts(AccessAccounts, Protocol):
    """The access port with SCIM's memberships and provider ids."""

    def groups_of(self, handle: str) -> list[str]:
        """The mapped groups the actor is in."""

    def set_member(self, group: str, handle: str, member: bool) -> bool:
        """Put the actor in the group or take it out; whether anything changed."""

    def set_external_id(self, handle: str, external_id: str | None) -> None:
        """The identity provider's id of the person."""


Scim = Callable[[Any], ScimAccounts]


def _regrant(store: ScimAccounts, handle: str, policy: Policy, now: datetime) -> None:
    """Give an active person the roles and team their mapped groups grant."""
    found = store.account(handle)
    if found is None or not found.active:
        return
    roles, team, _ = access_groups.grants_of(store.groups_of(handle), policy)
    store.change(handle, roles, team, by=authorise(CLIENT, policy, SCIM), now=now)


def _activate(tx: Any, store: ScimAccounts, policy: Policy, handle: str, active: bool,
              now: datetime) -> Deprovisioned | None:
    found = store.account(handle)
    by = authorise(CLIENT, policy, SCIM)
    if found is None or found.active == active:
        return None
    if not active:
        return deprovision(tx, store, by=by, policy=policy, handle=handle, now=now)
    roles, team, _ = access_groups.grants_of(store.groups_of(handle), policy)
    store.grant(handle, roles, team, by=by, now=now)
    return None


def create_user(*, uow: UnitOfWorkFactory[U], accounts: Scim, handle: str,
                external_id: str | None, active: bool, now: datetime) -> None:
    """Provision a person (no role until a mapped group holds them); 409 when taken."""
    with uow() as tx:
        policy = tx.policies.active_or_raise()
        store = accounts(tx)
        if store.account(handle) is not None:
            raise ScimConflict(f"userName {handle!r} is taken")
        store.grant(handle, [], None, by=authorise(CLIENT, policy, SCIM), now=now)
        store.set_external_id(handle, external_id)
        _activate(tx, store, policy, handle, active, now)
        tx.commit()


def update_user(*, uow: UnitOfWorkFactory[U], accounts: Scim, handle: str,
                external_id: str | None, active: bool | None, now: datetime,
                set_external: bool = False) -> Deprovisioned | None:
    """Replace or patch a person: their provider id, and active (False deprovisions)."""
    with uow() as tx:
        policy = tx.policies.active_or_raise()
        store = accounts(tx)
        if store.account(handle) is None:
            raise ScimNotFound(f"no user {handle!r}")
        if set_external:
            store.set_external_id(handle, external_id)
        done = None if active is None else _activate(tx, store, policy, handle, active, now)
        tx.commit()
    return done


def set_members(*, uow: UnitOfWorkFactory[U], accounts: Scim, group: str,
                changes: list[tuple[str, bool]], replace: bool, now: datetime) -> None:
    """Add (True) or remove (False) people in a mapped group (replace: exactly the added
    ones), then give each one touched the roles and team their groups grant."""
    with uow() as tx:
        policy = tx.policies.active_or_raise()
        if group not in access_groups.groups(policy):
            raise ScimNotFound(f"no mapped group {group!r} in the policy")
        store = accounts(tx)
        touched: set[str] = set()
        wanted = {h for h, member in changes if member}
        if replace:
            changes = [(h, False) for h in _members(store, group) if h not in wanted] \
                + [(h, True) for h in sorted(wanted)]
        for handle, member in changes:
            if store.account(handle) is None:
                raise ScimNotFound(f"no user {handle!r}")
            if store.set_member(group, handle, member):
                touched.add(handle)
        for handle in sorted(touched):
            _regrant(store, handle, policy, now)
        tx.commit()


def _members(store: Any, group: str) -> list[str]:
    return list(store.members_of(group))


class TokenStore(Protocol):
    """SCIM clients' tokens, each issue and revocation on the ledger."""

    def scim_token(self, *, by: Any, now: datetime) -> str:
        """A new token."""

    def revoke_scim_token(self, prefix: str, *, by: Any, now: datetime) -> bool:
        """Revoke the token whose hash starts with `prefix`."""


def issue_token(*, uow: UnitOfWorkFactory[U], tokens: Callable[[Any], TokenStore],
                actor: Actor, now: datetime) -> str:
    """A SCIM client token (the manage-actors permission), its issue on the ledger."""
    with uow() as tx:
        by = authorise(actor, tx.policies.active_or_raise(), "cli")
        token = tokens(tx).scim_token(by=by, now=now)
        tx.commit()
    return token


def revoke_token(*, uow: UnitOfWorkFactory[U], tokens: Callable[[Any], TokenStore],
                 actor: Actor, prefix: str, now: datetime) -> None:
    """Revoke a SCIM client token by its hash's prefix (8 characters or more)."""
    with uow() as tx:
        by = authorise(actor, tx.policies.active_or_raise(), "cli")
        if not tokens(tx).revoke_scim_token(prefix, by=by, now=now):
            raise ScimNotFound(f"no single running SCIM token starts with {prefix!r} "
                               "(give 8 or more characters from `baton scim tokens`)")
        tx.commit()
