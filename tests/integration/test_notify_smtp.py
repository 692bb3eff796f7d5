"""Mail through an SMTP server that requires STARTTLS (a self-signed certificate made in
the test, trusted through SSL_CERT_FILE as an operator's private CA would be) and a
login (AUTH PLAIN and AUTH LOGIN): delivered when the login is right; a wrong password,
a server refusing plain text, or an untrusted certificate is a failed attempt in the
delivery log and, once the schedule is spent, a notification-failed event."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from api import config
from audit.reads import delivery_log
from audit.store import actor_emails
from audit.store.deflated import unpack
from tests.integration.conftest import Ledger
from tests.integration.notifying import dispose_all, ledger_actions, worker_for
from tests.mail_sink import MailSink, self_signed

PASSWORD = "s3cret-pass"


@pytest.fixture
def tls_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    files = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(files[0]))  # the client trusts this CA
    return files


def _sink(tls_files: tuple[Path, Path], exclude: tuple[str, ...] = ()) -> Iterator[MailSink]:
    sink = MailSink(tls_files, {"baton": PASSWORD}, exclude).start()
    yield sink
    sink.stop()
    dispose_all()


@pytest.fixture
def sink(tls_files: tuple[Path, Path]) -> Iterator[MailSink]:
    yield from _sink(tls_files)


def _andy_is_told(led: Ledger) -> None:
    """andy (frontline) has an address; alice opens a billing case at frontline."""
    with led.uow() as uow:
        actor_emails.set_email(uow.conn, "andy", "andy@example.org")
        uow.commit()
    led.open("e1")


def _mail_log(led: Ledger) -> list[dict]:  # type: ignore[type-arg]
    with led.engine.connect() as conn:
        return delivery_log.messages(conn, channel="email")


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_starttls_and_login_deliver(sqlite_led: Ledger, tls_files: tuple[Path, Path],
                                    mechanism: str) -> None:
    other = "LOGIN" if mechanism == "PLAIN" else "PLAIN"
    for sink in _sink(tls_files, exclude=(other,)):
        _andy_is_told(sqlite_led)
        url = f"smtp://baton:{PASSWORD}@127.0.0.1:{sink.port}?starttls=1"
        worker_for(sqlite_led, BATON_SMTP_URL=url).run(once=True)
        (mail,) = sink.mails
        assert mail.rcpt_tos == ["andy@example.org"]
        assert mail.tls and mail.login == "baton", "sent inside TLS, after the login"
        assert sink.auth_attempts == [(mechanism, "baton", True)]
        (logged,) = _mail_log(sqlite_led)
        assert logged["status"] == "delivered" and logged["target"] == "andy"
        assert [a["outcome"] for a in logged["attempts"]] == ["delivered"]


@pytest.mark.parametrize("case", ["wrong password", "untrusted certificate"])
def test_a_refused_mail_is_a_failed_attempt_on_the_record(
        sqlite_led: Ledger, sink: MailSink, monkeypatch: pytest.MonkeyPatch,
        case: str) -> None:
    url = f"smtp://baton:{PASSWORD}@127.0.0.1:{sink.port}?starttls=1"
    if case == "wrong password":
        url = f"smtp://baton:wrong@127.0.0.1:{sink.port}?starttls=1"
    else:
        monkeypatch.delenv("SSL_CERT_FILE")
    _andy_is_told(sqlite_led)
    worker = worker_for(sqlite_led, BATON_SMTP_URL=url, BATON_WEBHOOK_RETRY_SCHEDULE="0s,0s")
    worker.run(once=True)  # both attempts fall due at once; the worker does not crash
    assert sink.mails == []
    (logged,) = _mail_log(sqlite_led)
    assert logged["status"] == "failed"
    assert [a["outcome"] for a in logged["attempts"]] == ["failed", "failed"]
    error = logged["attempts"][0]["error"]
    expected = {"wrong password": "SMTP 535: login refused",
                "untrusted certificate": "SSLCertVerificationError"}[case]
    assert expected in error and PASSWORD not in error and "@" not in error
    if case == "wrong password":
        assert sink.auth_attempts and not any(ok for *_, ok in sink.auth_attempts)
    seq, _, action = ledger_actions(sqlite_led)[-1]
    assert action == "notification-failed"
    with sqlite_led.engine.connect() as conn:
        body = conn.exec_driver_sql("SELECT body FROM ledger WHERE seq = ?",
                                    (seq,)).scalar_one()
    payload = json.loads(unpack(body))["payload"]
    assert payload["channel"] == "email" and payload["target"] == "andy"
    assert payload["attempts"] == 2 and b"example.org" not in bytes(body)


@pytest.mark.parametrize("url", ["smtp://baton:secret@mail.example.com:587",
                                 "http://mail.example.com", "smtp://"])
def test_a_mail_server_address_that_is_unsafe_or_unusable_is_refused(url: str) -> None:
    """A password is never sent in clear: smtp:// with a login needs ?starttls=1 (or
    smtps://); the address is checked when the configuration is read, not at the first
    breach."""
    with pytest.raises(ValueError, match="BATON_SMTP_URL"):
        config.settings({"BATON_SMTP_URL": url})
    config.settings({"BATON_SMTP_URL": "smtp://baton:secret@mail.example.com:587?starttls=1"})
