"""Access on the ledger: what granting, changing and revoking an actor's roles and team,
issuing and revoking tokens and changing an email write (records without an escalation,
each naming who did it, the rule that allowed it and the policy version), the port that
stores them, and the hand-over of a deprovisioned person's open escalations (each a
ledger event naming the deprovisioning; never an escalation without an owner).

The event names and the fold that reads them back are audit/verifier/access_report.py's
(standard library only, so the offline verifier answers "who held what, when")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from workflow import access_groups
from workflow.authority import permit
from workflow.decision import Decision, enforce
from workflow.model import SYSTEM, Actor, Event
from workflow.model import Escalation as EscalationState
from workflow.policy import Policy
from workflow.states import DEBRIEFED, HANDED_OFF, RESOLVED

# Whoever runs the command line acts as "system" in the operator's role unless they name
# themselves (api.cli_context.operator).
OPERATOR = Actor("system", ("admin",), None)
# The paths access comes through (recorded on every access event).
CLI, SCIM, SSO, GENESIS = "cli", "scim", "sso", "genesis"
PATHS = (CLI, SCIM, SSO, GENESIS)
CLOSED = (RESOLVED, DEBRIEFED)


@dataclass(frozen=True)
class By:
    """Who changes access, in which role, by which rule, under which policy version, and
    through which path."""

    actor: str
    role: str
    rule: str
    policy_version: str
    path: str

    @classmethod
    def decided(cls, actor: str, decision: Decision, policy: Policy, path: str) -> By:
        """The record of an allowing decision."""
        return cls(actor, decision.role or "", decision.rule, policy.version, path)

    @classmethod
    def system(cls, rule: str, policy: Policy, path: str) -> By:
        """Baton itself (a genesis grant, a SCIM client, a deprovisioning's hand-over)."""
        return cls(SYSTEM.handle, "system", rule, policy.version, path)


@dataclass(frozen=True)
class Account:
    """An actor as the access events see it."""

    handle: str
    roles: tuple[str, ...]
    team: str | None
    active: bool
    token: str | None  # the prefix of its token's hash, when it holds one
    created_at: str
    revoked_at: str | None = None
    recorded: bool = True  # an access event covers it (False: it needs its genesis)


class AccessAccounts(Protocol):
    """Actors, their tokens and addresses, each change with its ledger record
    (audit/store/actor_accounts.py)."""

    def account(self, handle: str) -> Account | None:
        """The actor as stored, or None."""

    def grant(self, handle: str, roles: list[str], team: str | None, *, by: By,
              now: datetime) -> int:
        """Create the actor (or reactivate one) with its access-granted record; its seq."""

    def change(self, handle: str, roles: list[str], team: str | None, *, by: By,
               now: datetime) -> int | None:
        """Change roles and team with an access-changed record (None: nothing changed)."""

    def issue_token(self, handle: str, *, by: By, now: datetime) -> str:
        """A new token (the old one revoked, both on the record); the token itself."""

    def deactivate(self, handle: str, *, by: By, now: datetime) -> int:
        """End access: token revoked, sessions ended, access-revoked written; its seq."""

    def set_email(self, handle: str, email: str | None, *, by: By, now: datetime) -> None:
        """Set (None: remove) the address, with an email-changed record (a commitment)."""

    def without_grant(self) -> list[Account]:
        """The actors no access event covers yet (added before access was recorded)."""

    def genesis(self, account: Account, *, by: By, now: datetime) -> int:
        """Record the access an existing actor holds; its seq."""

    def open_work(self, handle: str) -> list[str]:
        """The open escalations the actor owns or covers as acting owner."""


def authorise(actor: Actor, policy: Policy, path: str) -> By:
    """Who may change access: through SCIM, the client whose bearer token the door checked
    (rule scim.client); otherwise an actor with the manage-actors permission."""
    if path == SCIM:
        return By(actor.handle, "system", "scim.client", policy.version, SCIM)
    decision = enforce(permit(actor, "manage-actors", policy))
    return By.decided(actor.handle, decision, policy, path)


def _reassign(esc: EscalationState, to: str, payload: dict[str, Any], policy: Policy,
              now: datetime, rule: str) -> Event:
    back = esc.return_to if esc.state == HANDED_OFF and esc.return_to else esc.state
    return Event(escalation_id=esc.id, version=esc.version, action="reassign",
                 actor=SYSTEM.handle, role="system", at=now, from_state=esc.state,
                 to_state=back, from_owner=esc.owner, to_owner=to, tier=esc.tier,
                 payload={"to": to, **payload}, policy_version=policy.version, rule=rule)


def successor(esc: EscalationState, person: str, policy: Policy,
              active: Callable[[str], bool]) -> Decision:
    """Who takes an escalation from a deprovisioned `person`, as the policy's
    `[identity] handover` says: the team's first active fallback, or its governor (the
    nearest active one above, when that is the person). Nobody active: the team's
    governor all the same, so that no escalation is left without an owner."""
    team = policy.teams.get(esc.team)
    fallback = [h for h in (team.fallback if team else ()) if h != person and active(h)]
    governors = [g for g in _governors(esc.team, policy) if g != person and active(g)]
    choices = [("fallback", fallback), ("governor", governors)]
    if access_groups.handover(policy) == "governor":
        choices.reverse()
    for kind, found in choices:
        if found:
            return Decision(True, f"deprovision.handover.{kind}",
                            f"{found[0]} is team {esc.team}'s first active {kind}",
                            who=found[0])
    last = policy.governor_for(esc.team, person) or (team.governor if team else person)
    return Decision(True, "deprovision.handover.unstaffed",
                    f"nobody active covers team {esc.team}: its governor {last} owns it",
                    who=last)


def _governors(team: str, policy: Policy) -> list[str]:
    if team not in policy.teams:
        return []
    level = policy.teams[team].tier
    found = [policy.teams[team].governor]
    found += [policy.teams[t.team].governor for t in policy.tiers if t.level > level]
    return list(dict.fromkeys(found + [t.governor for t in policy.teams.values()]))


def handover(esc: EscalationState, person: str, deprovisioning: int, policy: Policy,
             active: Callable[[str], bool], now: datetime) -> Event | None:
    """The event that takes `esc` from a deprovisioned person: a reassignment when they
    own it, the release of their cover when they cover it (the owner stays accountable);
    None when it is closed or not theirs."""
    if esc.state in CLOSED:
        return None
    named = {"deprovisioning": deprovisioning, "deprovisioned": person}
    if esc.owner == person:
        chosen = successor(esc, person, policy, active)
        return _reassign(esc, str(chosen.who), named, policy, now, chosen.rule)
    if esc.acting_owner == person:
        return Event(escalation_id=esc.id, version=esc.version,
                     action="acting-owner-released", actor=SYSTEM.handle, role="system",
                     at=now, from_state=esc.state, to_state=esc.state, from_owner=esc.owner,
                     to_owner=esc.owner, tier=esc.tier,
                     payload={"acting_owner": person, "cleared_by": "deprovisioning",
                              **named},
                     policy_version=policy.version, rule="deprovision.release-cover")
    return None
