"""Talking to a mailbox's own SMTP and IMAP servers.

`smtp_connect` and `imap_connect` open a logged-in connection with the
mailbox's security setting (`none`, `starttls`, `ssl`) and a timeout; the
sender and inbox sync reuse them. `smtp_login_check` and `imap_login_check`
answer "ok" or one sentence a rep can act on.

Google and Microsoft mailboxes log in with SASL XOAUTH2 and an access token
from `oauth.tokens.access_token` (refreshed before it expires); when a server
refuses a token that should still be valid (the provider ended it early),
the token is refreshed once and the login tried once more.

Passwords and tokens never appear in what these return or raise: every
message goes through `_scrub`, which blanks the mailbox's secrets should a
server echo them back. Nor does a server's own text (its banner, its reply lines): the
messages say what failed in Nudge's words, with at most an SMTP reply code.

Both connect only to public addresses unless MAILBOX_ALLOW_PRIVATE_HOSTS is
on (`refuse_private_host`): a mailbox form must not be a way to probe the
servers beside Nudge (loopback, link-local, private ranges).
"""
from __future__ import annotations

import contextlib
import ipaddress
import smtplib
import socket
import ssl

from django.conf import settings
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from mailboxes_app.models import Mailbox, Security
from mailboxes_app.oauth.tokens import OAuthRevoked, OAuthUnavailable, access_token, xoauth2_string

CONNECT_TIMEOUT = 20  # seconds for connect, TLS handshake and each command
OK = "ok"


class PrivateHostRefused(OSError):
    """The server's name or address is on loopback, link-local or a private range, and those are not allowed."""


def refuse_private_host(host: str, port: int) -> None:
    """Raise PrivateHostRefused when any address `host` resolves to is not a public one.

    Every resolved address counts, so a name with one public and one private
    address is refused too. A name that does not resolve passes: the connect
    that follows reports it as "could not be found".
    """
    if settings.MAILBOX_ALLOW_PRIVATE_HOSTS:
        return
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            raise PrivateHostRefused(f"{host} is not a public address")


def tls_context() -> ssl.SSLContext:
    """Certificate-verifying TLS with the system's trust store; tests patch this to trust their own CA."""
    return ssl.create_default_context()


def smtp_connect(mailbox: Mailbox, *, timeout: float | None = None) -> smtplib.SMTP:
    """An SMTP connection to the mailbox's server, TLS as configured, logged in when a username is set.

    The caller owns the connection (`quit()` it). Raises smtplib/OSError/ssl
    errors as they come; `smtp_error_message` turns them into a sentence.
    """
    timeout = timeout or CONNECT_TIMEOUT
    refuse_private_host(mailbox.smtp_host, mailbox.smtp_port)
    if mailbox.smtp_security == Security.SSL:
        connection: smtplib.SMTP = smtplib.SMTP_SSL(
            mailbox.smtp_host, mailbox.smtp_port, timeout=timeout, context=tls_context()
        )
    else:
        connection = smtplib.SMTP(mailbox.smtp_host, mailbox.smtp_port, timeout=timeout)
    try:
        connection.ehlo()
        if mailbox.smtp_security == Security.STARTTLS:
            connection.starttls(context=tls_context())
            connection.ehlo()
        if mailbox.uses_oauth:
            _smtp_oauth_login(connection, mailbox)
        elif mailbox.smtp_username:
            connection.login(mailbox.smtp_username, mailbox.smtp_password)
    except BaseException:
        _close_quietly(connection)
        raise
    return connection


def imap_connect(mailbox: Mailbox, *, timeout: float | None = None) -> IMAPClient:
    """A logged-in IMAP connection (IMAPClient), TLS as configured; the caller calls `logout()`."""
    timeout = timeout or CONNECT_TIMEOUT
    refuse_private_host(mailbox.imap_host, mailbox.imap_port)
    client = _imap_open(mailbox, timeout)
    try:
        if not mailbox.uses_oauth:
            client.login(mailbox.imap_username or mailbox.email, mailbox.imap_password)
            return client
        token = access_token(mailbox)
        try:
            client.oauth2_login(mailbox.imap_username or mailbox.email, token)
            return client
        except LoginError:
            # A token the provider ended early: refresh once, then one more try on a new connection.
            _close_quietly(client)
            token = access_token(mailbox, refused=token)
            client = _imap_open(mailbox, timeout)
            client.oauth2_login(mailbox.imap_username or mailbox.email, token)
            return client
    except BaseException:
        _close_quietly(client)
        raise


def _imap_open(mailbox: Mailbox, timeout: float) -> IMAPClient:
    use_ssl = mailbox.imap_security == Security.SSL
    client = IMAPClient(
        mailbox.imap_host, port=mailbox.imap_port, ssl=use_ssl,
        ssl_context=tls_context() if use_ssl else None, timeout=timeout,
    )
    if mailbox.imap_security == Security.STARTTLS:
        try:
            client.starttls(tls_context())
        except BaseException:
            _close_quietly(client)
            raise
    return client


def _smtp_oauth_login(connection: smtplib.SMTP, mailbox: Mailbox) -> None:
    """AUTH XOAUTH2; a refused token is refreshed once and tried once more on the same session."""
    token = access_token(mailbox)
    try:
        _smtp_xoauth2(connection, mailbox.smtp_username or mailbox.email, token)
    except smtplib.SMTPAuthenticationError:
        token = access_token(mailbox, refused=token)
        _smtp_xoauth2(connection, mailbox.smtp_username or mailbox.email, token)


def _smtp_xoauth2(connection: smtplib.SMTP, user: str, token: str) -> None:
    # After a refusal the server sends a 334 challenge (an error report); the answer is an empty line.
    connection.auth(
        "XOAUTH2", lambda challenge=None: xoauth2_string(user, token) if challenge is None else "",
        initial_response_ok=True,
    )


def smtp_login_check(mailbox: Mailbox, *, timeout: float | None = None) -> str:
    """"ok" when the SMTP server accepts the mailbox's login, else why not."""
    try:
        connection = smtp_connect(mailbox, timeout=timeout)
    except Exception as exc:  # every failure becomes a message for the rep
        return _scrub(mailbox, smtp_error_message(mailbox, exc))
    _close_quietly(connection)
    return OK


def imap_login_check(mailbox: Mailbox, *, timeout: float | None = None) -> str:
    """"ok" when the IMAP server accepts the mailbox's login, else why not."""
    try:
        client = imap_connect(mailbox, timeout=timeout)
    except Exception as exc:  # every failure becomes a message for the rep
        return _scrub(mailbox, imap_error_message(mailbox, exc))
    _close_quietly(client)
    return OK


def smtp_error_message(mailbox: Mailbox, exc: BaseException) -> str:
    where = f"{mailbox.smtp_host}:{mailbox.smtp_port}"
    if isinstance(exc, OAuthRevoked | OAuthUnavailable):
        return str(exc)
    if isinstance(exc, smtplib.SMTPAuthenticationError) and mailbox.uses_oauth:
        return f"The SMTP server refused Nudge's access token (reply {exc.smtp_code}); reconnect the mailbox."
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"The SMTP server refused the username or password (reply {exc.smtp_code})."
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        if mailbox.smtp_security == Security.STARTTLS:
            return f"The SMTP server at {where} does not offer STARTTLS; choose SSL or no encryption."
        return f"The SMTP server at {where} does not offer login on this connection; try STARTTLS or SSL."
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"The SMTP server at {where} refused the session (reply {exc.smtp_code})."
    if isinstance(exc, smtplib.SMTPException) and not isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"The SMTP server at {where} did not follow the SMTP protocol; check the port and security."
    return _network_message("SMTP", where, exc)


def imap_error_message(mailbox: Mailbox, exc: BaseException) -> str:
    where = f"{mailbox.imap_host}:{mailbox.imap_port}"
    if isinstance(exc, OAuthRevoked | OAuthUnavailable):
        return str(exc)
    if isinstance(exc, LoginError) and mailbox.uses_oauth:
        return "The IMAP server refused Nudge's access token; reconnect the mailbox."
    if isinstance(exc, LoginError):
        return "The IMAP server refused the username or password."
    if isinstance(exc, IMAPClientError):
        return f"The IMAP server at {where} refused the session; check the port and security."
    return _network_message("IMAP", where, exc)


def _network_message(protocol: str, where: str, exc: BaseException) -> str:
    if isinstance(exc, PrivateHostRefused):
        return (
            f"The {protocol} server {where.rsplit(':', 1)[0]!r} is on a loopback, link-local or private network "
            "address; Nudge connects only to public mail servers (an administrator can allow private ones)."
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"The {protocol} server's TLS certificate at {where} could not be verified: {exc.verify_message}."
    if isinstance(exc, ssl.SSLError):
        return f"TLS with the {protocol} server at {where} failed ({exc.reason or exc}); check the port and security."
    if isinstance(exc, socket.gaierror):
        return f"The {protocol} server name {where.rsplit(':', 1)[0]!r} could not be found."
    # smtplib reports a timeout while reading a reply as "disconnected"; the timeout is its context.
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        return f"No answer from the {protocol} server at {where} within {CONNECT_TIMEOUT} seconds."
    if isinstance(exc, ConnectionRefusedError):
        return f"The {protocol} server at {where} refused the connection; check the host and port."
    if isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError | EOFError):
        return f"The {protocol} server at {where} closed the connection; check the port and security."
    if isinstance(exc, OSError):
        return f"Could not reach the {protocol} server at {where}: {exc.strerror or exc}."
    return f"The {protocol} check failed: {type(exc).__name__}."


def _scrub(mailbox: Mailbox, message: str) -> str:
    for secret in (mailbox.smtp_password, mailbox.imap_password, mailbox.oauth_access_token,
                   mailbox.oauth_refresh_token):
        if secret and len(secret) >= 3:
            message = message.replace(secret, "********")
    return message[:500]


def _close_quietly(connection: smtplib.SMTP | IMAPClient) -> None:
    """Say goodbye politely; after a failure the socket may already be gone, which is fine."""
    try:
        if isinstance(connection, IMAPClient):
            connection.logout()
        else:
            connection.quit()
    except Exception:
        with contextlib.suppress(Exception):
            if isinstance(connection, IMAPClient):
                connection.shutdown()
            else:
                connection.close()
