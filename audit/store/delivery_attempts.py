"""The worker's deliveries as use cases: claim what is due, record how each attempt went.
Each opens its own unit of work from the factory it is given and commits it, so an
attempt is recorded the moment it ends (never held for a batch), and nothing here waits
on a receiver."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import Engine

from audit.store import actor_emails, db, outbox, webhooks
from audit.store.uow import SqlUnitOfWork
from workflow import notify
from workflow.notify import Outcome

UowFactory = Callable[[], SqlUnitOfWork]
_HOSTS_SQL = "SELECT id, url FROM webhooks WHERE removed_at IS NULL"


@dataclass(frozen=True)
class Attempted:
    """One attempt and how it went; `cancel` when the message has nowhere to go."""

    message: outbox.Message
    outcome: Outcome
    at: float
    duration_ms: float
    cancel: str | None = None


def claim(*, engine: Engine, uow: UowFactory, now: float, limit: int, lease: float,
          skip_targets: tuple[str, ...] = (), skip_mail: bool = False
          ) -> list[outbox.Message]:
    """Claim up to `limit` due messages for `lease` seconds (none to the skipped)."""
    with db.single_read(engine) as conn:  # a plain read first: no lock if none is due
        if not outbox.any_due(conn, now):
            return []
    with uow() as work:
        claimed = outbox.claim(work.conn, now, limit, lease, skip_targets=skip_targets,
                               skip_mail=skip_mail)
        work.commit()
    return claimed


def release(*, uow: UowFactory, messages: list[outbox.Message]) -> None:
    """Give claims back unattempted."""
    with uow() as work:
        for m in messages:
            outbox.release(work.conn, m)
        work.commit()


def subscription_hosts(engine: Engine) -> dict[str, str]:
    """Each subscription's target host ("host:port"), by subscription id."""
    with db.single_read(engine) as conn:
        rows = conn.exec_driver_sql(_HOSTS_SQL).all()
    return {str(r[0]): host_of(str(r[1])) for r in rows}


def host_of(url: str) -> str:
    """The lane a URL's deliveries share: its host and port."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


def signing(engine: Engine, target: str, at: float) -> tuple[str, list[str], bool] | None:
    """(url, secrets that sign now, active) of a subscription, or None if removed."""
    with db.single_read(engine) as conn:
        return webhooks.signing(conn, target, at)


def address_of(engine: Engine, handle: str) -> str | None:
    """The mail address of an active actor, or None."""
    with db.single_read(engine) as conn:
        return actor_emails.address_of(conn, handle)


def record(*, uow: UowFactory, attempted: Attempted, schedule: Sequence[float],
           now: datetime) -> None:
    """One attempt on the delivery log, and what follows: done, retried later, or (the
    last attempt failed) on the ledger as notification-failed (and webhook-disabled on
    410 Gone)."""
    r, m = attempted, attempted.message
    attempt = m.attempts + 1
    with uow() as work:
        conn = work.conn
        outcome = "cancelled" if r.cancel else (
            "delivered" if r.outcome.delivered else "failed")
        outbox.log_attempt(conn, m, attempt=attempt, at=r.at, outcome=outcome,
                           status_code=r.outcome.status, duration_ms=r.duration_ms,
                           error=r.cancel or r.outcome.error)
        if r.cancel:
            outbox.finish(conn, m, outbox.CANCELLED, attempt, r.at)
        else:
            step = notify.after_attempt(r.outcome, attempt, schedule)
            if not step.done:
                outbox.retry_later(conn, m, attempt, time.time() + step.delay)
            else:
                outbox.finish(conn, m, outbox.FAILED if step.failed else outbox.DELIVERED,
                              attempt, r.at)
                if step.failed:
                    _on_record(work, r, attempt, step.disable, now)
        work.commit()


def _on_record(work: SqlUnitOfWork, r: Attempted, attempt: int, disable: bool,
               now: datetime) -> None:
    """An alert that reached no one is on the record (and a gone endpoint too)."""
    m = r.message
    version = work.policies.active_or_raise().version
    if disable:
        webhooks.disable(work.conn, m.target, "the receiver answered 410 Gone", now)
        work.append(webhooks.system_record(
            "webhook-disabled", actor="system", role="system",
            payload={"webhook": m.target, "status": 410}, policy_version=version,
            now=now, rule="notify.gone"), [], now)
    work.append(webhooks.system_record(
        "notification-failed", actor="system", role="system",
        payload={"channel": m.channel, "target": m.target, "escalation": m.escalation_id,
                 "event_seq": m.seq, "event_type": m.event_type,
                 "message": m.webhook_id, "attempts": attempt,
                 "last_status": r.outcome.status},
        policy_version=version, now=now, rule="notify.failed"), [], now)


def purge(*, uow: UowFactory, before: float) -> None:
    """Forget delivery-log lines and finished messages older than `before`."""
    with uow() as work:
        outbox.purge(work.conn, before)
        work.commit()
