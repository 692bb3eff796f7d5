"""The outbox: the messages an event causes, written in the event's transaction, and
the worker's claims on them.

At write time one INSERT (one statement, one row per message) adds a message per
matching webhook subscription and per recipient with an email address; an event that
reaches nobody writes nothing. The worker claims, per (target, escalation), only the
oldest pending message, so a message waiting for a retry holds back that escalation's
later messages to that target and no others. A claim is a lease: a crashed worker's
claims expire and another worker takes them (at least once; receivers dedupe on
webhook-id)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, update

from audit.log.cloud_events import TYPE_PREFIX, cloud_event
from audit.store import fast_path
from audit.store.schema import outbox
from workflow import notify
from workflow.model import Escalation, Event

EMAIL = "email"
WEBHOOK = "webhook"
PENDING, DELIVERED, FAILED, CANCELLED = "pending", "delivered", "failed", "cancelled"

_SUBSCRIPTIONS = fast_path.Query("SELECT id, events FROM webhooks "
                                 "WHERE disabled_at IS NULL AND removed_at IS NULL")
_Read = tuple[fast_path.Query, dict[str, Any]]  # a query and its parameters
_INSERT_SQL = (
    "INSERT INTO outbox (seq, escalation_id, channel, target, event_type, data, status, "
    "attempts, next_at, created_at) VALUES (:seq, :escalation_id, :channel, :target, "
    ":event_type, :data, 'pending', 0, :now, :now)")


def _mailable_query(recipients: notify.Recipients) -> _Read:
    """Which of the recipients (and the team's members) have an address."""
    params: dict[str, Any] = {f"h{i}": h for i, h in enumerate(recipients.handles)}
    where = [f"handle IN ({', '.join(f':{k}' for k in params)})"] if params else []
    if recipients.team:
        where.append("team = :team")
        params["team"] = recipients.team
    return (fast_path.Query("SELECT handle FROM actors WHERE email IS NOT NULL AND revoked_at "
                            f"IS NULL AND ({' OR '.join(where)}) ORDER BY handle"), params)


class SqlOutbox:
    """The outbox of one unit of work's transaction on `conn` (workflow.ports.Channels)."""

    def __init__(self, conn: Connection):
        self._conn = conn
        self._subscriptions: list[tuple[str, list[str]]] | None = None
        self._sent = False
        self._recipients: tuple[Event, notify.Recipients, _Read | None] | None = None
        self._queued: tuple[Event, dict[str, list[str]]] | None = None

    def queued_for(self, event: Event) -> dict[str, list[str]]:
        """Whom the messages enqueue() just wrote for `event` go to, per channel."""
        if self._queued is None or self._queued[0] is not event:
            return {}
        return {channel: list(targets) for channel, targets in self._queued[1].items()}

    def prepare(self, escalation: Escalation, event: Event) -> None:
        """Send ahead the reads enqueue() will make for this event: on PostgreSQL they
        travel with the next round trip (the log head's read), not one of their own."""
        if self._subscriptions is None and not self._sent:
            _SUBSCRIPTIONS.prefetch(self._conn, {})
            self._sent = True
        found = notify.recipients(escalation, event)
        mailable = _mailable_query(found) if found else None
        self._recipients = (event, found, mailable)
        if mailable is not None:
            mailable[0].prefetch(self._conn, mailable[1])

    def _active(self) -> list[tuple[str, list[str]]]:
        if self._subscriptions is None:
            rows = _SUBSCRIPTIONS.fetch(self._conn, {})
            self._subscriptions = [(r[0], json.loads(r[1])) for r in rows]
        return self._subscriptions

    def _mailable(self, recipients: notify.Recipients, sent: _Read | None = None
                  ) -> list[str]:
        if not recipients:
            return []
        query, params = sent or _mailable_query(recipients)
        rows = query.fetch(self._conn, params)
        return [r[0] for r in rows if r[0] != recipients.actor]

    def enqueue(self, escalation: Escalation, event: Event, seq: int) -> int:
        """Write the messages `event` causes, in its transaction; returns how many."""
        kind = notify.event_type(event.action)
        hooks = [sid for sid, events in self._active() if notify.matches(events, kind)]
        prepared, self._recipients = self._recipients, None
        mail = (self._mailable(prepared[1], prepared[2]) if prepared and prepared[0] is event
                else self._mailable(notify.recipients(escalation, event)))
        self._queued = (event, {EMAIL: mail, WEBHOOK: hooks})
        if not hooks and not mail:
            return 0
        data = json.dumps(notify.facts(escalation, event, seq), sort_keys=True,
                          separators=(",", ":"))
        now = time.time()
        rows = [{"seq": seq, "escalation_id": escalation.id, "channel": channel,
                 "target": target, "event_type": kind, "data": data, "now": now}
                for channel, targets in ((WEBHOOK, hooks), (EMAIL, mail))
                for target in targets]
        fast_path.write_many(self._conn, _INSERT_SQL, rows)
        return len(rows)

    def enqueue_ledger(self, record: dict[str, Any], seq: int, origin: str) -> int:
        """Write the CloudEvent of ledger record `seq` for each subscription to
        `ledger.*`, in its transaction (one ordering lane per target: in seq order)."""
        hooks = [sid for sid, events in self._active()
                 if notify.LEDGER in events and sid != _about(record)]
        if not hooks:
            return 0
        data = json.dumps(cloud_event(record, origin), sort_keys=True,
                          separators=(",", ":"))
        now = time.time()
        fast_path.write_many(self._conn, _INSERT_SQL, [
            {"seq": seq, "escalation_id": notify.LEDGER_LANE, "channel": WEBHOOK,
             "target": sid, "event_type": TYPE_PREFIX + str(record["action"]), "data": data,
             "now": now} for sid in hooks])
        return len(hooks)


def _about(record: dict[str, Any]) -> str | None:
    """The subscription a delivery's failure record is about: it is not sent to that one
    (a receiver that is down would otherwise be sent the record of each message it
    missed, and fail that too, without end); the stream serves it all the same."""
    payload = record.get("payload") or {}
    if record.get("action") == "notification-failed":
        return payload.get("target")
    if record.get("action") == "webhook-disabled":
        return payload.get("webhook")
    return None


# --- the worker's side ---------------------------------------------------------------

@dataclass(frozen=True)
class Message:
    """A claimed message."""

    id: int
    seq: int
    escalation_id: str
    channel: str
    target: str
    event_type: str
    data: dict[str, Any]
    attempts: int
    created_at: float

    @property
    def webhook_id(self) -> str:
        """The Standard Webhooks message id: the same on every attempt."""
        return f"msg_{self.seq}_{self.target}"


_DUE_SQL = (
    "SELECT o.id FROM outbox o WHERE o.status = 'pending' AND o.next_at <= :now "
    "AND (o.claimed_until IS NULL OR o.claimed_until < :now) "
    "AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.target = o.target "
    "AND p.escalation_id = o.escalation_id AND p.status = 'pending' AND p.id < o.id) "
    "ORDER BY o.id LIMIT :n")
_CLAIMABLE = fast_path.Query(_DUE_SQL, lock="FOR UPDATE OF o SKIP LOCKED")
_CLAIM_SQL = "UPDATE outbox SET claimed_until = :until WHERE id = :id"
_LOAD_SQL = ("SELECT id, seq, escalation_id, channel, target, event_type, data, attempts, "
             "created_at FROM outbox WHERE id = :id")


def any_due(conn: Connection, now: float) -> bool:
    """Whether a message is due (a plain read: no lock is taken to find out)."""
    return bool(fast_path.read_all(conn, _DUE_SQL, {"now": now, "n": 1}))


def claim(conn: Connection, now: float, limit: int, lease: float, *,
          skip_targets: tuple[str, ...] = (), skip_mail: bool = False) -> list[Message]:
    """Claim up to `limit` due messages for `lease` seconds (inside a write transaction:
    on PostgreSQL the rows are locked, others' skipped; on SQLite the writer lock
    serialises claimers), but none to the webhook targets in `skip_targets` (their host
    is busy or backed off) nor, with `skip_mail`, any mail."""
    params: dict[str, Any] = {"now": now, "n": limit}
    params.update({f"s{i}": t for i, t in enumerate(skip_targets)})
    sql = _DUE_SQL.replace(" ORDER BY", _skipping(len(skip_targets), skip_mail) + " ORDER BY")
    ids = [r[0] for r in fast_path.Query(sql, lock=_CLAIMABLE.lock).fetch(conn, params)]
    out = []
    for message_id in ids:
        fast_path.write(conn, _CLAIM_SQL, {"until": now + lease, "id": message_id})
        row = fast_path.read_one(conn, _LOAD_SQL, {"id": message_id})
        out.append(Message(row[0], row[1], row[2], row[3], row[4], row[5],
                           json.loads(row[6]), row[7], row[8]))
    return out


def _skipping(targets: int, mail: bool) -> str:
    """The claim's extra conditions: targets left alone, and mail when its lane is full."""
    out = ""
    if targets:
        names = ", ".join(f":s{i}" for i in range(targets))
        out += f" AND NOT (o.channel = 'webhook' AND o.target IN ({names}))"
    if mail:
        out += " AND o.channel <> 'email'"
    return out


_RELEASE_SQL = "UPDATE outbox SET claimed_until = NULL WHERE id = :id AND status = 'pending'"


def release(conn: Connection, message: Message) -> None:
    """Give a claim back unattempted (its host was backed off before its turn came)."""
    fast_path.write(conn, _RELEASE_SQL, {"id": message.id})


_LOG_SQL = ("INSERT INTO deliveries (message_id, target, attempt, at, outcome, status_code, "
            "duration_ms, error) VALUES (:message_id, :target, :attempt, :at, :outcome, "
            ":status_code, :duration_ms, :error)")
_DONE_SQL = ("UPDATE outbox SET status = :status, attempts = :attempts, done_at = :now, "
             "claimed_until = NULL WHERE id = :id AND status = 'pending'")
_RETRY_SQL = ("UPDATE outbox SET attempts = :attempts, next_at = :next_at, "
              "claimed_until = NULL WHERE id = :id AND status = 'pending'")
_CANCEL_SQL = ("UPDATE outbox SET status = 'cancelled', done_at = :now, claimed_until = NULL "
               "WHERE target = :target AND channel = 'webhook' AND status = 'pending'")


def log_attempt(conn: Connection, message: Message, *, attempt: int, at: float, outcome: str,
                status_code: int | None, duration_ms: float | None,
                error: str | None) -> None:
    """One line of the delivery log."""
    fast_path.write(conn, _LOG_SQL, {
        "message_id": message.id, "target": message.target, "attempt": attempt, "at": at,
        "outcome": outcome, "status_code": status_code, "duration_ms": duration_ms,
        "error": (error or "")[:500] or None})


def finish(conn: Connection, message: Message, status: str, attempts: int,
           now: float) -> None:
    """The message is done: delivered, failed for good, or cancelled."""
    fast_path.write(conn, _DONE_SQL, {"status": status, "attempts": attempts, "now": now,
                                      "id": message.id})


def retry_later(conn: Connection, message: Message, attempts: int, next_at: float) -> None:
    """Another attempt at `next_at`; the claim is given back."""
    fast_path.write(conn, _RETRY_SQL, {"attempts": attempts, "next_at": next_at,
                                       "id": message.id})


def cancel_target(conn: Connection, target: str, now: float) -> None:
    """Drop every pending webhook message to a subscription (removed or disabled)."""
    fast_path.write(conn, _CANCEL_SQL, {"target": target, "now": now})


def requeue(conn: Connection, target: str, message_id: int, now: float) -> bool:
    """Send a message again, from the start of the schedule (an operator's retry)."""
    result = conn.execute(update(outbox).where(
        outbox.c.id == message_id, outbox.c.target == target).values(
        status=PENDING, attempts=0, next_at=now, claimed_until=None, done_at=None))
    return bool(result.rowcount == 1)


_OLDEST_DUE_SQL = ("SELECT MIN(next_at) FROM outbox WHERE status = 'pending' AND next_at <= :now "
                   "AND (claimed_until IS NULL OR claimed_until < :now)")
_LAST_ATTEMPT_SQL = "SELECT MAX(at) FROM deliveries"


@dataclass(frozen=True)
class Backlog:
    """What the outbox's own timestamps say of the worker: how long the oldest message
    that is due and unclaimed has waited (0 when none), and when any worker last made an
    attempt (None when none is logged)."""

    oldest_due_seconds: float
    last_attempt_at: float | None


def backlog(conn: Connection, now: float) -> Backlog:
    """The outbox's backlog now (two indexed reads, no lock)."""
    oldest = fast_path.read_one(conn, _OLDEST_DUE_SQL, {"now": now})
    last = fast_path.read_one(conn, _LAST_ATTEMPT_SQL, {})
    return Backlog(max(0.0, now - float(oldest[0])) if oldest and oldest[0] is not None
                   else 0.0, float(last[0]) if last and last[0] is not None else None)


def purge(conn: Connection, before: float) -> None:
    """Forget delivery-log lines and finished messages older than `before`."""
    fast_path.write(conn, "DELETE FROM deliveries WHERE at < :t", {"t": before})
    fast_path.write(conn, "DELETE FROM outbox WHERE done_at IS NOT NULL AND done_at < :t",
                    {"t": before})
