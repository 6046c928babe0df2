"""A local OAuth 2.0 authorization server, an SMTP server that accepts only XOAUTH2, and Dovecot.

Where Google or Microsoft would be, the tests talk to `OAuthServer`: a real
HTTP server on loopback (one thread) with
- `/authorize`: a consent page (Allow / Deny) that redirects back with a
  code or `error=access_denied`; only `response_type=code` with an S256
  PKCE challenge is accepted;
- `/token`: `authorization_code` (the client's secret, the redirect URI and
  the PKCE verifier checked; a code works once) and `refresh_token` (with
  rotation when `rotate_refresh_tokens`: the old refresh token then dies);
  an id_token (HS256 over the client secret) names the address;
- `/revoke` (RFC 7009) and `/introspect` (RFC 7662).
Tests script it: `end_access_tokens(email)` (the provider ends tokens
early), `revoke_grants(email)` (the user withdrew consent),
`token_endpoint_down` (503s).

`xoauth2_smtp` is aiosmtpd offering only AUTH XOAUTH2, checking each token
against the server's introspection. `dovecot` is Debian's dovecot-imapd
with its own config file whose IMAP accepts only XOAUTH2, validated by
`passdb { driver = oauth2 }` against the same introspection endpoint; it
is skipped, saying why, where Dovecot is not installed.
"""
from __future__ import annotations

import base64
import email
import email.policy
import html
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import OctKey

LOOPBACK = "127.0.0.1"
CLIENT_ID = "nudge-test-client"
CLIENT_SECRET = "nudge-test-client-secret"
# The resource servers (SMTP, Dovecot) authenticate to /introspect with these.
INTROSPECT_USER, INTROSPECT_PASSWORD = "mail-servers", "introspect-secret"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


@dataclass
class Grant:
    email: str
    client_id: str
    scope: str
    refresh_token: str
    active: bool = True


@dataclass
class AccessToken:
    grant: Grant
    expires_at: float
    active: bool = True


@dataclass
class OAuthServer:
    host: str
    port: int
    # Who signs in on the consent page unless the test (or the browser) says otherwise.
    email: str = "rep@acme.example"
    address_claim: str = "email"
    token_lifetime: int = 3600
    rotate_refresh_tokens: bool = False
    token_endpoint_down: bool = False
    # Seconds a refresh takes (to let parallel workers pile up behind the first).
    refresh_delay: float = 0.0
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)  # by refresh token, dead ones too
    tokens: dict[str, AccessToken] = field(default_factory=dict)
    # What happened, for assertions: ("code"|"refresh"|"introspect"|"revoke", detail).
    log: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def refreshes(self) -> int:
        return sum(1 for kind, _ in self.log if kind == "refresh")

    # --- scripting -----------------------------------------------------------------------------
    def end_access_tokens(self, email_address: str) -> None:
        """The provider ends every access token of the address early (the grant lives on)."""
        with self.lock:
            for token in self.tokens.values():
                if token.grant.email == email_address:
                    token.active = False

    def revoke_grants(self, email_address: str) -> None:
        """The user withdrew consent: refresh tokens and access tokens die (refresh: invalid_grant)."""
        with self.lock:
            for grant in self.grants.values():
                if grant.email == email_address:
                    grant.active = False

    def active(self, access_token: str) -> AccessToken | None:
        with self.lock:
            token = self.tokens.get(access_token)
            if token and token.active and token.grant.active and token.expires_at > time.time():
                return token
            return None

    # --- protocol ------------------------------------------------------------------------------
    def issue(self, grant: Grant, *, with_id_token: bool) -> dict[str, Any]:
        access = "at-" + secrets.token_urlsafe(24)
        self.tokens[access] = AccessToken(grant, time.time() + self.token_lifetime)
        answer: dict[str, Any] = {
            "access_token": access, "token_type": "Bearer", "expires_in": self.token_lifetime,
            "scope": grant.scope, "refresh_token": grant.refresh_token,
        }
        if with_id_token:
            claims = {"iss": self.url, "aud": grant.client_id, "sub": grant.email, "iat": int(time.time()),
                      "exp": int(time.time()) + 3600, self.address_claim: grant.email}
            answer["id_token"] = jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(CLIENT_SECRET))
        return answer


class _Handler(BaseHTTPRequestHandler):
    server_version = "LocalOAuth/1"
    oauth: OAuthServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        return {key: values[0] for key, values in parse_qs(raw, keep_blank_values=True).items()}

    def _basic(self) -> tuple[str, str] | None:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user, password

    def do_GET(self) -> None:
        parsed = urlparse(self.path)
        if parsed.path != "/authorize":
            return self._send(404, b"not found", "text/plain")
        query = {key: values[0] for key, values in parse_qs(parsed.query).items()}
        problem = None
        if query.get("client_id") != CLIENT_ID:
            problem = "unknown client"
        elif query.get("response_type") != "code":
            problem = "only the authorization-code flow"
        elif query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            problem = "PKCE with S256 is required"
        if problem:
            return self._send(400, f"<h1>Refused: {problem}</h1>".encode(), "text/html")
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(key)}" value="{html.escape(value)}">'
            for key, value in query.items()
        )
        page = f"""<!doctype html><html lang="en"><head><title>Local provider: consent</title></head><body>
<h1>Sign in to the local provider</h1>
<form method="post" action="/authorize">{hidden}
<label for="login">Account</label><input id="login" name="login" value="{html.escape(self.oauth.email)}">
<p>Nudge asks to send and read your mail ({html.escape(query.get("scope", ""))}).</p>
<button name="decision" value="allow" type="submit">Allow</button>
<button name="decision" value="deny" type="submit">Deny</button></form></body></html>"""
        self._send(200, page.encode(), "text/html; charset=utf-8")

    def do_POST(self) -> None:
        path = urlparse(self.path).path
        form = self._form()
        oauth = self.oauth
        if path == "/authorize":
            target = form["redirect_uri"]
            if form.get("decision") != "allow":
                answer = {"error": "access_denied", "state": form.get("state", "")}
            else:
                code = secrets.token_urlsafe(16)
                with oauth.lock:
                    oauth.codes[code] = {**form, "email": form.get("login") or oauth.email}
                answer = {"code": code, "state": form.get("state", "")}
            return self._send(302, b"", "text/plain", {"Location": f"{target}?{urlencode(answer)}"})
        if path == "/token":
            return self._token(form)
        if path in ("/introspect", "/revoke"):
            if self._basic() != (INTROSPECT_USER, INTROSPECT_PASSWORD) and form.get("client_secret") != CLIENT_SECRET:
                return self._json(401, {"error": "invalid_client"})
            if path == "/revoke":
                with oauth.lock:
                    oauth.log.append(("revoke", form.get("token", "")[:6]))
                    if form.get("token") in oauth.grants:
                        oauth.grants[form["token"]].active = False
                    elif form.get("token") in oauth.tokens:
                        oauth.tokens[form["token"]].active = False
                return self._send(200, b"", "text/plain")
            token = oauth.active(form.get("token", ""))
            with oauth.lock:
                oauth.log.append(("introspect", "active" if token else "inactive"))
            if token is None:
                return self._json(200, {"active": False})
            return self._json(200, {
                "active": True, "username": token.grant.email, "scope": token.grant.scope,
                "client_id": token.grant.client_id, "exp": int(token.expires_at), "token_type": "Bearer",
            })
        return self._send(404, b"not found", "text/plain")

    def _token(self, form: dict[str, str]) -> None:
        oauth = self.oauth
        if oauth.token_endpoint_down:
            return self._send(503, b"<html>Service Unavailable</html>", "text/html")
        if form.get("grant_type") == "refresh_token" and oauth.refresh_delay:
            time.sleep(oauth.refresh_delay)
        client = self._basic() or (form.get("client_id", ""), form.get("client_secret", ""))
        if client != (CLIENT_ID, CLIENT_SECRET):
            return self._json(401, {"error": "invalid_client"})
        with oauth.lock:
            if form.get("grant_type") == "authorization_code":
                code = oauth.codes.pop(form.get("code", ""), None)
                if code is None or code["redirect_uri"] != form.get("redirect_uri"):
                    return self._json(400, {"error": "invalid_grant", "error_description": "unknown code"})
                verifier = form.get("code_verifier", "")
                if not verifier or create_s256_code_challenge(verifier) != code["code_challenge"]:
                    return self._json(400, {"error": "invalid_grant", "error_description": "PKCE check failed"})
                grant = Grant(code["email"], CLIENT_ID, code.get("scope", ""), "rt-" + secrets.token_urlsafe(24))
                oauth.grants[grant.refresh_token] = grant
                oauth.log.append(("code", grant.email))
                return self._json(200, oauth.issue(grant, with_id_token=True))
            if form.get("grant_type") == "refresh_token":
                grant = oauth.grants.get(form.get("refresh_token", ""))
                if grant is None or not grant.active:
                    oauth.log.append(("refresh-refused", ""))
                    return self._json(400, {"error": "invalid_grant", "error_description": "token revoked"})
                oauth.log.append(("refresh", grant.email))
                if oauth.rotate_refresh_tokens:
                    grant.active = False
                    grant = Grant(grant.email, grant.client_id, grant.scope, "rt-" + secrets.token_urlsafe(24))
                    oauth.grants[grant.refresh_token] = grant
                return self._json(200, oauth.issue(grant, with_id_token=False))
        return self._json(400, {"error": "unsupported_grant_type"})


@pytest.fixture
def oauth_server() -> Iterator[OAuthServer]:
    server = OAuthServer(LOOPBACK, free_port())
    handler = type("Handler", (_Handler,), {"oauth": server})
    http = ThreadingHTTPServer((LOOPBACK, server.port), handler)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        http.shutdown()
        http.server_close()


@pytest.fixture
def oauth_providers(settings, oauth_server: OAuthServer) -> OAuthServer:
    """Both providers configured, their endpoints at the local server."""
    for name in ("GOOGLE", "MICROSOFT"):
        setattr(settings, f"{name}_OAUTH_CLIENT_ID", CLIENT_ID)
        setattr(settings, f"{name}_OAUTH_CLIENT_SECRET", CLIENT_SECRET)
        setattr(settings, f"{name}_OAUTH_AUTHORIZE_URL", f"{oauth_server.url}/authorize")
        setattr(settings, f"{name}_OAUTH_TOKEN_URL", f"{oauth_server.url}/token")
    return oauth_server


# --- SMTP with XOAUTH2 only -------------------------------------------------------------------------


@dataclass
class XOAuth2Smtp:
    host: str
    port: int
    received: list[email.message.Message] = field(default_factory=list)
    # (user, accepted) of each AUTH XOAUTH2
    logins: list[tuple[str, bool]] = field(default_factory=list)


class _XOAuth2Handler:
    def __init__(self, oauth: OAuthServer, record: XOAuth2Smtp) -> None:
        self.oauth, self.record = oauth, record

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        blob = args[1] if len(args) > 1 else None
        if blob is None:
            answer = await server.challenge_auth("", encode_to_b64=False)
            if not isinstance(answer, bytes):
                return AuthResult(success=False, handled=True)
            raw = answer
        else:
            raw = base64.b64decode(blob)
        fields = dict(part.split("=", 1) for part in raw.decode().split("\x01") if "=" in part)
        user, bearer = fields.get("user", ""), fields.get("auth", "")
        token = self.oauth.active(bearer.removeprefix("Bearer ")) if bearer.startswith("Bearer ") else None
        ok = token is not None and token.grant.email.lower() == user.lower()
        self.record.logins.append((user, ok))
        if ok:
            return AuthResult(success=True, auth_data=user)
        # Google's way: a 334 carrying a JSON error, the client answers with an empty line, then 535.
        await server.challenge_auth(json.dumps({"status": "401", "schemes": "Bearer"}))
        return AuthResult(success=False, handled=False, message="535 5.7.8 Username and Password not accepted")

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.record.received.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 2.0.0 OK"


@pytest.fixture
def xoauth2_smtp(oauth_server: OAuthServer) -> Iterator[XOAuth2Smtp]:
    record = XOAuth2Smtp(LOOPBACK, free_port())
    controller = Controller(
        _XOAuth2Handler(oauth_server, record), hostname=LOOPBACK, port=record.port,
        auth_required=True, auth_require_tls=False, auth_exclude_mechanism=["LOGIN", "PLAIN"],
    )
    controller.start()
    try:
        yield record
    finally:
        controller.stop()


# --- Dovecot: IMAP with XOAUTH2 only ------------------------------------------------------------------

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
IMAP_LOGIN = Path("/usr/lib/dovecot/imap-login")


@dataclass
class Dovecot:
    host: str
    port: int
    root: Path
    process: subprocess.Popen[bytes]

    def deliver(self, user: str, raw: bytes) -> None:
        """Put a message into the user's INBOX (Maildir `new/`, as a delivery agent would)."""
        new = self.root / "mail" / user / "Maildir" / "new"
        new.mkdir(parents=True, exist_ok=True)
        path = new / f"{time.time_ns()}.{secrets.token_hex(4)}.nudge-test"
        path.write_bytes(raw)
        _give_to_mail_user(self.root / "mail")

    def log(self) -> str:
        log = self.root / "dovecot.log"
        return log.read_text(errors="replace") if log.exists() else ""


def _mail_uid() -> tuple[int, int]:
    # As root, mail belongs to `nobody`; as anyone else, to that user.
    return (65534, 65534) if os.getuid() == 0 else (os.getuid(), os.getgid())


def _give_to_mail_user(folder: Path) -> None:
    uid, gid = _mail_uid()
    if os.getuid() == 0:
        for path in [folder, *folder.rglob("*")]:
            os.chown(path, uid, gid)


@pytest.fixture
def dovecot(oauth_server: OAuthServer) -> Iterator[Dovecot]:
    """Dovecot for this test, accepting only XOAUTH2 tokens the local OAuth server says are active."""
    if DOVECOT is None or not IMAP_LOGIN.exists():
        pytest.skip("Dovecot is not installed (Debian: apt-get install dovecot-imapd); .ci/run installs it")
    # Not under pytest's own temporary folder: that one is private to us, and the mail user needs a way in.
    root = Path(tempfile.mkdtemp(prefix="nudge-dovecot-"))
    root.chmod(0o755)
    port = free_port()
    uid, gid = _mail_uid()
    user = "root" if os.getuid() == 0 else os.environ.get("USER", str(os.getuid()))
    internal = "dovecot" if os.getuid() == 0 else user
    login = "dovenull" if os.getuid() == 0 else user
    (root / "mail").mkdir()
    _give_to_mail_user(root / "mail")
    introspect = f"http://{INTROSPECT_USER}:{INTROSPECT_PASSWORD}@{LOOPBACK}:{oauth_server.port}/introspect"
    (root / "oauth2.conf.ext").write_text(
        f"introspection_mode = post\nintrospection_url = {introspect}\nusername_attribute = username\n"
        "active_attribute = active\nactive_value = true\n"
    )
    (root / "dovecot.conf").write_text(f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = {LOOPBACK}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = xoauth2
default_internal_user = {internal}
default_internal_group = {internal if os.getuid() == 0 else gid}
default_login_user = {login}
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u/Maildir
passdb {{
  driver = oauth2
  mechanisms = xoauth2
  args = {root}/oauth2.conf.ext
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = {LOOPBACK}
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
""")
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
        stdout=(root / "stdout.log").open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                output = (root / "stdout.log").read_text() + Dovecot(LOOPBACK, port, root, process).log()
                raise RuntimeError(f"dovecot exited: {output}")
            try:
                with socket.create_connection((LOOPBACK, port), timeout=1) as sock:
                    if sock.recv(64).startswith(b"* OK"):
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield Dovecot(LOOPBACK, port, root, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)
