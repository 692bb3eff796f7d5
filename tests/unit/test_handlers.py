"""The service layer's handlers against the fake unit of work: each write is one call that
opens its unit of work, reads the policy in force, acts, and commits, or rolls back on a
refusal; idempotent requests find their first response; nothing is kept that was not
committed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.unit.fakes import DEMO_ACTORS, FakeUnitOfWork
from tests.unit.scenario import OPEN, T0
from workflow import admin_handlers, handlers
from workflow.errors import AuthorityDenied, InvalidTransition, VersionConflict
from workflow.handler_ports import Responses
from workflow.policy import Policy
from workflow.services import Outcome


class Head:
    def __init__(self, size: int):
        self.checkpoint_size = size


class RequestUnitOfWork(FakeUnitOfWork):
    """The fake, with what a request's unit of work adds: stored responses, reads sent
    ahead, checkpoints."""

    def __init__(self, policy: Policy):
        super().__init__(policy=policy)
        self.idempotency = KeptResponses()
        self.ahead: list[str] = []
        self.checkpoints: list[datetime] = []
        self.opened = 0

    def __enter__(self) -> RequestUnitOfWork:
        self.opened += 1
        return self

    def prepare_to_act(self, escalation_id: str) -> None:
        self.ahead.append(escalation_id)

    def head(self) -> Head:
        return Head(len(self.checkpoints))

    def checkpoint(self, now: datetime, force: bool = False) -> str | None:
        self.checkpoints.append(now)
        return f"note {len(self.checkpoints)}"


class KeptResponses:
    def __init__(self) -> None:
        self.kept: dict[tuple[str, str], Any] = {}

    def find(self, actor: str, key: str) -> Any | None:
        return self.kept.get((actor, key))

    def save(self, actor: str, key: str, response: Any, *, escalation_id: str | None,
             at: datetime) -> None:
        self.kept[(actor, key)] = response


class AlreadyDone(Exception):
    pass


class Key:
    """An Idempotency-Key as an entry point gives it (Once)."""

    def __init__(self, uow: RequestUnitOfWork):
        self.uow = uow
        self.commits_when_kept: int | None = None

    def check(self, responses: Responses) -> None:
        found = responses.find("alice", "k-1")
        if found is not None:
            raise AlreadyDone(found)

    def keep(self, responses: Responses, written: Any, at: datetime) -> None:
        self.commits_when_kept = self.uow.commits
        responses.save("alice", "k-1", written.outcome.seq, escalation_id=None, at=at)


@pytest.fixture
def uow(policy: Policy) -> RequestUnitOfWork:
    return RequestUnitOfWork(policy)


def _open(uow: RequestUnitOfWork, **kw: Any) -> handlers.Written[Any]:
    return handlers.open_escalation(uow=lambda: uow, actor=DEMO_ACTORS["alice"],
                                    escalation_id="esc-1", payload=dict(OPEN), now=T0,
                                    shown=handlers.nothing_shown, **kw)


def test_a_write_is_one_transaction_and_shows_what_it_read_before_the_commit(
        uow: RequestUnitOfWork, policy: Policy) -> None:
    _open(uow)
    seen: list[tuple[int, str]] = []

    def shown(tx: RequestUnitOfWork, out: Outcome) -> str:
        seen.append((tx.commits, out.escalation.state))
        return f"seq {out.seq}"

    done = handlers.act(uow=lambda: uow, actor=DEMO_ACTORS["alice"], escalation_id="esc-1",
                        action="acknowledge", payload={"note": "mine"}, now=T0,
                        shown=shown)
    assert (uow.opened, uow.commits) == (2, 2)
    assert seen == [(1, "acknowledged")]  # read inside the transaction, before its commit
    assert done.shown == f"seq {done.outcome.seq}" and done.policy is policy
    assert uow.ahead == ["esc-1"]  # the action's reads were sent ahead
    assert [e.action for e in uow.events] == ["open", "acknowledge"]


def test_a_refused_write_rolls_back_and_commits_nothing(uow: RequestUnitOfWork) -> None:
    _open(uow)
    with pytest.raises(InvalidTransition):
        handlers.act(uow=lambda: uow, actor=DEMO_ACTORS["alice"], escalation_id="esc-1",
                     action="resolve", payload={"summary": "s"}, now=T0,
                     shown=handlers.nothing_shown)
    with pytest.raises(VersionConflict):
        handlers.act(uow=lambda: uow, actor=DEMO_ACTORS["alice"], escalation_id="esc-1",
                     action="acknowledge", payload={}, now=T0,
                     shown=handlers.nothing_shown, expected_version=7)
    assert uow.commits == 1 and [e.action for e in uow.events] == ["open"]

    def failing(_tx: RequestUnitOfWork, _out: Outcome) -> None:
        raise RuntimeError("the response could not be read")

    with pytest.raises(RuntimeError):  # recorded, then failed: rolled back all the same
        handlers.act(uow=lambda: uow, actor=DEMO_ACTORS["alice"], escalation_id="esc-1",
                     action="acknowledge", payload={"note": "n"}, now=T0, shown=failing)
    assert uow.commits == 1 and [e.action for e in uow.events] == ["open"]
    assert uow.escalations.get("esc-1").state == "opened"  # type: ignore[union-attr]


def test_an_idempotent_write_keeps_its_response_before_the_commit_and_a_retry_finds_it(
        uow: RequestUnitOfWork) -> None:
    key = Key(uow)
    first = _open(uow, once=key)
    assert key.commits_when_kept == 0 and uow.commits == 1
    with pytest.raises(AlreadyDone) as again:
        _open(uow, once=key)
    assert again.value.args == (first.outcome.seq,)
    assert uow.commits == 1 and len(uow.events) == 1  # the retry wrote nothing


def test_a_form_payload_is_read_against_the_policy_in_force_and_reads_ahead_are_optional(
        uow: RequestUnitOfWork, policy: Policy) -> None:
    _open(uow)
    given: list[Policy] = []

    def payload(in_force: Policy) -> dict[str, Any]:
        given.append(in_force)
        return {"note": "from a form"}

    done = handlers.act(uow=lambda: uow, actor=DEMO_ACTORS["alice"], escalation_id="esc-1",
                        action="acknowledge", payload=payload, now=T0,
                        shown=handlers.nothing_shown, reads_ahead=False)
    assert given == [policy] and done.outcome.event.payload["note"] == "from a form"
    assert uow.ahead == []


def test_a_feedback_answer_needs_a_link_of_an_escalation_it_names(
        uow: RequestUnitOfWork) -> None:
    with pytest.raises(handlers.LinkNotIssued):
        handlers.answer_feedback(uow=lambda: uow, escalation_id="nope", link_id="l-1",
                                 payload={"confirmed": True}, now=T0)
    assert uow.commits == 0


def test_erasure_and_policy_are_checked_against_the_policy_in_force(
        uow: RequestUnitOfWork, policy: Policy) -> None:
    _open(uow)
    with pytest.raises(AuthorityDenied):
        handlers.erase_customer(uow=lambda: uow, actor=DEMO_ACTORS["aud"],
                                customer_id="cust-42", now=T0)
    done = handlers.erase_customer(uow=lambda: uow, actor=DEMO_ACTORS["root"],
                                   customer_id="cust-42", now=T0)
    assert list(done.events) == ["esc-1"] and uow.commits == 2


def test_initialising_signs_the_first_checkpoint_once(uow: RequestUnitOfWork,
                                                       policy: Policy) -> None:
    done = handlers.initialise(uow=lambda: uow, bootstrap=DEMO_ACTORS["root"],
                               operator=DEMO_ACTORS["root"], text="", source="-",
                               given=False, now=T0)
    assert done.policy is None and done.seq is None  # the policy in force is kept
    handlers.initialise(uow=lambda: uow, bootstrap=DEMO_ACTORS["root"],
                        operator=DEMO_ACTORS["root"], text="", source="-", given=False,
                        now=T0)
    assert uow.checkpoints == [T0] and uow.commits == 2


class Accounts:
    """workflow.access_grants.AccessAccounts, in memory: what was granted and mailed."""

    def __init__(self) -> None:
        self.added: list[tuple[str, list[str], str | None]] = []
        self.emails: dict[str, str | None] = {}
        self.by: list[Any] = []

    def account(self, handle: str) -> None:
        return None

    def grant(self, handle: str, roles: list[str], team: str | None, *, by: Any,
              now: datetime) -> int:
        self.added.append((handle, roles, team))
        self.by.append(by)
        return len(self.added)

    def issue_token(self, handle: str, *, by: Any, now: datetime) -> str:
        return f"bt_{handle}"

    def set_email(self, handle: str, email: str | None, *, by: Any, now: datetime) -> None:
        self.emails[handle] = email


def test_an_actor_gets_roles_and_a_team_of_the_policy_or_nothing_is_written(
        uow: RequestUnitOfWork) -> None:
    accounts = Accounts()
    with pytest.raises(admin_handlers.UnknownTeam, match="unknown team 'nowhere'"):
        admin_handlers.add_actor(uow=lambda: uow, accounts=lambda _tx: accounts,
                                 handle="zed", roles=["agent"], team="nowhere", email=None,
                                 now=T0)
    with pytest.raises(AuthorityDenied) as refused:
        admin_handlers.add_actor(uow=lambda: uow, accounts=lambda _tx: accounts,
                                 handle="zed", roles=["system"], team=None, email=None,
                                 now=T0)
    assert refused.value.rule == "actors.system-role"
    assert accounts.added == [] and uow.commits == 0
    added = admin_handlers.add_actor(uow=lambda: uow, accounts=lambda _tx: accounts,
                                     handle="zed", roles=["agent"], team=None,
                                     email="zed@example.com", now=T0)
    assert added.token == "bt_zed" and added.routed_without_team == ["agent"]
    assert accounts.emails == {"zed": "zed@example.com"} and uow.commits == 1
    assert (accounts.by[0].rule, accounts.by[0].path) == ("permission.manage-actors", "cli")
