"""The worker: SLA sweeps and the outbox's deliveries, which never share a loop.

- The sweeper (its own thread) sleeps until the earliest deadline or warning not yet
  recorded: on PostgreSQL a write that moves it sooner wakes it at once (LISTEN/NOTIFY,
  audit/store/timers.py); on SQLite it looks again every TICK seconds. So a breach or a
  warning is recorded within about a second of its moment whatever the deliveries are
  doing. It writes the worker's heartbeat too.
- The dispatcher (the calling thread) claims due messages only as slots free up, in total
  and per target host (api/delivery_lanes.py), and hands each to a pool thread that sends
  it under one total deadline and records how it went at once, in its own transaction.
- Housekeeping (its own thread): witness rounds and the delivery log's purge.
Any number of workers may run at once: each message is claimed by one (a lease that
expires if its worker dies); each breach and warning is recorded once (escalations.due gives
concurrent sweepers different ones, rows locked and skipped by the others, and the
version check refuses a second record)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from api.container import Baton
from api.delivery import Targets, close_connections, send_mail, send_webhook
from api.delivery_lanes import MAIL, Lanes
from api.fault_log import log_fault
from api.witnessing import Witnessing
from audit.errors import DatabaseFailed
from audit.store import delivery_attempts, heartbeats, outbox, timers
from audit.store.delivery_attempts import Attempted
from audit.store.uow import SqlUnitOfWork
from workflow import notify, sla_sweep
from workflow.notify import Outcome

log = logging.getLogger("baton.worker")
PURGE_EVERY = 3600.0
TICK = 0.25  # the sweeper looks at the earliest deadline at least this often (SQLite)
LISTENING = 1.0  # … and this often when it LISTENs for sooner deadlines (PostgreSQL)
BEAT_EVERY = 2.0  # seconds between heartbeats
HOSTS_EVERY = 5.0  # seconds between reads of the subscriptions' hosts

__all__ = ["Attempted", "Worker"]


class Worker:
    """Sweeps on time; delivers in parallel, bounded in total and per host."""

    def __init__(self, baton: Baton, *, interval: float = 10.0, batch: int = 32):
        s = baton.settings
        self.baton = baton
        self.interval = interval  # the longest the sweeper sleeps between full sweeps
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
        self.lanes = Lanes(total=s["BATON_DELIVERY_CONCURRENCY"],
                           per_host=s["BATON_DELIVERY_PER_HOST"])
        self.pool = ThreadPoolExecutor(max_workers=self.lanes.total,
                                       thread_name_prefix="deliver")
        self.stop = threading.Event()
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._cond = threading.Condition()
        self._woken = False  # a delivery ended since the dispatcher last looked
        self._waiting: dict[str, deque[outbox.Message]] = {}
        self._hosts: dict[str, str] = {}
        self._hosts_at = float("-inf")
        self._purged: float | None = None  # never yet (not "at boot": monotonic's zero)
        self._started = time.time()
        self._swept_at: float | None = None
        self._beat_at = float("-inf")
        self.witnessing = Witnessing.from_path(baton.engine, lambda: baton.vkey,
                                               s["BATON_WITNESS_POLICY"])

    def uow(self) -> SqlUnitOfWork:
        """A unit of work that commits synchronously (a worker acknowledges no one)."""
        return self.baton.uow()

    def run(self, once: bool = False) -> None:
        """Sweep and deliver until stopped (or once: one sweep, then every message due)."""
        if once:
            self.sweep()
            self._dispatch(once=True)
            self.witness()
            # Once too: an operator who runs `baton worker --once` from cron has no other
            # process to keep the delivery log to its period.
            self.purge()
            self.pool.shutdown(wait=True)
            close_connections()
            return
        others = [threading.Thread(target=self._sweeping, name="sweeper", daemon=True),
                  threading.Thread(target=self._housekeeping, name="housekeeping",
                                   daemon=True)]
        for t in others:
            t.start()
        try:
            self._dispatch(once=False)
        finally:
            self.stop.set()
            with self._cond:
                self._cond.notify_all()
            for t in others:
                t.join(30)
            self.pool.shutdown(wait=True)
            close_connections()
            self._forget()

    # --- the sweeper ----------------------------------------------------------------

    def _sweeping(self) -> None:
        last_full = float("-inf")
        wake = timers.Wakeup(self.baton.engine, TICK)
        try:
            while not self.stop.is_set():
                try:
                    due = timers.earliest_due(self.baton.engine)
                    now = self.baton.now()
                    if (due is not None and due <= now) or (
                            time.monotonic() - last_full >= self.interval):
                        self.sweep()
                        last_full = time.monotonic()
                        self._swept_at = time.time()
                        continue  # look again at once: the next deadline may be due too
                    self._beat()
                    wait = self.interval if due is None else (due - now).total_seconds()
                    # Listening (PostgreSQL), a write that moves a deadline sooner wakes
                    # it; else it looks again every TICK.
                    wake.wait(min(LISTENING if wake.listening else TICK, max(0.005, wait)))
                except Exception as exc:  # the database is away: try again, never stop
                    log_fault(log, "sweeper round failed; retrying", exc)
                    self.stop.wait(1.0)
        finally:
            wake.close()

    def sweep(self) -> None:
        """Record every breach now due (and tell of it, through the outbox)."""
        try:
            swept = sla_sweep.sweep(uow_factory=self.uow, now=self.baton.now())
            if swept.events:
                log.info("swept: %d events on %d escalations", swept.events,
                         swept.escalations)
        except Exception as exc:  # a failing sweep must not stop the next one
            log_fault(log, "sweep failed", exc)

    def _beat(self) -> None:
        if time.monotonic() - self._beat_at < BEAT_EVERY:
            return
        self._beat_at = time.monotonic()
        heartbeats.beat(uow=self.uow, worker=self.name, started_at=self._started,
                        now=time.time(), swept_at=self._swept_at)

    def _forget(self) -> None:
        try:
            heartbeats.forget(uow=self.uow, worker=self.name)
        except Exception as exc:  # stopping anyway: its row ages out
            log_fault(log, "heartbeat not removed", exc)

    # --- housekeeping ---------------------------------------------------------------

    def _housekeeping(self) -> None:
        while not self.stop.is_set():
            self.witness()
            try:
                self.purge()
            except Exception as exc:
                log_fault(log, "purge failed", exc)
            self.stop.wait(max(self.poll, 1.0))

    def witness(self) -> None:
        """Send the newest checkpoint to the policy's witnesses (BATON_WITNESS_POLICY)."""
        if self.witnessing is None:
            return
        try:
            self.witnessing.step()
        except Exception as exc:  # a witness round must not stop sweeps and deliveries
            log_fault(log, "witnessing failed", exc)

    def purge(self) -> None:
        """Forget delivery-log lines past the retention period (in the first round, then
        once an hour)."""
        if self._purged is not None and time.monotonic() - self._purged < PURGE_EVERY:
            return
        self._purged = time.monotonic()
        delivery_attempts.purge(uow=self.uow, before=time.time() - self.keep_seconds)

    # --- the dispatcher -------------------------------------------------------------

    def _dispatch(self, *, once: bool) -> None:
        while not self.stop.is_set():
            try:
                moved = self.dispatch_round()
            except DatabaseFailed as exc:
                # The database is away (restarting, full, read-only): wait and try
                # again, as the API's requests do.
                if once:
                    raise
                log_fault(log, "delivery round failed; retrying", exc)
                self.stop.wait(min(30.0, max(1.0, self.poll)))
                continue
            with self._cond:
                idle = not self.lanes.busy() and not any(self._waiting.values())
                # Idle, nothing moved, and no delivery ended during the round (its host
                # may have looked full when the round began): nothing more is due.
                if once and idle and not moved and not self._woken:
                    return
                if not moved and not self._woken:
                    self._cond.wait(self.poll)
                self._woken = False

    def dispatch_round(self) -> int:
        """Claim what free slots allow, start what open lanes allow; how many moved."""
        now = time.time()
        if time.monotonic() - self._hosts_at > HOSTS_EVERY:
            self._read_hosts()
        with self._cond:
            free = self.lanes.free() - sum(len(q) for q in self._waiting.values())
            closed = self.lanes.closed(set(self._hosts.values()) | {MAIL}, now)
        claimed: list[outbox.Message] = []
        if free > 0:
            claimed = delivery_attempts.claim(
                engine=self.baton.engine, uow=self.uow, now=now, limit=free,
                lease=self.lease, skip_mail=MAIL in closed,
                skip_targets=tuple(t for t, h in self._hosts.items() if h in closed))
        if any(m.channel == outbox.WEBHOOK and m.target not in self._hosts for m in claimed):
            self._read_hosts()  # a subscription newer than the last read
        with self._cond:
            for m in claimed:
                self._waiting.setdefault(self._host(m), deque()).append(m)
            started, back = self._start_waiting(now)
        if back:  # their host was paused while they waited: claims given back
            delivery_attempts.release(uow=self.uow, messages=back)
        return len(claimed) + started

    def _read_hosts(self) -> None:
        self._hosts = delivery_attempts.subscription_hosts(self.baton.engine)
        self._hosts_at = time.monotonic()

    def _host(self, m: outbox.Message) -> str:
        if m.channel == outbox.EMAIL:
            return MAIL
        # A removed subscription has no host: its own lane (the attempt cancels at once).
        return self._hosts.get(m.target, f"gone:{m.target}")

    def _start_waiting(self, now: float) -> tuple[int, list[outbox.Message]]:
        """Start each waiting message whose lane is open (the caller holds the lock)."""
        started = 0
        back: list[outbox.Message] = []
        for host, queue in self._waiting.items():
            if self.lanes.paused(host, now):
                back.extend(queue)
                queue.clear()
            while queue and self.lanes.open(host, now):
                self.lanes.start(host)
                self.pool.submit(self._deliver, queue.popleft(), host)
                started += 1
        return started, back

    def _deliver(self, message: outbox.Message, host: str) -> None:
        failed_host = False
        try:
            attempted = self.attempt(message)
            out = attempted.outcome
            failed_host = (attempted.cancel is None and out.status is None
                           and not (out.error or "").startswith(("refused", "BATON_SMTP_URL")))
            delivery_attempts.record(uow=self.uow, attempted=attempted,
                                     schedule=self.schedule, now=self.baton.now())
        except Exception as exc:  # the lease expires and another attempt follows
            log_fault(log, "delivery not recorded", exc)
        finally:
            with self._cond:  # the dispatcher starts what the freed slot allows
                self.lanes.finish(host, host_failed=failed_host, now=time.time())
                self._woken = True
                self._cond.notify_all()

    def attempt(self, message: outbox.Message) -> Attempted:
        """Send one message (nothing recorded yet)."""
        started = time.time()
        clock = time.perf_counter()
        cancel = None
        if message.channel == outbox.WEBHOOK:
            found = delivery_attempts.signing(self.baton.engine, message.target, started)
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
        address = delivery_attempts.address_of(self.baton.engine, message.target)
        if not address:
            return Outcome(None, "no address"), "the actor has no email address now"
        if not self.smtp_url:
            return Outcome(None, "BATON_SMTP_URL is not set"), None
        return send_mail(message, to=address, smtp_url=self.smtp_url, sender=self.sender,
                         public_url=self.public_url, timeout=self.timeout), None
