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

from mailboxes_app.sync import bounces, ooo

# flufl.bounce logs every detector it tries at INFO: a dozen lines per bounce, of no use to anyone.
logging.getLogger("flufl.bounce").setLevel(logging.WARNING)

# The header fields the first pass fetches for every new message.
HEADER_FIELDS = (
    "FROM", "TO", "SUBJECT", "DATE", "MESSAGE-ID", "IN-REPLY-TO", "REFERENCES", "CONTENT-TYPE",
    "AUTO-SUBMITTED", "X-AUTOREPLY", "X-AUTORESPOND", "PRECEDENCE", "LIST-ID", "X-FAILED-RECIPIENTS",
    # Only bounces and complaints (and auto-replies) come from the null sender `<>`; SNS forwards SES's.
    "RETURN-PATH", "X-AMZ-SNS-MESSAGE-ID",
)

SPAM_REPORT = "spam_report"
BOUNCE = "bounce"
OUT_OF_OFFICE = "out_of_office"
AUTOMATED = "automated"
PERSONAL = "personal"

_MESSAGE_ID = re.compile(r"<[^<>\s]+@[^<>\s]+>")
_BOUNCE_SENDER = re.compile(
    r"^(?:mailer-daemon|mailer_daemon|postmaster|mail-daemon|mailerdaemon|mdaemon|microsoftexchange[0-9a-f]*)@",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(?:undeliverable|undelivered mail|undeliverable mail|delivery status notification|"
    r"mail delivery failed|delivery failure|returned mail|failure notice|delivery has failed|"
    r"warning: message .* delayed|delayed mail|mail delivery (?:failure|problem|delayed)|"
    r"mail system error|message (?:delivery failure|not delivered|could not be delivered)|non-?delivery|"
    r"delivery notification|your message (?:could not|couldn't|can't|cannot) be|could not send message|"
    r"mail could not be delivered|email feedback report|complaint about message|abuse report|"
    r"nicht zustellbar|unzustellbar|non remis|no se puede entregar|onnistumaton|kan inte levereras|olevererbart|"
    r"non recapitabile|onbestelbaar|não entregue|niedostarczalne|nedoručitelné|"
    r"配信(?:できません|不能|エラー)|送信(?:できません|失敗)|メール(?:配信|送信)(?:失敗|エラー))",
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
    # Return-Path: <> — the null sender of notices (RFC 5321 §4.5.5) and auto-replies.
    null_sender: bool = False
    sns_notification: bool = False


@dataclass(frozen=True)
class BounceInfo:
    # Hard: the address won't work (bounces.is_hard); soft: it may later.
    permanent: bool
    recipients: frozenset[str]
    status: str = ""
    # The remote server's own words.
    text: str = ""
    # One of bounces.Reason.
    code: str = bounces.Reason.OTHER
    # A warning that the provider keeps trying (Action: delayed): nothing to retry yet.
    delayed: bool = False
    # Which reader understood it: "sisimai:<MTA>", "rfc3464", "text", "flufl.bounce".
    source: str = ""
    original_message_id: str = ""

    @property
    def reason(self) -> str:
        """The reason and the remote text in one line, as shown to people."""
        label = bounces.label(self.code)
        return f"{label}: {self.text}"[:500] if self.text else label


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
    """The kind as far as the headers tell (steps 1–5 of the module docstring).

    Everything that may be a bounce or a complaint is `bounce` (or `spam_report`) here, so the first
    pass fetches it whole: a notice that quotes the original's subject and threading headers must never
    pass as a reply. The whole message then says whether it really is one (`message_classify`).
    """
    if headers.content_type == "multipart/report" and headers.report_type == "feedback-report":
        return SPAM_REPORT
    if _looks_like_bounce(headers) or _may_be_notice(headers):
        return BOUNCE
    return _kind_besides_reports(headers)


def _kind_besides_reports(headers: Headers) -> str:
    if headers.auto_reply or ooo.has_out_of_office_subject(headers.subject):
        return OUT_OF_OFFICE
    if (
        headers.auto_submitted not in ("", "no")
        or headers.precedence in ("bulk", "list", "junk")
        or headers.list_id
    ):
        return AUTOMATED
    return PERSONAL


def message_classify(raw: bytes, *, sisimai: list[dict[str, str]] | None = None) -> Classified:
    """Classify a whole message; `sisimai` is what Sisimai found in it (`messages_classify` asks it).

    A notice that surely is one (a delivery-status report, a mailer daemon's) but can't be read is
    `automated`, with a note why — never a reply. One that only might be (the null sender, a bounce-like
    subject) and isn't is whatever its headers say otherwise.
    """
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    headers = headers_parse(raw)
    kind = headers_kind(headers)
    records = sisimai or []
    sure_report = headers.content_type == "multipart/report" or _looks_like_bounce(headers)
    feedback_part = any(part.get_content_type() == "message/feedback-report" for part in parsed.walk())
    if (kind == SPAM_REPORT or feedback_part or headers.sns_notification
            or any(r.get("reason") == "feedback" for r in records)):
        spam = _spam_report(parsed, records)
        if spam is not None:
            return Classified(SPAM_REPORT, headers, spam=spam)
        if kind == SPAM_REPORT:
            return Classified(AUTOMATED, headers, detail={"note": "A feedback report without a readable report part."})
    if kind == BOUNCE or any(_from_sisimai(r) for r in records):
        bounce = _bounce(parsed, raw, headers, records)
        if bounce is not None:
            return Classified(BOUNCE, headers, bounce=bounce)
        if sure_report:
            return Classified(AUTOMATED, headers, detail={"note": "Looked like a bounce, but named no failed address."})
        kind = _kind_besides_reports(headers)
    text = ""
    if kind == OUT_OF_OFFICE:
        text = ooo.own_text(f"{headers.subject}\n{body_text(parsed)}")
    return Classified(kind, headers, text=text)


def messages_classify(raws: list[bytes]) -> list[Classified | Exception]:
    """Classify whole messages, asking Sisimai about all of them at once (one process); where Sisimai is
    absent or fails, each is read by our own readers. A message that can't be classified is its error."""
    records = bounces.sisimai_parse(raws) or [[] for _ in raws]
    results: list[Classified | Exception] = []
    for raw, found in zip(raws, records, strict=True):
        try:
            results.append(message_classify(raw, sisimai=found))
        except Exception as exc:  # untrusted input: one unreadable message must not stop the batch
            results.append(exc)
    return results


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
        null_sender=_header(parsed, "Return-Path").strip() in ("<>", "< >")
        or (not _header(parsed, "From").strip("<> \t") and bool(_header(parsed, "From"))),
        sns_notification=bool(_header(parsed, "X-Amz-Sns-Message-Id")),
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
    """Surely a delivery notice: a delivery-status report, X-Failed-Recipients, a mailer daemon's mail."""
    if headers.content_type == "multipart/report" and headers.report_type in ("delivery-status", "feedback-report"):
        return True
    return bool(
        headers.failed_recipients
        or _BOUNCE_SENDER.match(headers.from_email)
        or (headers.auto_submitted.startswith("auto-") and _BOUNCE_SUBJECT.match(headers.subject))
        or (not headers.from_email and _BOUNCE_SUBJECT.match(headers.subject))
    )


def _may_be_notice(headers: Headers) -> bool:
    """Perhaps a notice: the null sender, any report, an SNS notification, or a bounce's subject."""
    return bool(
        headers.null_sender
        or headers.content_type == "multipart/report"
        or headers.sns_notification
        or _BOUNCE_SUBJECT.match(headers.subject)
    )


# --- Bounces -------------------------------------------------------------------------------------------


@dataclass
class _Recipient:
    address: str
    action: str
    status: str
    diagnostic: str


def _bounce(parsed: Message, raw: bytes, headers: Headers, records: list[dict[str, str]] | None) -> BounceInfo | None:
    """Who failed, hard or soft, and why (the readers of bounces.py, best first)."""
    original_id = _original_message_id(parsed, headers)
    failures = [f for r in records or () if (f := _from_sisimai(r)) is not None]
    if not failures:
        recipients = _dsn_recipients(parsed)
        # A DSN part without a Diagnostic-Code (Exim's): the explanation above it has the words.
        explained = {f.address: f.text for f in bounces.text_failures(_all_text(parsed))} if any(
            not r.diagnostic for r in recipients) else {}
        failures = [_from_dsn(r, explained.get(r.address, "")) for r in recipients if _dsn_failed(r)]
        if recipients and not failures:  # a DSN that reports delivery (Action: delivered/relayed/expanded)
            return None
    if not failures:
        failures = _from_text(parsed, raw, headers)
    if not failures:
        return None
    hard = [f for f in failures if f.hard]
    chosen = hard or failures
    first = chosen[0]
    return BounceInfo(
        permanent=first.hard, recipients=frozenset(f.address for f in chosen), status=first.status,
        text=first.text[:500], code=first.code, delayed=first.delayed, source=first.source,
        original_message_id=original_id or first.message_id,
    )


@dataclass(frozen=True)
class _Failure:
    address: str
    status: str
    text: str
    code: str
    hard: bool
    delayed: bool
    source: str
    message_id: str = ""


def _failure(address: str, status: str, text: str, *, action: str = "", sisimai: str = "", source: str,
             message_id: str = "") -> _Failure:
    text = " ".join(text.split())
    status = status or (m.group(0) if (m := _STATUS.match(text)) else "")
    delayed = action.startswith("delay") or (not action and bool(_WARNING_TEXT.search(text)) and
                                             not status.startswith("5"))
    code = bounces.Reason.DELAYED if delayed else bounces.reason_of(status, text, sisimai=sisimai)
    if not delayed and code == bounces.Reason.OTHER and status.startswith("4") and action.startswith("fail"):
        code = bounces.Reason.EXPIRED  # the provider gave up on a temporary failure
    hard = not delayed and bounces.is_hard(code, status)
    return _Failure(address.lower(), status, text, code, hard, delayed, source, message_id)


def _from_sisimai(record: dict[str, str]) -> _Failure | None:
    value = bounces.record_value
    reason = value(record, "reason").lower()
    address = value(record, "recipient")
    if reason in ("vacation", "feedback", "delivered", "") or "@" not in address:
        return None
    text = value(record, "diagnosticcode")
    text = re.sub(r"^(?:Diagnostic-Code:\s*)?(?:smtp|x-[\w-]+)\s*;\s*", "", text, flags=re.I)
    message_id = value(record, "messageid")
    return _failure(address, value(record, "deliverystatus"), text, action=value(record, "action").lower(),
                    sisimai=reason, source=f"sisimai:{value(record, 'smtpagent')}",
                    message_id=f"<{message_id.strip('<>')}>" if message_id else "")


def _dsn_failed(recipient: _Recipient) -> bool:
    return recipient.action.startswith(("fail", "error", "delayed")) or recipient.status.startswith(("4", "5"))


def _from_dsn(recipient: _Recipient, explained: str = "") -> _Failure:
    return _failure(recipient.address, recipient.status, recipient.diagnostic or explained or
                    f"Delivery status {recipient.status or 'unknown'} ({recipient.action or 'no action given'}).",
                    action=recipient.action, source="rfc3464")


def _from_text(parsed: Message, raw: bytes, headers: Headers) -> list[_Failure]:
    """No RFC 3464 part: our detectors for free-text notices, then flufl.bounce's."""
    text = _all_text(parsed)
    found = bounces.text_failures(text)
    warning = bool(_WARNING_SUBJECT.match(headers.subject) or _WARNING_TEXT.search(text))
    if found:
        return [_failure(f.address, f.status, f.text, action="delayed" if warning else "failed", source="text")
                for f in found]
    try:
        temporary, permanent = all_failures(email.message_from_bytes(raw))
    except Exception:  # a detector choking on a malformed message must not stop the sync
        temporary, permanent = frozenset(), frozenset()
    permanent_addresses = {a.decode("ascii", "replace").lower() for a in permanent} | set(headers.failed_recipients)
    temporary_addresses = {a.decode("ascii", "replace").lower() for a in temporary} - permanent_addresses
    status, reply = _reason_in_text(text)
    # flufl.bounce's loose detectors call a delay warning permanent; the warning's own words (or a 4xx
    # reply) say otherwise. X-Failed-Recipients is only ever set on real failures.
    soft = warning or status.startswith("4")
    failures = []
    for address in sorted(permanent_addresses):
        delayed = soft and address not in headers.failed_recipients
        failures.append(_failure(address, status or ("" if delayed else "5.0.0"), reply or headers.subject,
                                 action="delayed" if delayed else "failed", source="flufl.bounce"))
    failures += [_failure(a, status, reply or headers.subject, action="delayed", source="flufl.bounce")
                 for a in sorted(temporary_addresses)]
    return failures


def _all_text(parsed: Message) -> str:
    """Every text part of a notice (the explanation may be in any of them), attached originals left out."""
    texts = []
    for part in parsed.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            break
        if part.get_content_maintype() != "text":
            continue
        payload = part.get_payload(decode=True) or b""
        charset = part.get_content_charset() or "utf-8"
        try:
            texts.append(payload.decode(charset, errors="replace"))
        except LookupError:
            texts.append(payload.decode("utf-8", errors="replace"))
    return "\n".join(texts)


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


def _spam_report(parsed: Message, records: list[dict[str, str]]) -> SpamReportInfo | None:
    """An ARF report's complained-about recipient, from its parts, else from Sisimai's reading or SES's JSON."""
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
    original_id = _original_message_id(parsed, Headers())
    feedback = [r for r in records if r.get("reason") == "feedback" and "@" in r.get("recipient", "")]
    if report is None:
        if feedback:  # Sisimai reads reports whose parts are mislabelled (or not MIME at all)
            recipients = frozenset(r["recipient"].lower() for r in feedback)
            message_id = feedback[0].get("messageid", "")
            return SpamReportInfo(feedback[0].get("feedbacktype") or "abuse", recipients,
                                  original_id or (f"<{message_id.strip('<>')}>" if message_id else ""))
        ses = bounces.ses_complaint(_all_text(parsed))
        if ses is not None and ses[0]:
            return SpamReportInfo(ses[1], frozenset(ses[0]), original_id)
        return None
    recipients = {a.lower() for a in _EMAIL.findall(" ".join(str(v) for v in report.get_all("Original-Rcpt-To", [])))}
    recipients |= {a.lower() for a in original_to}
    recipients |= {r["recipient"].lower() for r in feedback}
    feedback_type = str(report.get("Feedback-Type") or "abuse").strip().lower()
    return SpamReportInfo(feedback_type, frozenset(recipients), original_id)
