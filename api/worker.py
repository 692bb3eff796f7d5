"""The worker: SLA sweeps and the outbox's deliveries, in a loop. Any number may run at
once: each message is claimed by one (a lease that expires if its worker dies)."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from api.container import Baton
from api.delivery import Targets, close_connections, send_mail, send_webhook
from api.fault_log import log_fault
from api.witnessing import Witnessing
from audit.errors import DatabaseFailed
from audit.store import actor_emails, outbox, webhooks
from audit.store.uow import SqlUnitOfWork
from workflow import notify, sla_sweep
from workflow.notify import Outcome

log = logging.getLogger("baton.worker")
PURGE_EVERY = 3600.0


@dataclass(frozen=True)
class Attempted:
    """One attempt and how it went; `cancel` when the message has nowhere to go."""

    message: outbox.Message
    outcome: Outcome
    at: float
    duration_ms: float
    cancel: str | None = None


class Worker:
    """Sweeps every `interval` seconds; looks for due messages every `poll` seconds."""

    def __init__(self, baton: Baton, *, interval: float = 10.0, threads: int = 4,
                 batch: int = 32):
        s = baton.settings
        self.baton = baton
        self.interval = interval
        self.poll = s["BATON_WORKER_POLL"]
        self.batch = batch
        self.lease = s["BATON_OUTBOX_LEASE"]
        self.timeout = s["BATON_WEBHOOK_TIMEOUT"]
        text = s["BATON_WEBHOOK_RETRY_SCHEDULE"]
        self.schedule = notify.parse_schedule(text) if text else notify.DEFAULT_SCHEDULE
        self.targets = Targets(s["BATON_WEBHOOK_ALLOW_INSECURE"],
                               s["BATON_WEBHOOK_ALLOW_PRIVATE"])
        self.public_url = s["BATON_PUBLIC_URL"]
        self.smtp_url = s["BATON_SMTP_URL"]
        self.sender = s["BATON_MAIL_FROM"]
        self.keep_seconds = s["BATON_DELIVERY_LOG_DAYS"] * 86400.0
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="deliver")
        self.stop = threading.Event()
        self._purged: float | None = None  # never yet (not "at boot": monotonic's zero)
        self.witnessing = Witnessing.from_path(baton.engine, lambda: baton.vkey,
                                               s["BATON_WITNESS_POLICY"])

    def uow(self) -> SqlUnitOfWork:
        """A unit of work that commits synchronously (a worker acknowledges no one)."""
        return self.baton.uow()

    def run(self, once: bool = False) -> None:
        """Sweep and deliver until stopped (or once: one sweep, then every message due)."""
        next_sweep = 0.0
        try:
            while not self.stop.is_set():
                if time.monotonic() >= next_sweep:
                    self.sweep()
                    next_sweep = time.monotonic() + self.interval
                try:
                    while self.deliver_due() and not self.stop.is_set():
                        pass
                    self.witness()
                    # Once too: an operator who runs `baton worker --once` from cron has
                    # no other process to keep the delivery log to its period.
                    self.purge()
                    if once:
                        return
                except DatabaseFailed as exc:
                    # The database is away (restarting, full, read-only): wait and try
                    # again, as the API's requests do, instead of leaving nobody to
                    # sweep and deliver until a restart.
                    if once:
                        raise
                    log_fault(log, "worker round failed; retrying", exc)
                    self.stop.wait(min(30.0, max(1.0, self.interval)))
                    continue
                self.stop.wait(self.poll)
        finally:
            self.pool.shutdown(wait=True)
            close_connections()

    def sweep(self) -> None:
        """Record every breach now due (and tell of it, through the outbox)."""
        try:
            swept = sla_sweep.sweep(uow_factory=self.uow, now=self.baton.now())
            if swept.events:
                log.info("swept: %d events on %d escalations", swept.events,
                         swept.escalations)
        except Exception as exc:  # a failing sweep must not stop deliveries
            log_fault(log, "sweep failed", exc)

    def witness(self) -> None:
        """Send the newest checkpoint to the policy's witnesses (BATON_WITNESS_POLICY)."""
        if self.witnessing is None:
            return
        try:
            self.witnessing.step()
        except Exception as exc:  # a witness round must not stop sweeps and deliveries
            log_fault(log, "witnessing failed", exc)

    def deliver_due(self) -> int:
        """Claim, send and record one batch of due messages; how many were attempted."""
        now = time.time()
        with self.baton.engine.connect() as conn:
            if not outbox.any_due(conn, now):
                return 0
        with self.uow() as uow:
            claimed = outbox.claim(uow.conn, now, self.batch, self.lease)
            uow.commit()
        if not claimed:
            return 0
        results = list(self.pool.map(self._attempt, claimed))
        self._record(results)
        return len(results)

    def _attempt(self, message: outbox.Message) -> Attempted:
        started = time.time()
        clock = time.perf_counter()
        cancel = None
        if message.channel == outbox.WEBHOOK:
            with self.baton.engine.connect() as conn:
                found = webhooks.signing(conn, message.target, started)
            if found is None or not found[2]:
                cancel = "the subscription was removed or disabled"
                outcome = Outcome(None, cancel)
            else:
                outcome = send_webhook(message, url=found[0], secrets=found[1],
                                       public_url=self.public_url, targets=self.targets,
                                       timeout=self.timeout)
        else:
            outcome, cancel = self._mail(message)
        return Attempted(message, outcome, started, (time.perf_counter() - clock) * 1000,
                         cancel)

    def _mail(self, message: outbox.Message) -> tuple[Outcome, str | None]:
        with self.baton.engine.connect() as conn:
            address = actor_emails.address_of(conn, message.target)
        if not address:
            return Outcome(None, "no address"), "the actor has no email address now"
        if not self.smtp_url:
            return Outcome(None, "BATON_SMTP_URL is not set"), None
        return send_mail(message, to=address, smtp_url=self.smtp_url, sender=self.sender,
                         public_url=self.public_url, timeout=self.timeout), None

    def _record(self, results: list[Attempted]) -> None:
        with self.uow() as uow:
            conn = uow.conn
            for r in results:
                m, attempt = r.message, r.message.attempts + 1
                outcome = "cancelled" if r.cancel else (
                    "delivered" if r.outcome.delivered else "failed")
                outbox.log_attempt(conn, m, attempt=attempt, at=r.at, outcome=outcome,
                                   status_code=r.outcome.status, duration_ms=r.duration_ms,
                                   error=r.cancel or r.outcome.error)
                if r.cancel:
                    outbox.finish(conn, m, outbox.CANCELLED, attempt, r.at)
                    continue
                step = notify.after_attempt(r.outcome, attempt, self.schedule)
                if not step.done:
                    outbox.retry_later(conn, m, attempt, time.time() + step.delay)
                    continue
                outbox.finish(conn, m, outbox.FAILED if step.failed else outbox.DELIVERED,
                              attempt, r.at)
                if step.failed:
                    self._on_record(uow, r, attempt, step.disable)
            uow.commit()

    def _on_record(self, uow: SqlUnitOfWork, r: Attempted, attempt: int,
                   disable: bool) -> None:
        """An alert that reached no one is on the record (and a gone endpoint too)."""
        m, now = r.message, self.baton.now()
        version = uow.policies.active_or_raise().version
        if disable:
            webhooks.disable(uow.conn, m.target, "the receiver answered 410 Gone", now)
            uow.append(webhooks.system_record(
                "webhook-disabled", actor="system", role="system",
                payload={"webhook": m.target, "status": 410}, policy_version=version,
                now=now, rule="notify.gone"), [], now)
        uow.append(webhooks.system_record(
            "notification-failed", actor="system", role="system",
            payload={"channel": m.channel, "target": m.target, "escalation": m.escalation_id,
                     "event_seq": m.seq, "event_type": m.event_type,
                     "message": m.webhook_id, "attempts": attempt,
                     "last_status": r.outcome.status},
            policy_version=version, now=now, rule="notify.failed"), [], now)

    def purge(self) -> None:
        """Forget delivery-log lines past the retention period (in the first round, then
        once an hour)."""
        if self._purged is not None and time.monotonic() - self._purged < PURGE_EVERY:
            return
        self._purged = time.monotonic()
        with self.uow() as uow:
            outbox.purge(uow.conn, time.time() - self.keep_seconds)
            uow.commit()
