"""`baton demo` as a newcomer runs it: the worker it starts beside the server sweeps a
breach and announces it to a real webhook receiver (signatures verified) and a real SMTP
mailbox (aiosmtpd), without anyone running `baton worker`."""

from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import requests

from api.testbed import BATON, free_port
from audit.store import actor_emails, db
from audit.store.deflated import unpack
from tests.cli_here import set_up
from tests.mail_sink import Mail, MailSink
from tests.webhook_receiver import Receiver
from workflow import policy_loader

ACK_WITHIN = 2  # seconds: the urgent acknowledgment clock of this test's policy


def _subject(mail: Mail) -> str:
    return str(email.message_from_string(mail.content, policy=email.policy.default)["subject"])


def _demo(cwd: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str,
                                                     dict[str, str]]:
    """`baton demo` on a free port; its tokens (read from its stdout) once it answers."""
    port = free_port()
    proc = subprocess.Popen([*BATON, "demo", "--port", str(port), "--workers", "1"],
                            cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    assert proc.stdout is not None
    tokens: dict[str, str] = {}
    for line in proc.stdout:
        parts = line.split()
        if len(parts) == 4 and parts[0].isalpha():
            tokens[parts[0]] = parts[3]
        if line.startswith("Dashboard:"):
            break
    # gunicorn's access log follows on stdout: keep the pipe drained.
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                return proc, url, tokens
        except requests.RequestException:
            pass
        assert proc.poll() is None, "baton demo exited at start"
        assert time.monotonic() < deadline, "baton demo did not answer in 60 s"
        time.sleep(0.1)


def test_the_demo_announces_a_breach_with_no_second_command(
        tmp_path: Path, receiver: Receiver, sink: MailSink) -> None:
    policy = tmp_path / "quick.toml"
    policy.write_text(policy_loader.default_text().replace(
        'sla = { acknowledge = "10m", update = "30m"',
        f'sla = {{ acknowledge = "{ACK_WITHIN}s", update = "30m"'), encoding="utf-8")
    database = f"sqlite:///{tmp_path / 'baton.db'}"
    env = {**os.environ, "BATON_DATABASE_URL": database,
           "BATON_SIGNING_KEY": str(tmp_path / "signing.key"),
           "BATON_WEBHOOK_ALLOW_INSECURE": "1", "BATON_WEBHOOK_ALLOW_PRIVATE": "1",
           "BATON_SMTP_URL": sink.url, "BATON_WORKER_POLL": "0.1"}
    set_up(env, "init", "--policy", str(policy))
    proc, url, tokens = _demo(tmp_path, env)
    try:
        engine = db.make_engine(database)
        with engine.begin() as conn:  # `baton actors set-email`'s path, without 4 starts
            for handle in ("alice", "andy", "sam", "sue"):
                actor_emails.set_email(conn, handle, f"{handle}@example.org")
        engine.dispose()
        root = {"Authorization": f"Bearer {tokens['root']}"}
        made = requests.post(f"{url}/api/v1/webhooks", headers=root, timeout=30, json={
            "url": receiver.url, "events": ["escalation.sla_breached"]})
        assert made.status_code == 201, made.text
        receiver.secrets.append(made.json()["secret"])
        opened = requests.post(f"{url}/api/v1/escalations", timeout=30, headers={
            "Authorization": f"Bearer {tokens['alice']}"}, json={
            "title": "Checkout down", "category": "technical", "severity": "urgent",
            "customer": {"id": "cust-1", "name": "Ada", "value": "standard"}})
        assert opened.status_code == 201, opened.text
        eid = opened.json()["id"]
        # The worker sweeps every 10 s: the breach is recorded and sent within ~12 s.
        receiver.wait(lambda: bool(receiver.got), timeout=45)
        subject = f"escalation.sla_breached on escalation {eid}"
        sink.wait(lambda: any(subject in _subject(m) for m in sink.mails), timeout=15)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        assert proc.stdout is not None
        proc.stdout.close()
    (got,) = receiver.got
    assert got.json["type"] == "escalation.sla_breached" and receiver.bad_signatures == 0
    assert got.json["data"]["escalation_id"] == eid
    assert got.json["data"]["clock"] == "acknowledge"
    mailed = sorted(r.split("@")[0] for m in sink.mails if subject in _subject(m)
                    for r in m.rcpt_tos)
    engine = db.make_engine(database)
    with engine.connect() as conn:
        bodies = conn.exec_driver_sql(
            "SELECT body FROM ledger WHERE action = 'notified' AND escalation_id = ?",
            (eid,)).scalars().all()
    engine.dispose()
    (told,) = [p for p in (json.loads(unpack(b))["payload"] for b in bodies)
               if p["about"] == "sla-breached"]
    assert mailed == sorted(told["channels"]["email"]) and mailed, "as the ledger says"
    assert told["channels"]["webhook"] == [made.json()["id"]]
    assert all("Ada" not in m.content and "Checkout" not in m.content for m in sink.mails)
