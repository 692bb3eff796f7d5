"""A real SMTP server on loopback (aiosmtpd) that keeps every mail, optionally behind
STARTTLS with a self-signed certificate made here and a login it checks."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Mail:
    """One mail as the server took it, and how the session that sent it was secured."""

    rcpt_tos: list[str]
    content: str
    tls: bool
    login: str | None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA, and its key: (cert, key) files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class MailSink:
    """Start with start(); `url` is the BATON_SMTP_URL that reaches it (no login)."""

    tls_files: tuple[Path, Path] | None = None  # STARTTLS required when given
    logins: dict[str, str] = field(default_factory=dict)  # AUTH required when given
    exclude_mechanisms: tuple[str, ...] = ()
    mails: list[Mail] = field(default_factory=list)
    auth_attempts: list[tuple[str, str, bool]] = field(default_factory=list)

    def start(self) -> MailSink:
        self.port = free_port()
        options: dict[str, Any] = {}
        if self.tls_files:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*map(str, self.tls_files))
            options.update(tls_context=context, require_starttls=True)
        if self.logins:
            options.update(authenticator=self._authenticate, auth_required=True,
                           auth_exclude_mechanism=list(self.exclude_mechanisms))
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()
        return self

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword)
              and self.logins.get(auth_data.login.decode()) == auth_data.password.decode())
        login = auth_data.login.decode() if isinstance(auth_data, LoginPassword) else "?"
        self.auth_attempts.append((mechanism, login, ok))
        return AuthResult(success=ok, handled=False, auth_data=login)  # 535 when wrong

    async def handle_DATA(self, server: Any, session: Any, envelope: Any  # noqa: N802
                          ) -> str:
        self.mails.append(Mail(list(envelope.rcpt_tos), envelope.content.decode(),
                               session.ssl is not None,
                               session.auth_data if session.authenticated else None))
        return "250 OK"

    def wait(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; {len(self.mails)} mails")
            time.sleep(0.02)

    def stop(self) -> None:
        self.controller.stop()
