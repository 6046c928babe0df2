"""What an incoming message is, from its bytes alone (the database decides whom it concerns).

Sync reads a few header fields of every new message first (`HEADER_FIELDS`)
and asks `headers_kind`; only bounces, spam reports and messages that match
a sent email are fetched whole and given to `message_classify`.

The kinds, checked in this order because each later test would also match
the earlier ones (a DSN is "auto-replied" too):
1. `spam_report` — an ARF feedback report (RFC 5965: multipart/report,
   report-type=feedback-report).
2. `bounce` — a delivery status notification: RFC 3464 (multipart/report,
   report-type=delivery-status: Gmail, Exchange/Outlook, Postfix), or the
   older free-text shapes (Exim's "Mail delivery failed" with
   X-Failed-Recipients, qmail, ...) which flufl.bounce recognises. Action
   `failed` / status 5.x.x is permanent; `delayed` / 4.x.x is temporary.
3. `out_of_office` — see `ooo.py` (headers and subject only).
4. automated — other machine mail (`Auto-Submitted` other than `no`,
   `Precedence: bulk/list/junk`, `List-Id`): never a reply.
5. personal — written by a person; it is a reply if it matches a sent email.
"""
from __future__ import annotations

import email
import email.policy
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from flufl.bounce import all_failures

from mailboxes_app.sync import ooo

# flufl.bounce logs every detector it tries at INFO: a dozen lines per bounce, of no use to anyone.
logging.getLogger("flufl.bounce").setLevel(logging.WARNING)

# The header fields the first pass fetches for every new message.
HEADER_FIELDS = (
    "FROM", "TO", "SUBJECT", "DATE", "MESSAGE-ID", "IN-REPLY-TO", "REFERENCES", "CONTENT-TYPE",
    "AUTO-SUBMITTED", "X-AUTOREPLY", "X-AUTORESPOND", "PRECEDENCE", "LIST-ID", "X-FAILED-RECIPIENTS",
)

SPAM_REPORT = "spam_report"
BOUNCE = "bounce"
OUT_OF_OFFICE = "out_of_office"
AUTOMATED = "automated"
PERSONAL = "personal"

_MESSAGE_ID = re.compile(r"<[^<>\s]+@[^<>\s]+>")
_BOUNCE_SENDER = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon|mailerdaemon|microsoftexchange[0-9a-f]*)@",
                            re.IGNORECASE)
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(?:undeliverable|undelivered mail|undeliverable mail|delivery status notification|"
    r"mail delivery failed|delivery failure|returned mail|failure notice|delivery has failed|"
    r"warning: message .* delayed|delayed mail|mail delivery (?:failure|problem|delayed)|"
    r"nicht zustellbar|unzustellbar|non remis|no se puede entregar|onnistumaton|kan inte levereras)",
    re.IGNORECASE,
)
_WARNING_SUBJECT = re.compile(
    r"^\s*(?:warning:|delayed mail|delivery delayed|delivery status notification \(delay\)|"
    r"mail delivery delayed|message delayed)",
    re.IGNORECASE,
)
_WARNING_TEXT = re.compile(
    r"has not yet been delivered|still being retried|will be retried|this is a warning only|"
    r"no action is required on your part|delivery attempts will continue",
    re.IGNORECASE,
)
_HEADER_PARSER = BytesParser(policy=email.policy.compat32)
_SURROGATE = re.compile("[\udc80-\udcff]")
_HEADER_LINE_ID = re.compile(r"(?im)^message-id:\s*(<[^<>\s]+>)")
_SMTP_REPLY = re.compile(r"\b([45]\d\d)[ -]#?([45]\.\d{1,3}\.\d{1,3})?\s*([^\r\n]{0,300})")
_STATUS = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})")
_EMAIL = re.compile(r"[^\s<>\"';:,()\[\]]+@[^\s<>\"';:,()\[\]]+\.[A-Za-z]{2,}")


@dataclass(frozen=True)
class Headers:
    """The header fields the sync needs, decoded and normalised."""

    from_email: str = ""
    to: tuple[str, ...] = ()
    subject: str = ""
    message_id: str = ""
    # In-Reply-To first, then References (newest last), without duplicates.
    references: tuple[str, ...] = ()
    date: datetime | None = None
    content_type: str = ""
    report_type: str = ""
    auto_submitted: str = ""
    precedence: str = ""
    list_id: str = ""
    failed_recipients: tuple[str, ...] = ()
    auto_reply: bool = False


@dataclass(frozen=True)
class BounceInfo:
    permanent: bool
    recipients: frozenset[str]
    status: str = ""
    reason: str = ""
    original_message_id: str = ""


@dataclass(frozen=True)
class SpamReportInfo:
    feedback_type: str
    recipients: frozenset[str]
    original_message_id: str = ""


@dataclass(frozen=True)
class Classified:
    kind: str
    headers: Headers
    bounce: BounceInfo | None = None
    spam: SpamReportInfo | None = None
    # The message's own words (quotes cut), where an out-of-office return date is looked for.
    text: str = ""
    detail: dict[str, str] = field(default_factory=dict)


def headers_parse(raw: bytes) -> Headers:
    """Read the header fields of a message (a header block or the whole message).

    The compat32 header parser, and decoding only the subject: sync reads every
    new message's fields, and the default policy's structured parsing of each
    header costs several times more than everything else it does with them.
    """
    return _headers(_HEADER_PARSER.parsebytes(raw, headersonly=True))


def headers_kind(headers: Headers) -> str:
    """The kind as far as the headers tell (steps 1–5 of the module docstring)."""
    if headers.content_type == "multipart/report" and headers.report_type == "feedback-report":
        return SPAM_REPORT
    if _looks_like_bounce(headers):
        return BOUNCE
    if headers.auto_reply or ooo.has_out_of_office_subject(headers.subject):
        return OUT_OF_OFFICE
    if (
        headers.auto_submitted not in ("", "no")
        or headers.precedence in ("bulk", "list", "junk")
        or headers.list_id
    ):
        return AUTOMATED
    return PERSONAL


def message_classify(raw: bytes) -> Classified:
    """Classify a whole message; a bounce or report that can't be read is `automated`, with a note why."""
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    headers = headers_parse(raw)
    kind = headers_kind(headers)
    if kind == SPAM_REPORT:
        spam = _spam_report(parsed)
        if spam is not None:
            return Classified(SPAM_REPORT, headers, spam=spam)
        return Classified(AUTOMATED, headers, detail={"note": "A feedback report without a readable report part."})
    if kind == BOUNCE:
        bounce = _bounce(parsed, raw, headers)
        if bounce is not None:
            return Classified(BOUNCE, headers, bounce=bounce)
        return Classified(AUTOMATED, headers, detail={"note": "Looked like a bounce, but named no failed address."})
    text = ""
    if kind == OUT_OF_OFFICE:
        text = ooo.own_text(f"{headers.subject}\n{body_text(parsed)}")
    return Classified(kind, headers, text=text)


def body_text(message: Message) -> str:
    """The message's text: the plain part when there is one, else the HTML part as text."""
    part = message.get_body(("plain", "html")) if isinstance(message, EmailMessage) else None
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset or a broken encoding
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else str(payload)
    if part.get_content_subtype() == "html":
        from sequences_app.rendering import html_to_text

        return html_to_text(content)
    return str(content)


# --- Headers ---------------------------------------------------------------------------------------


def _headers(parsed: Message) -> Headers:
    subject = _decoded(_header(parsed, "Subject"))
    date = None
    if raw_date := _header(parsed, "Date"):
        try:
            date = parsedate_to_datetime(raw_date)
        except (TypeError, ValueError, IndexError):
            date = None
        if date is not None and date.tzinfo is None:
            date = None
    references: list[str] = []
    for name in ("In-Reply-To", "References"):
        for message_id in message_ids(_header(parsed, name)):
            if message_id not in references:
                references.append(message_id)
    own = message_ids(_header(parsed, "Message-ID"))
    return Headers(
        from_email=address(_header(parsed, "From")),
        to=tuple(a.lower() for _, a in getaddresses([_header(parsed, "To")]) if "@" in a),
        subject=subject.strip()[:998],
        message_id=own[0] if own else "",
        references=tuple(references),
        date=date,
        content_type=parsed.get_content_type(),
        report_type=str(parsed.get_param("report-type") or "").lower(),
        auto_submitted=_header(parsed, "Auto-Submitted").strip().lower(),
        precedence=_header(parsed, "Precedence").strip().lower(),
        list_id=_header(parsed, "List-Id").strip(),
        failed_recipients=tuple(
            a.lower() for a in _EMAIL.findall(_header(parsed, "X-Failed-Recipients"))
        ),
        auto_reply=ooo.is_auto_reply({name: _header(parsed, name) for name in (
            "Auto-Submitted", "X-Autoreply", "X-Autorespond", "Precedence")}),
    )


def _header(parsed: Message, name: str) -> str:
    try:
        value = parsed.get(name)
    except (IndexError, ValueError, TypeError):  # a header the email package can't parse
        value = None
    if value is None:
        raw = parsed.get_all(name, failobj=[])
        value = raw[0] if raw else ""
    text = str(value)
    # Raw 8-bit headers arrive as surrogate escapes; most are UTF-8.
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace") if _SURROGATE.search(text) else text


def _decoded(value: str) -> str:
    """An RFC 2047 encoded header (=?utf-8?q?...?=) as text."""
    if "=?" not in value:
        return " ".join(value.split())
    try:
        return str(make_header(decode_header(value)))
    except (HeaderParseError, LookupError, UnicodeError, ValueError):
        return value


def message_ids(value: str) -> list[str]:
    """Message-IDs in a header, with angle brackets (a bare `id@host` gets them)."""
    found = _MESSAGE_ID.findall(value or "")
    if not found:
        bare = (value or "").strip()
        if bare and "@" in bare and " " not in bare:
            found = [f"<{bare.strip('<>')}>"]
    return [message_id[:255] for message_id in found]


def address(value: str) -> str:
    return parseaddr(value or "")[1].strip().lower()[:254]


def _looks_like_bounce(headers: Headers) -> bool:
    if headers.content_type == "multipart/report" and headers.report_type == "delivery-status":
        return True
    return bool(
        headers.failed_recipients
        or _BOUNCE_SENDER.match(headers.from_email)
        or (headers.auto_submitted.startswith("auto-") and _BOUNCE_SUBJECT.match(headers.subject))
        or (not headers.from_email and _BOUNCE_SUBJECT.match(headers.subject))
    )


# --- Bounces -------------------------------------------------------------------------------------------


@dataclass
class _Recipient:
    address: str
    action: str
    status: str
    diagnostic: str


def _bounce(parsed: Message, raw: bytes, headers: Headers) -> BounceInfo | None:
    """Who failed, permanently or not, and why: the RFC 3464 fields first, flufl.bounce's detectors next."""
    recipients = _dsn_recipients(parsed)
    original_id = _original_message_id(parsed, headers)
    failed = [r for r in recipients if r.action.startswith(("fail", "error")) or r.status.startswith("5")]
    delayed = [r for r in recipients if r.action.startswith("delayed") or r.status.startswith("4")]
    if failed:
        first = failed[0]
        return BounceInfo(True, frozenset(r.address for r in failed), first.status, _reason(first), original_id)
    if delayed:
        first = delayed[0]
        return BounceInfo(False, frozenset(r.address for r in delayed), first.status, _reason(first), original_id)
    if recipients:  # a DSN that reports delivery (Action: delivered/relayed/expanded): not a failure
        return None
    # Not RFC 3464: let flufl.bounce's detectors (Exim, qmail, Exchange text, ...) find the addresses.
    try:
        temporary, permanent = all_failures(email.message_from_bytes(raw))
    except Exception:  # a detector choking on a malformed message must not stop the sync
        temporary, permanent = frozenset(), frozenset()
    permanent_addresses = {a.decode("ascii", "replace").lower() for a in permanent}
    permanent_addresses |= set(headers.failed_recipients)
    addresses = permanent_addresses | {a.decode("ascii", "replace").lower() for a in temporary}
    if not addresses:
        return None
    text = body_text(parsed)
    status, reason = _reason_in_text(text)
    # flufl.bounce's loose detectors call a delay warning permanent; the warning's own words (or a 4xx
    # reply) say otherwise. X-Failed-Recipients is only ever set on real failures.
    warning = bool(_WARNING_SUBJECT.match(headers.subject) or _WARNING_TEXT.search(text) or status.startswith("4"))
    permanent_now = bool(headers.failed_recipients) or (bool(permanent_addresses) and not warning)
    return BounceInfo(permanent_now, frozenset(addresses), status, reason, original_id)


def _dsn_recipients(parsed: Message) -> list[_Recipient]:
    found = []
    for part in parsed.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if isinstance(blocks, str):  # some MTAs send it unparsed: read the header blocks ourselves
            blocks = [email.message_from_string(block) for block in re.split(r"\r?\n\r?\n", blocks) if block.strip()]
        for block in blocks:
            if not isinstance(block, Message):
                continue
            recipient = _after_type(str(block.get("Original-Recipient") or "")) or _after_type(
                str(block.get("Final-Recipient") or "")
            )
            if not recipient:
                continue
            found.append(
                _Recipient(
                    address=recipient.lower(),
                    action=str(block.get("Action") or "").strip().lower(),
                    status=(m.group(0).strip() if (m := _STATUS.match(str(block.get("Status") or ""))) else ""),
                    diagnostic=_after_type(str(block.get("Diagnostic-Code") or ""), keep_text=True),
                )
            )
    return found


def _after_type(value: str, *, keep_text: bool = False) -> str:
    """`rfc822; someone@example.com` → the address; `smtp; 550 ...` → the text."""
    _, _, rest = value.partition(";") if ";" in value else ("", "", value)
    rest = " ".join(rest.split())
    if keep_text:
        return rest
    found = _EMAIL.search(rest)
    return found.group(0).strip("<>") if found else ""


def _reason(recipient: _Recipient) -> str:
    if recipient.diagnostic:
        reason = recipient.diagnostic
        if recipient.status and recipient.status not in reason:
            reason = f"{recipient.status} {reason}"
        return reason[:500]
    return f"Delivery status {recipient.status or 'unknown'} ({recipient.action or 'no action given'})."[:500]


def _reason_in_text(text: str) -> tuple[str, str]:
    match = _SMTP_REPLY.search(text)
    if match is None:
        return "", ""
    return match.group(2) or "", " ".join(match.group(0).split())[:500]


def _original_message_id(parsed: Message, headers: Headers) -> str:
    """The Message-ID of the email that bounced or was reported: the attached original's, else a quoted one."""
    for part in parsed.walk():
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner, Message) and (ids := message_ids(_header(inner, "Message-ID"))):
                return ids[0]
        elif content_type in ("text/rfc822-headers", "text/rfc822-header"):
            payload = part.get_payload(decode=True) or b""
            found = _HEADER_LINE_ID.search(payload.decode("utf-8", errors="replace"))
            if found:
                return found.group(1)
    # Exim and friends quote the original below the explanation.
    for part in parsed.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True) or b""
            for found in _HEADER_LINE_ID.finditer(payload.decode("utf-8", errors="replace")):
                if found.group(1) != headers.message_id:
                    return found.group(1)
    return headers.references[0] if headers.references else ""


# --- Spam reports -------------------------------------------------------------------------------------


def _spam_report(parsed: Message) -> SpamReportInfo | None:
    report: Message | None = None
    original_to: list[str] = []
    for part in parsed.walk():
        if part.get_content_type() == "message/feedback-report":
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                report = payload[0]
            elif isinstance(payload, str):
                report = email.message_from_string(payload)
        elif part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner, Message):
                original_to = [a for _, a in getaddresses([_header(inner, "To")]) if "@" in a]
        elif part.get_content_type() in ("text/rfc822-headers", "text/rfc822-header"):
            inner = email.message_from_bytes(part.get_payload(decode=True) or b"")
            original_to = [a for _, a in getaddresses([_header(inner, "To")]) if "@" in a]
    if report is None:
        return None
    recipients = {a.lower() for a in _EMAIL.findall(" ".join(str(v) for v in report.get_all("Original-Rcpt-To", [])))}
    recipients |= {a.lower() for a in original_to}
    feedback_type = str(report.get("Feedback-Type") or "abuse").strip().lower()
    return SpamReportInfo(feedback_type, frozenset(recipients), _original_message_id(parsed, Headers()))
