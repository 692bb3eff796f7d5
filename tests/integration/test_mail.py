"""Mail to people, through a real SMTP server on loopback (aiosmtpd), and what never
leaves Baton: no text of the content table in any webhook body or mail."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from audit.store import actor_emails
from audit.store.deflated import unpack
from tests.integration.conftest import Ledger
from tests.integration.notifying import dispose_all, subscribe, worker_for
from tests.webhook_receiver import Receiver
from workflow.sla_sweep import sweep

EMAILS = {h: f"{h}@example.org" for h in ("alice", "andy", "bob", "fiona", "sam", "sue")}


class Sink:
    """Keeps every mail: (recipients, raw content)."""

    def __init__(self) -> None:
        self.mails: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.mails.append((list(envelope.rcpt_tos), envelope.content.decode()))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[str, Sink]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield f"smtp://127.0.0.1:{port}", sink
    controller.stop()
    dispose_all()


def _with_addresses(led: Ledger) -> None:
    with led.uow() as uow:
        for handle, address in EMAILS.items():
            actor_emails.set_email(uow.conn, handle, address)
        uow.commit()


def _mails_by_type(sink: Sink) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for rcpts, content in sink.mails:
        subject = next(line for line in content.splitlines() if line.startswith("Subject:"))
        kind = subject.split("] ")[1].split(" ")[0]
        out.setdefault(kind, []).extend(r.split("@")[0] for r in rcpts)
    return out


def test_people_are_mailed_as_the_domain_says(sqlite_led: Ledger,
                                              smtp: tuple[str, Sink]) -> None:
    url, sink = smtp
    led = sqlite_led
    _with_addresses(led)
    led.open("e1")  # billing, frontline: its team is told, not alice who opened it
    led.act("e1", "alice", "acknowledge")
    led.act("e1", "alice", "add-watcher", {"handle": "bob"})
    led.act("e1", "alice", "escalate")  # finance is told; watchers see the state change
    led.act("e1", "fiona", "acknowledge")
    led.act("e1", "fiona", "hand-off", {"to": "sue", "context": "over to you"})
    led.act("e1", "sue", "decline-handoff", {"reason": "not mine"})
    worker_for(led, BATON_SMTP_URL=url).run(once=True)
    got = _mails_by_type(sink)
    assert "andy" in got["escalation.open"] and "alice" not in got["escalation.open"]
    assert "fiona" in got["escalation.escalate"] and "bob" in got["escalation.escalate"]
    assert "sue" in got["escalation.hand_off"]
    assert "sam" in got["escalation.decline_handoff"], "the governor"
    assert "escalation.acknowledge" not in got or "alice" not in got[
        "escalation.acknowledge"], "nobody is told of their own action"
    assert "escalation.add_watcher" not in got
    # A breach: owner, acting owner and governor, and the notified event says so.
    sink.mails.clear()
    led.open("e2", severity="urgent")
    sweep(uow_factory=led.uow, now=led.now + timedelta(minutes=11))
    worker_for(led, BATON_SMTP_URL=url).run(once=True)
    breach = _mails_by_type(sink)["escalation.sla_breached"]
    with led.engine.connect() as conn:
        body = conn.exec_driver_sql(
            "SELECT body FROM ledger WHERE action = 'notified' ORDER BY seq DESC LIMIT 1"
        ).scalar_one()
    notified = json.loads(unpack(body))["payload"]
    assert sorted(breach) == sorted(notified["channels"]["email"])
    assert set(notified["recipients"]) >= set(breach) and len(breach) >= 2
    assert all("@" not in h for h in notified["recipients"] + notified["channels"]["email"])


# Every free-text field, seeded with a string that must never leave Baton.
SEEDED = {
    "open": {"title": "SEEDtitle", "description": "SEEDdescription",
             "customer": {"id": "cust-42", "name": "SEEDname", "contact": "SEEDcontact",
                          "value": "strategic"}},
    "acknowledge": {"note": "SEEDack"},
    "escalate": {"reason": "SEEDreason", "trigger": "authority"},
    "hand-off": {"to": "sue", "context": "SEEDcontext"},
    "decline-handoff": {"reason": "SEEDdecline"},
    "update": {"note": "SEEDupdate", "next_steps": "SEEDnext"},
    "resolve": {"summary": "SEEDsummary"},
    "reopen": {"reason": "SEEDreopen"},
    "debrief": {"what_worked": "SEEDworked", "what_did_not": "SEEDdidnot",
                "root_cause": "SEEDroot", "lessons": ["SEEDlesson"],
                "actions": [{"what": "SEEDaction", "owner": "fay"}]},
}


def test_no_erasable_text_leaves_in_a_webhook_or_a_mail(sqlite_led: Ledger,
                                                        smtp: tuple[str, Sink]) -> None:
    url, sink = smtp
    led = sqlite_led
    _with_addresses(led)
    receiver = Receiver()
    try:
        receiver.secrets.append(subscribe(led, receiver.url)["secret"])
        led.open("e1", **SEEDED["open"])
        led.act("e1", "alice", "acknowledge", SEEDED["acknowledge"])
        led.act("e1", "alice", "update", SEEDED["update"])
        led.act("e1", "alice", "escalate", SEEDED["escalate"])
        led.act("e1", "fiona", "acknowledge", {"note": "SEEDack2"})
        led.act("e1", "fiona", "hand-off", SEEDED["hand-off"])
        led.act("e1", "sue", "decline-handoff", SEEDED["decline-handoff"])
        led.act("e1", "fiona", "resolve", SEEDED["resolve"])
        led.act("e1", "fiona", "reopen", SEEDED["reopen"])
        led.act("e1", "fiona", "resolve", {"summary": "SEEDsummary2"})
        led.act("e1", "fay", "debrief", SEEDED["debrief"])
        worker_for(led, BATON_SMTP_URL=url).run(once=True)
        with led.engine.connect() as conn:
            texts = [r[0] for r in conn.exec_driver_sql("SELECT text FROM content").all()]
        assert len(texts) >= 15 and all("SEED" in t for t in texts if "SEED" in t)
        assert receiver.got and sink.mails
        leaving = [r.body.decode() for r in receiver.got] + [c for _, c in sink.mails]
        for text in texts:
            for piece in (text, text.strip('"[]')):
                assert not any(piece in out for out in leaving), f"{piece!r} left Baton"
        assert not any("SEED" in out for out in leaving)
    finally:
        receiver.close()
