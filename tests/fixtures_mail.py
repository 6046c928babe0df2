"""Real mail servers on loopback for tests: SMTP (aiosmtpd, in-process) and IMAP (pymap, a subprocess).

Both speak their protocols for real and accept exactly one login
(`MAIL_USER` / `MAIL_PASSWORD`); any other is refused the way a real
server refuses it. A throwaway CA and a certificate for 127.0.0.1 let
tests run STARTTLS and implicit TLS; `trust_test_ca` makes the app's TLS
context trust that CA (the real one keeps verifying certificates).

Use: `pytest_plugins = ["tests.fixtures_mail"]` in the root conftest, or
import the fixtures into an app's conftest.

- `smtp_server` / `smtp_starttls_server` / `smtp_ssl_server`: per test;
  `.messages` holds what was sent (aiosmtpd envelopes).
- `imap_server`: pymap's in-memory `dict` backend with its demo mailbox
  (INBOX with a few messages; APPEND more over IMAP), STARTTLS available.
  One process per test session; `imap_server.restart()` is not needed
  because the dict backend forgets nothing you didn't write.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

MAIL_USER = "rep@nudge.example"
MAIL_PASSWORD = "correct-horse-battery"
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


# --- A throwaway certificate authority ------------------------------------------------------------


@dataclass(frozen=True)
class TestCertificates:
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))


@pytest.fixture(scope="session")
def test_certificates(tmp_path_factory: pytest.TempPathFactory) -> TestCertificates:
    """A CA and a server certificate for 127.0.0.1 and localhost, valid for a day."""
    folder = tmp_path_factory.mktemp("tls")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Nudge test CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    certificates = TestCertificates(folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
    certificates.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    certificates.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    certificates.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return certificates


@pytest.fixture
def trust_test_ca(monkeypatch: pytest.MonkeyPatch, test_certificates: TestCertificates) -> None:
    """Make mailboxes_app.transport trust the test CA (it still verifies the certificate and host name)."""
    monkeypatch.setattr("mailboxes_app.transport.tls_context", test_certificates.client_context)


# --- SMTP ---------------------------------------------------------------------------------------


class _Authenticator:
    def __init__(self, username: str, password: str) -> None:
        self.username, self.password = username, password

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        ):
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


class _Collector:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    host: str
    port: int
    username: str
    password: str
    security: str
    messages: list[Any] = field(default_factory=list)


def _smtp(security: str, certificates: TestCertificates | None) -> Iterator[SmtpServer]:
    collector = _Collector()
    kwargs: dict[str, Any] = {
        "authenticator": _Authenticator(MAIL_USER, MAIL_PASSWORD),
        "auth_required": True,
        "auth_require_tls": False,
    }
    if security == "starttls":
        kwargs["tls_context"] = certificates.server_context()
        kwargs["require_starttls"] = True
    if security == "ssl":
        kwargs["ssl_context"] = certificates.server_context()
    port = free_port()
    controller = Controller(collector, hostname=LOOPBACK, port=port, **kwargs)
    controller.start()
    try:
        yield SmtpServer(LOOPBACK, port, MAIL_USER, MAIL_PASSWORD, security, collector.messages)
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """Plain SMTP with AUTH (like a submission port with `none` security)."""
    yield from _smtp("none", None)


@pytest.fixture
def smtp_starttls_server(test_certificates: TestCertificates, trust_test_ca: None) -> Iterator[SmtpServer]:
    yield from _smtp("starttls", test_certificates)


@pytest.fixture
def smtp_ssl_server(test_certificates: TestCertificates, trust_test_ca: None) -> Iterator[SmtpServer]:
    yield from _smtp("ssl", test_certificates)


# --- IMAP ---------------------------------------------------------------------------------------


@dataclass
class ImapServer:
    host: str
    port: int
    username: str
    password: str
    process: subprocess.Popen[bytes]


@pytest.fixture(scope="session")
def imap_server(test_certificates: TestCertificates, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImapServer]:
    """pymap (pure-Python IMAP server, PyPI `pymap`) with its in-memory backend, one per session."""
    port = free_port()
    log = (tmp_path_factory.mktemp("pymap") / "pymap.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable, "-c", "import sys; from pymap.main import main; sys.exit(main())",
            "--host", LOOPBACK, "--port", str(port),
            "--cert", str(test_certificates.cert_file), "--key", str(test_certificates.key_file),
            "dict", "--demo-data", "--demo-user", MAIL_USER, "--demo-password", MAIL_PASSWORD,
        ],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        yield ImapServer(LOOPBACK, port, MAIL_USER, MAIL_PASSWORD, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pymap exited with {process.returncode} before listening")
        try:
            with socket.create_connection((LOOPBACK, port), timeout=1) as sock:
                if sock.recv(64).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"pymap did not listen on {LOOPBACK}:{port} within {timeout} s")
