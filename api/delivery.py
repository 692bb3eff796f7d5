"""Sending: a webhook POST signed the Standard Webhooks way, and a mail through SMTP.
Each returns a workflow.notify.Outcome; neither decides what happens next. Each attempt
has one total deadline (connect, send, headers, body): a receiver that drips a header
line every few seconds is cut off when it passes, and at most MAX_BODY bytes of a
response are read (and discarded)."""

from __future__ import annotations

import http.client
import json
import smtplib
import socket
import ssl
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from standardwebhooks.webhooks import Webhook

from api.deadline import WATCHDOG, watch
from audit.log.cloud_events import MEDIA_TYPE, TYPE_PREFIX
from audit.store.outbox import Message
from workflow.notify import Outcome
from workflow.webhook_admin import target_problem, url_problem

USER_AGENT = "Baton-Webhooks/1"
MAX_BODY = 64 * 1024  # a receiver's answer is read up to this, then the connection goes
PAGE = "/ui/escalations/{id}"


def links(public_url: str, escalation_id: str) -> dict[str, str]:
    """Absolute links to the escalation, its timeline and its page."""
    base = public_url.rstrip("/")
    api = f"{base}/api/v1/escalations/{escalation_id}"
    return {"escalation": api, "timeline": f"{api}/timeline",
            "page": base + PAGE.format(id=escalation_id)}


def webhook_body(message: Message, public_url: str) -> bytes:
    """{type, timestamp, data}: the same bytes on every attempt (facts and links only);
    for a `ledger.*` subscription, the event's CloudEvent itself (structured mode)."""
    if message.event_type.startswith(TYPE_PREFIX):
        return json.dumps(message.data, sort_keys=True, separators=(",", ":")).encode()
    data = {**message.data, "links": links(public_url, message.escalation_id)}
    return json.dumps({"type": message.event_type, "timestamp": message.data["at"],
                       "data": data}, sort_keys=True, separators=(",", ":")).encode()


def signature(msg_id: str, when: datetime, body: bytes, secrets: list[str]) -> str:
    """The webhook-signature header: one `v1,` signature per secret that signs now."""
    text = body.decode()
    return " ".join(Webhook(s).sign(msg_id, when, text) for s in secrets)


@dataclass(frozen=True)
class Targets:
    """Which targets may be reached (the operator's switches)."""

    allow_insecure: bool = False
    allow_private: bool = False


def resolve(url: str, targets: Targets) -> tuple[str | None, str | None]:
    """(the address to connect to, None) when `url` may be posted to now, else (None,
    why). DNS is asked again at every delivery: its answer may have changed."""
    unusable = url_problem(url, allow_insecure=targets.allow_insecure)
    if unusable:
        return None, unusable
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
        addresses = [str(info[4][0]) for info in infos]
    except (socket.gaierror, UnicodeError):
        addresses = []
    problem = target_problem(url, addresses, allow_insecure=targets.allow_insecure,
                             allow_private=targets.allow_private)
    return (None, problem) if problem else (addresses[0], None)


_POOL = threading.local()
_OPEN: set[http.client.HTTPConnection] = set()
_OPEN_GUARD = threading.Lock()


def close_connections() -> None:
    """Close every kept-alive connection (the worker is stopping)."""
    with _OPEN_GUARD:
        conns = list(_OPEN)
        _OPEN.clear()
    for conn in conns:
        conn.close()


def _connection(url: str, address: str, timeout: float) -> http.client.HTTPConnection:
    """A kept-alive connection of this thread to that URL's origin, pinned to the address
    that was checked (so a DNS answer that changes in between is never used)."""
    parts = urlsplit(url)
    key = (parts.scheme, parts.hostname, parts.port, address)
    pool: dict[Any, http.client.HTTPConnection] = getattr(_POOL, "conns", None) or {}
    _POOL.conns = pool
    conn = pool.get(key)
    if conn is None:
        host = parts.hostname or ""
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(host, parts.port or 443, timeout=timeout,
                                               context=ssl.create_default_context())
        else:
            conn = http.client.HTTPConnection(host, parts.port or 80, timeout=timeout)

        def pinned(addr: tuple[str, int], timeout: Any = None, source: Any = None
                   ) -> socket.socket:
            return socket.create_connection((address, addr[1]), timeout, source)

        conn._create_connection = pinned  # type: ignore[attr-defined]
        pool[key] = conn
        with _OPEN_GUARD:
            _OPEN.add(conn)
    conn.timeout = timeout
    if conn.sock is not None:  # a kept-alive socket: its reads wait no longer than this
        conn.sock.settimeout(timeout)
    return conn


def _drop(url: str, address: str) -> None:
    parts = urlsplit(url)
    pool = getattr(_POOL, "conns", {})
    conn = pool.pop((parts.scheme, parts.hostname, parts.port, address), None)
    if conn is not None:
        conn.close()
        with _OPEN_GUARD:
            _OPEN.discard(conn)


def retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After in seconds: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError):
        return None


def post(url: str, address: str, body: bytes, headers: dict[str, str],
         timeout: float) -> Outcome:
    """POST once, all of it within `timeout` seconds (a dropped kept-alive connection is
    retried once on a new one, within the same deadline)."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn: http.client.HTTPConnection | None = None
    w = watch(timeout, lambda: conn.sock if conn is not None else None)
    try:
        for fresh in (False, True):
            conn = _connection(url, address, w.remaining())
            try:
                outcome = _exchange(conn, url, address, path, body, headers)
                if not w.fired:
                    return outcome
                # Shut at the deadline, http.client takes the end of the stream for the
                # end of the headers: whatever it parsed is not an answer.
                _drop(url, address)
                break
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError) as exc:
                _drop(url, address)
                if w.fired:
                    break
                if fresh:
                    return Outcome(None, f"connection: {exc.__class__.__name__}")
            except (OSError, http.client.HTTPException) as exc:
                _drop(url, address)
                if w.fired or isinstance(exc, TimeoutError):
                    break
                return Outcome(None, f"{exc.__class__.__name__}: {exc}"[:300])
    finally:
        WATCHDOG.done(w)
    return Outcome(None, f"timeout after {timeout:g} s")


def _exchange(conn: http.client.HTTPConnection, url: str, address: str, path: str,
              body: bytes, headers: dict[str, str]) -> Outcome:
    """One request and its answer; at most MAX_BODY bytes of the body are read."""
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    response.read(MAX_BODY)
    after = retry_after(response.getheader("Retry-After"), datetime.now(UTC))
    if response.will_close or not response.isclosed():
        _drop(url, address)  # more than MAX_BODY left unread: the connection goes
    return Outcome(response.status, None if response.status < 300
                   else f"HTTP {response.status}", after)


def send_webhook(message: Message, *, url: str, secrets: list[str], public_url: str,
                 targets: Targets, timeout: float) -> Outcome:
    """Sign and post one message to a subscription."""
    address, problem = resolve(url, targets)
    if address is None:
        return Outcome(None, f"refused: {problem}")
    body = webhook_body(message, public_url)
    now = datetime.now(UTC)
    cloud = message.event_type.startswith(TYPE_PREFIX)
    headers = {"content-type": MEDIA_TYPE if cloud else "application/json",
               "user-agent": USER_AGENT,
               "webhook-id": message.webhook_id,
               "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": signature(message.webhook_id, now, body, secrets)}
    return post(url, address, body, headers, timeout)


# --- mail ----------------------------------------------------------------------------

FACT_LINES = ("escalation_id", "action", "actor", "role", "rule", "state", "tier", "team",
              "owner", "acting_owner", "governor", "severity", "category", "clock",
              "deadline", "proposed_owner", "at", "seq")


def mail_text(message: Message, public_url: str) -> tuple[str, str]:
    """(subject, body) of a notification mail: the webhook's facts, and the page's link."""
    data = message.data
    subject = f"[Baton] {message.event_type} on escalation {message.escalation_id}"
    lines = [f"{key}: {data[key]}" for key in FACT_LINES if data.get(key) is not None]
    lines += ["", f"Open it: {links(public_url, message.escalation_id)['page']}"]
    return subject, "\n".join(lines) + "\n"


def send_mail(message: Message, *, to: str, smtp_url: str, sender: str, public_url: str,
              timeout: float) -> Outcome:
    """Send one notification mail (smtp://[user:pass@]host:port[?starttls=1], smtps://)."""
    parts = urlsplit(smtp_url)
    subject, text = mail_text(message, public_url)
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, to, subject
    mail["Message-ID"] = f"<{message.webhook_id}@baton>"
    mail.set_content(text)
    host, port = parts.hostname or "localhost", parts.port
    # The connection is made under watch: connect, TLS, login and DATA share one deadline.
    client: smtplib.SMTP = (smtplib.SMTP_SSL(timeout=timeout) if parts.scheme == "smtps"
                            else smtplib.SMTP(timeout=timeout))
    w = watch(timeout, lambda: getattr(client, "sock", None))
    try:
        # What SMTP(host) would do, after the watch began: STARTTLS checks the
        # certificate against _host, which only the constructor sets.
        client._host = host  # type: ignore[attr-defined]
        greeting, _ = client.connect(host, port or (465 if parts.scheme == "smtps" else 25))
        if greeting != 220:
            raise smtplib.SMTPConnectError(greeting, "")
        with client:
            if "starttls=1" in parts.query:
                client.starttls(context=ssl.create_default_context())
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            client.send_message(mail)
    except smtplib.SMTPResponseException as exc:
        # Only the code and what it means: a server's own text may echo the address.
        return Outcome(exc.smtp_code, f"SMTP {exc.smtp_code}"
                       + (": login refused" if isinstance(exc, smtplib.SMTPAuthenticationError)
                          else ""))
    except smtplib.SMTPRecipientsRefused as exc:  # its text is the address: never kept
        code = next(iter(exc.recipients.values()))[0] if exc.recipients else None
        return Outcome(code, f"SMTP {code}: recipient refused")
    except (OSError, smtplib.SMTPException) as exc:
        if w.fired or isinstance(exc, TimeoutError):
            return Outcome(None, f"timeout after {timeout:g} s")
        return Outcome(None, f"{exc.__class__.__name__}: {exc}"[:300])
    finally:
        WATCHDOG.done(w)
        client.close()
    return Outcome(250)
