"""`baton webhooks`, `baton notifications` and `baton worker`: subscriptions and the
delivery log from the command line, and the process that sweeps and delivers."""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import threading
from collections.abc import Callable
from typing import Any

import click

from api.cli_context import fail, info, operator, with_baton
from api.container import WEBHOOKS, Baton
from api.delivery import Targets, resolve
from api.worker import Worker
from audit.reads import delivery_log
from audit.store import webhooks
from workflow import admin_handlers


@click.group("webhooks")
def webhooks_group() -> None:
    """Subscribe URLs to signed webhooks (Standard Webhooks); read their delivery log."""


def _echo(value: Any) -> None:
    click.echo(json.dumps(value, sort_keys=True))


@webhooks_group.command("add")
@click.argument("url")
@click.option("--events", required=True,
              help="Comma-separated event types (escalation.sla_breached,…) or *")
@click.option("--description", default=None)
@click.option("--as", "handle", default="system", help="Who subscribes (recorded)")
@with_baton
def webhooks_add(baton: Baton, url: str, events: str, description: str | None,
                 handle: str) -> None:
    """Subscribe URL; prints one JSON object with its id and secret (shown once)."""
    s = baton.settings
    targets = Targets(s["BATON_WEBHOOK_ALLOW_INSECURE"], s["BATON_WEBHOOK_ALLOW_PRIVATE"])
    created = admin_handlers.subscribe_webhook(
        uow=baton.uow, webhooks=WEBHOOKS, actor=operator(handle), url=url,
        events=[e.strip() for e in events.split(",") if e.strip()],
        description=description, secret=webhooks.new_secret(),
        vet=lambda target: resolve(target, targets)[1], now=baton.now())
    _echo(created)


@webhooks_group.command("list")
@with_baton
def webhooks_list(baton: Baton) -> None:
    """Every subscription, one JSON object a line (never a secret)."""
    with baton.engine.connect() as conn:
        for item in webhooks.listing(conn):
            _echo(item)


@webhooks_group.command("remove")
@click.argument("webhook_id")
@click.option("--as", "handle", default="system", help="Who removes it (recorded)")
@with_baton
def webhooks_remove(baton: Baton, webhook_id: str, handle: str) -> None:
    """Remove a subscription."""
    admin_handlers.remove_webhook(uow=baton.uow, webhooks=WEBHOOKS, actor=operator(handle),
                                  webhook_id=webhook_id, now=baton.now())
    info(f"removed {webhook_id}")


@webhooks_group.command("rotate-secret")
@click.argument("webhook_id")
@click.option("--grace", type=float, default=None,
              help="Seconds the old secret keeps signing  [default: 24 h]")
@click.option("--as", "handle", default="system", help="Who rotates it (recorded)")
@with_baton
def webhooks_rotate(baton: Baton, webhook_id: str, grace: float | None, handle: str) -> None:
    """A new secret (printed as JSON); the old one signs beside it for the grace period."""
    rotated = admin_handlers.rotate_webhook_secret(
        uow=baton.uow, webhooks=WEBHOOKS, actor=operator(handle), webhook_id=webhook_id,
        secret=webhooks.new_secret(),
        grace_seconds=baton.settings["BATON_WEBHOOK_ROTATION_GRACE"]
        if grace is None else grace, now=baton.now())
    _echo(rotated)


@webhooks_group.command("deliveries")
@click.argument("webhook_id")
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
@with_baton
def webhooks_deliveries(baton: Baton, webhook_id: str, limit: int) -> None:
    """A subscription's messages, newest first, each with its attempts (JSON lines)."""
    with baton.engine.connect() as conn:
        if webhooks.find(conn, webhook_id) is None:
            fail(f"no webhook subscription {webhook_id!r}")
        for item in webhooks.message_log(conn, webhook_id, limit):
            _echo(item)


@click.group("notifications")
def notifications_group() -> None:
    """The delivery log of every notification: webhooks and mail."""


@notifications_group.command("deliveries")
@click.option("--channel", type=click.Choice(delivery_log.CHANNELS), default=None,
              help="Only mail (email) or only webhooks")
@click.option("--to", "target", default=None,
              help="A recipient's handle (email) or a subscription id (webhook)")
@click.option("--escalation", "escalation_id", default=None)
@click.option("--status", type=click.Choice(delivery_log.STATUSES), default=None)
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
@with_baton
def notifications_deliveries(baton: Baton, channel: str | None, target: str | None,
                             escalation_id: str | None, status: str | None,
                             limit: int) -> None:
    """Messages, newest first, each with its attempts (JSON lines): whether a mail
    reached its recipient (named by handle, never by address)."""
    with baton.engine.connect() as conn:
        for item in delivery_log.messages(conn, channel=channel, target=target,
                                          escalation_id=escalation_id, status=status,
                                          limit=limit):
            _echo(item)


@click.command("worker")
@click.option("--once", is_flag=True, help="One sweep, deliver what is due, then exit")
@click.option("--interval", type=click.FloatRange(0.05), default=10.0, show_default=True,
              help="Seconds between SLA sweeps (due messages are looked for every "
                   "BATON_WORKER_POLL seconds)")
@with_baton
def worker(baton: Baton, once: bool, interval: float) -> None:
    """Run SLA sweeps and deliver the outbox (webhooks, mail); any number may run."""
    server = os.environ.get("BATON_WORKER_BESIDE", "")
    beside = server.isascii() and server.isdigit()
    if not beside:  # `baton serve` checked the schema before starting this one
        baton.require_current_schema()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(message)s")
    baton.policy()
    running = Worker(baton, interval=interval)
    handler = _stop_on_request(running.stop)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    if beside:  # started by `baton serve`: end with it
        threading.Thread(target=_end_with, args=(int(server), running.stop), daemon=True,
                         name="beside").start()
    running.run(once=once)


# How long a stopping worker may take to finish what it holds before it exits anyway:
# a delivery or sweep cut short is not lost (its lease expires and another worker, or
# this one's successor, takes it up again: at least once).
WIND_DOWN_SECONDS = 15.0


def _stop_on_request(stop: threading.Event) -> Callable[[int, Any], None]:
    """The worker's SIGTERM and SIGINT handler: the first winds the worker down, later ones
    change nothing. A handler runs in the main thread between any two bytecodes, also while
    that thread holds the stop event's lock (inside its wait, or inside a first handler's
    set): setting the event there would wait on itself for ever. So the handler only puts
    on a SimpleQueue (reentrant, safe in a handler), and a thread of its own winds down."""
    asked: queue.SimpleQueue[int] = queue.SimpleQueue()
    threading.Thread(target=_wind_down_when_asked, args=(asked, stop), daemon=True,
                     name="wind-down").start()
    return lambda number, _frame: asked.put(number)


def _wind_down_when_asked(asked: queue.SimpleQueue[int], stop: threading.Event) -> None:
    asked.get()
    _wind_down(stop)


def _wind_down(stop: threading.Event) -> None:
    """Ask the worker's loops to stop, and make sure the process ends soon after."""
    stop.set()
    timer = threading.Timer(WIND_DOWN_SECONDS, os._exit, args=(0,))
    timer.daemon = True
    timer.start()


def _end_with(server: int, stop: threading.Event) -> None:
    """Stop the worker once the server it was started beside is gone, even when that
    server was killed outright (SIGKILL, a crash): no worker outlives its server."""
    while not stop.wait(1.0):
        try:
            os.kill(server, 0)
        except (ProcessLookupError, PermissionError):  # gone (or the pid is someone else's)
            _wind_down(stop)
