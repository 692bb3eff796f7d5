"""Where a transition's CPU goes over HTTP, layer by layer, next to an authenticated GET.

    python -m bench.breakdown [--escalations 150] [--rounds 3] [--no-postgres]

Runs the lifecycle (open, then the seven actions of bench.workload) in process through
Flask's test client (no socket, no gunicorn: bench.http measures those), and times with
the thread's CPU clock each layer a write request passes through: the request hooks
(authentication, the request guard, the read gate), webargs' parsing of the body, the
service layer's handler and inside it the use case, the unit of work's open, record and
commit, the reads and the representation of the response, and its JSON. Each figure is
per request (the open and the seven actions alike), a median over the rounds, and the
share of the whole request; GET /api/v1/audit/public-key (what bench.http compares
against) is timed the same way in the same rounds. The layers nest: the use case is part
of the handler, the record part of the use case.
"""

from __future__ import annotations

import argparse
import collections
import functools
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import webargs.core
from flask import Flask

import api.http_transaction
import api.representation
import audit.log.ledger
import audit.reads.shown
import audit.store.deflated
import audit.store.outbox
import audit.store.projection
import audit.store.uow
import workflow.handlers
import workflow.services
from api import create_app
from api.cli import DEMO
from audit.store import actors, db
from bench.harness import on_both_backends, print_machine, save
from bench.workload import LIFECYCLE, OPEN
from workflow import policy_loader

# (owner, attribute, label): the layers timed, outermost first.
LAYERS = [
    (webargs.core.Parser, "parse", "webargs: parse and load the body"),
    (workflow.handlers, "act", "handler (an action: unit of work, use case, reads)"),
    (workflow.handlers, "open_escalation", "handler (open)"),
    (workflow.services, "act", "  use case: act"),
    (workflow.services, "open_escalation", "  use case: open"),
    (audit.store.uow.SqlUnitOfWork, "__enter__", "  unit of work: open (BEGIN)"),
    (audit.store.projection, "load_stored", "    the escalation's row, read"),
    (audit.store.uow.SqlUnitOfWork, "record", "    record (ledger, state, spans, outbox)"),
    (audit.log.ledger, "append", "      ledger append"),
    (audit.store.deflated, "packed_for", "        body deflated (SQLite)"),
    (audit.store.projection, "save", "      state saved (snapshot, columns)"),
    (audit.store.projection, "track_spans", "      ownership spans"),
    (audit.store.outbox.SqlOutbox, "prepare", "      outbox: who is told (reads)"),
    (audit.store.outbox.SqlOutbox, "enqueue", "      outbox: messages"),
    (audit.store.uow.SqlUnitOfWork, "commit", "  unit of work: commit (and flush)"),
    (audit.reads.shown, "after_write", "  response: reads (texts, hand-off, related)"),
    (api.representation, "escalation", "response: representation (SLA, allowed actions)"),
    (api.http_transaction, "_respond", "response: JSON"),
]


class Clock:
    """Thread CPU time per label, and calls, while `on`."""

    def __init__(self) -> None:
        self.ns: collections.Counter[str] = collections.Counter()
        self.on = False

    def wrap(self, fn: Callable[..., Any], label: str) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if not self.on:
                return fn(*args, **kwargs)
            start = time.thread_time_ns()
            try:
                return fn(*args, **kwargs)
            finally:
                self.ns[label] += time.thread_time_ns() - start
        return timed


@contextmanager
def timing(app: Flask, clock: Clock) -> Iterator[None]:
    """Every layer and the app's request hooks wrapped while inside."""
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in LAYERS]
    hooks = {key: list(funcs) for key, funcs in app.before_request_funcs.items()}
    for (owner, name, label), (_, _, fn) in zip(LAYERS, saved, strict=True):
        setattr(owner, name, clock.wrap(fn, label))
    for key, funcs in hooks.items():
        app.before_request_funcs[key] = [clock.wrap(f, f"request hook: {f.__name__}")
                                         for f in funcs]
    app.wsgi_app = clock.wrap(app.wsgi_app, "the whole request")  # type: ignore[method-assign]
    try:
        yield
    finally:
        for owner, name, fn in saved:
            setattr(owner, name, fn)
        app.before_request_funcs.update(hooks)
        del app.wsgi_app


def _app(url: str, key: Path) -> tuple[Flask, dict[str, str]]:
    now = datetime.now(UTC)
    engine = db.make_engine(url)
    db.create_schema(engine)
    engine.dispose()
    app = create_app({"BATON_DATABASE_URL": url, "BATON_SIGNING_KEY": str(key),
                      "BATON_CHECKPOINT_EVERY": 1000})
    baton = app.extensions["baton"]
    baton.ensure_key()
    with baton.uow() as uow:
        uow.policies.apply(policy_loader.default_text(), actor="root", role="admin", now=now)
        tokens = {h: actors.add(uow.conn, h, list(r), t, now) for h, r, t in DEMO}
        uow.commit()
    return app, tokens


def measure(_name: str, url: str, _server: int | None, escalations: int,
            rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        app, tokens = _app(url, Path(tmp) / "signing.key")
        http = app.test_client()

        def h(who: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {tokens[who]}"}

        def lifecycle(first: int, n: int) -> int:
            for i in range(first, first + n):
                body = {**OPEN, "customer": {**OPEN["customer"], "id": f"cust-{i}"}}
                r = http.post("/api/v1/escalations", json=body, headers=h("alice"))
                assert r.status_code == 201, r.text
                eid = r.get_json()["id"]
                for who, action, step in LIFECYCLE:
                    r = http.post(f"/api/v1/escalations/{eid}/actions/{action}", json=step,
                                  headers=h(who))
                    assert r.status_code == 200, r.text
            return n * (1 + len(LIFECYCLE))

        lifecycle(0, 5)  # warm
        writes: list[dict[str, float]] = []
        gets: list[dict[str, float]] = []
        first = 5
        for _ in range(rounds):
            clock = Clock()
            with timing(app, clock):
                clock.on = True
                n = lifecycle(first, escalations)
                clock.on = False
            first += escalations
            writes.append({k: v / n / 1000 for k, v in clock.ns.items()})
            clock = Clock()
            with timing(app, clock):
                clock.on = True
                for _ in range(n):
                    assert http.get("/api/v1/audit/public-key", headers=h("aud")).status_code \
                        == 200
                clock.on = False
            gets.append({k: v / n / 1000 for k, v in clock.ns.items()})
        app.extensions["baton"].engine.dispose()
    return {"write_us": _medians(writes), "get_us": _medians(gets),
            "escalations": escalations, "rounds": rounds}


def _medians(runs: list[dict[str, float]]) -> dict[str, float]:
    keys = {k for run in runs for k in run}
    return {k: round(statistics.median(run.get(k, 0.0) for run in runs), 1) for k in keys}


def _order(label: str) -> int:
    for i, (_, _, known) in enumerate(LAYERS):
        if label == known:
            return i + 10
    return 0 if label == "the whole request" else 5


def report(name: str, figures: dict[str, Any]) -> None:
    write, get = figures["write_us"], figures["get_us"]
    whole = write["the whole request"]
    print(f"\n{name}: CPU per request (us, thread clock; median of {figures['rounds']} "
          f"rounds of {figures['escalations']} lifecycles)")
    for label in sorted(write, key=_order):
        print(f"  {label:58} {write[label]:8.1f}  {100 * write[label] / whole:5.1f} %")
    print(f"  {'authenticated GET /api/v1/audit/public-key, whole request':58} "
          f"{get['the whole request']:8.1f}  (ratio of a write to a GET by CPU: "
          f"{get['the whole request'] / whole:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--escalations", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    info = print_machine()
    figures = on_both_backends(
        lambda name, url, server: measure(name, url, server, args.escalations, args.rounds),
        not args.no_postgres)
    for name, found in figures.items():
        report(name, found)
    save("breakdown", info, figures)  # it says where


if __name__ == "__main__":
    main()
