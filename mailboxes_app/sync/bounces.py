"""Why a bounce happened, from the words of whichever mail server wrote it.

Three readers, best first, each used where the one before it found nothing:
1. Sisimai (Debian's `libsisimai-perl`), the field's specialised library,
   which knows some seventy mail systems' notices. It runs as one `perl`
   process per sync batch (`sisimai_parse`), never once per message; where
   it is not installed this reader is skipped.
2. The RFC 3464 fields (`message/delivery-status`), read in classify.py.
3. Our own detectors for the free-text notices of MTAs that write no RFC
   3464 part (`text_failures`: qmail, v5 Sendmail, Exim, Yahoo, DragonFly
   Mail Agent, OpenSMTPD, Lotus Notes / Domino, au/EZweb, KDDI, m-FILTER,
   Exchange's text NDRs, Amazon SES notifications forwarded by SNS),
   with flufl.bounce's detectors for what is left.

Whichever reader found the failure, the reason comes from one fixed list
(`Reason`), modelled on Sisimai's vocabulary: `reason_of` reads the
status code and the remote server's text; a reason Sisimai gave is used
when our reading finds nothing more specific. Whether a bounce is hard
(`is_hard`): the address itself is wrong (user unknown, host unknown, the
address moved), the provider gave up (expired), or a 5.x.x failure with
no better reason. Everything else (mailbox full, blocked, spam detected,
too big, suspended, ...) is soft: the address may work later.
"""
from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

SISIMAI_SCRIPT = Path(__file__).with_name("sisimai_batch.pl")
SISIMAI_MODULE = Path("/usr/share/perl5/Sisimai.pm")
# One sync batch has at most a few hundred bounces; perl parses ~100 a second.
SISIMAI_TIMEOUT_SECONDS = 120


class Reason:
    """The fixed list of bounce reasons (stored on the contact as `bounce_code`)."""

    USER_UNKNOWN = "user_unknown"
    MAILBOX_FULL = "mailbox_full"
    HOST_UNKNOWN = "host_unknown"
    BLOCKED = "blocked"
    SPAM_DETECTED = "spam_detected"
    MESSAGE_TOO_BIG = "message_too_big"
    EXPIRED = "expired"
    DELAYED = "delayed"
    SUSPENDED = "suspended"
    HAS_MOVED = "has_moved"
    RATE_LIMITED = "rate_limited"
    CONTENT_REJECTED = "content_rejected"
    NETWORK_ERROR = "network_error"
    SYSTEM_ERROR = "system_error"
    OTHER = "other"

    LABELS = {
        USER_UNKNOWN: "User unknown",
        MAILBOX_FULL: "Mailbox full",
        HOST_UNKNOWN: "Host unknown",
        BLOCKED: "Blocked / policy",
        SPAM_DETECTED: "Spam detected",
        MESSAGE_TOO_BIG: "Message too big",
        EXPIRED: "Expired (the provider gave up)",
        DELAYED: "Delayed (the provider keeps trying)",
        SUSPENDED: "Mailbox suspended",
        HAS_MOVED: "Address has moved",
        RATE_LIMITED: "Too many messages or connections",
        CONTENT_REJECTED: "Content rejected",
        NETWORK_ERROR: "Network error",
        SYSTEM_ERROR: "Remote system error",
        OTHER: "Other",
    }
    CHOICES = list(LABELS.items())


# The address itself is wrong, or the provider gave up: it won't work later.
HARD_REASONS = frozenset({Reason.USER_UNKNOWN, Reason.HOST_UNKNOWN, Reason.HAS_MOVED, Reason.EXPIRED})

# Sisimai's reasons in ours. Its vague ones are read again by `reason_of`, which may find better.
SISIMAI_REASONS = {
    "userunknown": Reason.USER_UNKNOWN,
    "hostunknown": Reason.HOST_UNKNOWN,
    "hasmoved": Reason.HAS_MOVED,
    "mailboxfull": Reason.MAILBOX_FULL,
    "exceedlimit": Reason.MESSAGE_TOO_BIG,
    "mesgtoobig": Reason.MESSAGE_TOO_BIG,
    "expired": Reason.EXPIRED,
    "suspend": Reason.SUSPENDED,
    "blocked": Reason.BLOCKED,
    "policyviolation": Reason.BLOCKED,
    "securityerror": Reason.BLOCKED,
    "norelaying": Reason.BLOCKED,
    "spamdetected": Reason.SPAM_DETECTED,
    "virusdetected": Reason.CONTENT_REJECTED,
    "contenterror": Reason.CONTENT_REJECTED,
    "toomanyconn": Reason.RATE_LIMITED,
    "networkerror": Reason.NETWORK_ERROR,
    "systemerror": Reason.SYSTEM_ERROR,
    "systemfull": Reason.SYSTEM_ERROR,
    "mailererror": Reason.SYSTEM_ERROR,
    "syntaxerror": Reason.SYSTEM_ERROR,
    "notaccept": Reason.HOST_UNKNOWN,
    "filtered": Reason.OTHER,
    "rejected": Reason.OTHER,
    "onhold": Reason.OTHER,
    "undefined": Reason.OTHER,
}
SISIMAI_VAGUE = frozenset({"filtered", "rejected", "onhold", "undefined", "systemerror", "mailererror", "notaccept",
                           "expired", "blocked", "securityerror"})

# The remote server's words, most specific first: "550 5.7.1 ... user unknown (spam filter)" is user unknown.
_TEXT_REASONS: list[tuple[str, re.Pattern[str]]] = [
    (Reason.MAILBOX_FULL, re.compile(
        r"mailbox (?:is )?full|mailbox full|over ?quota|quota (?:exceeded|exceed)|exceeded (?:storage|quota)"
        r"|insufficient (?:system )?storage|out of storage|inbox is (?:out of storage|full)|mailfolder is over"
        r"|mailbox size limit|not enough (?:disk )?space|account is full|disk quota|mailbox is full", re.I)),
    (Reason.SUSPENDED, re.compile(
        r"suspended|account (?:is |has been )?(?:disabled|deactivated|inactive|locked|closed|blocked)"
        r"|mailbox (?:is )?(?:disabled|inactive|locked|frozen)|account is temporarily limited|user(?:\(s\))? account"
        r" is disabled|not active", re.I)),
    (Reason.USER_UNKNOWN, re.compile(
        r"user (?:unknown|not found|not listed|doesn't exist|does not exist)|unknown (?:user|recipient|address|local"
        r" part)|no such (?:user|address|account|mailbox|recipient|person)|recipient (?:not found|unknown|address "
        r"rejected: (?:user unknown|undeliverable|unknown|access denied))|(?:address|account|mailbox|recipient) "
        r"(?:does not|doesn't|did not) exist|does not exist|doesn't exist|invalid (?:recipient|mailbox|address|user)"
        r"|mailbox (?:unavailable|not found|does not exist)|recipnotfound|recipientnotfound|not listed in (?:public "
        r"name|domino directory)|name is not recognized|unknown recipient|addressee unknown|no mailbox here"
        r"|bad destination mailbox|not a valid (?:mailbox|user|recipient)|account that you tried to reach does not"
        r"|user doesn't have|no account by that name|is not a known user|mailbox name not "
        r"allowed|the email account (?:that you tried to reach )?does not exist", re.I)),
    (Reason.HAS_MOVED, re.compile(r"has moved|no longer (?:valid|active|with|in use)|address changed", re.I)),
    (Reason.HOST_UNKNOWN, re.compile(
        r"host (?:not found|unknown|or domain name not found)|unknown host|unrouteable address"
        r"|domain (?:not found|does not exist|name not found|not exist)|no such domain|unrouteable domain"
        r"|nxdomain|name or service not known|(?:no|can ?not find) mx record|unable to route|null mx"
        r"|remote domain doesnt exist|domain has no mx|dns error", re.I)),
    (Reason.MESSAGE_TOO_BIG, re.compile(
        r"too (?:big|large)|size (?:limit|exceeds)|exceeds (?:the )?(?:\w+ )?(?:size|limit)|message size"
        r"|maximum (?:message )?size|message length exceeds", re.I)),
    (Reason.SPAM_DETECTED, re.compile(
        r"\bspam\b(?!haus)|junk mail|unsolicited|\buce\b|bulk mail|content filter|spam ?assassin|spamcop", re.I)),
    (Reason.BLOCKED, re.compile(
        r"spamhaus|black ?list|block ?list|\blisted (?:on|in|at|by)|\brbl\b|dnsbl|banned|blocked|reputation"
        r"|access denied|not (?:allowed|authori[sz]ed|permitted)|\bpolicy\b|relay(?:ing)? (?:access )?denied"
        r"|relaying|\bspf\b|\bdkim\b|\bdmarc\b|unauthenticated|refused|rejected (?:by|due|for policy)"
        r"|prohibited|sender (?:address )?rejected", re.I)),
    (Reason.RATE_LIMITED, re.compile(
        r"too many (?:connections|messages|recipients|emails|concurrent)|rate limit|throttl|try again later"
        r"|receiving mail at a rate", re.I)),
    (Reason.CONTENT_REJECTED, re.compile(r"virus|malware|attachment|content (?:rejected|error)|message content",
                                         re.I)),
    (Reason.EXPIRED, re.compile(
        r"retry (?:time|timeout)|expired|could not be delivered (?:for|within)|not delivered within|gave up"
        r"|giving up|too long in (?:the )?queue|message will be deleted from queue|delivery time ?out"
        r"|maximum time", re.I)),
    (Reason.NETWORK_ERROR, re.compile(
        r"connection (?:refused|timed out|reset|lost|closed)|timed out|no route to host|network is unreachable"
        r"|could not connect|hop count|mail loop|loops back", re.I)),
    (Reason.SYSTEM_ERROR, re.compile(r"system (?:error|not available)|internal error|local error|server error"
                                     r"|i/o error|temporarily unavailable|service unavailable", re.I)),
]

# RFC 3463 enhanced status codes, by subject.detail, when the text says nothing we know.
_STATUS_REASONS = {
    "1.1": Reason.USER_UNKNOWN, "1.0": Reason.USER_UNKNOWN, "1.3": Reason.USER_UNKNOWN,
    "1.2": Reason.HOST_UNKNOWN, "1.10": Reason.USER_UNKNOWN, "1.6": Reason.HAS_MOVED,
    "2.1": Reason.SUSPENDED, "2.2": Reason.MAILBOX_FULL, "2.3": Reason.MESSAGE_TOO_BIG,
    "3.4": Reason.MESSAGE_TOO_BIG, "4.4": Reason.HOST_UNKNOWN, "4.7": Reason.EXPIRED,
    "4.1": Reason.NETWORK_ERROR, "4.2": Reason.NETWORK_ERROR, "4.0": Reason.NETWORK_ERROR,
    "7.1": Reason.BLOCKED, "7.0": Reason.BLOCKED, "7.26": Reason.BLOCKED, "7.25": Reason.BLOCKED,
    "7.23": Reason.BLOCKED, "7.27": Reason.BLOCKED, "7.7": Reason.BLOCKED,
}
_SPECIFIC = frozenset({Reason.MAILBOX_FULL, Reason.SUSPENDED, Reason.USER_UNKNOWN, Reason.HOST_UNKNOWN,
                       Reason.MESSAGE_TOO_BIG, Reason.SPAM_DETECTED, Reason.HAS_MOVED})
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


def reason_of(status: str, text: str, *, sisimai: str = "") -> str:
    """The reason (one of `Reason`) for a failure with this status code and remote text.

    The text is read first; a reason Sisimai gave wins over a general one read there (blocked,
    network, ...), but not over a specific one ("The account is disabled" is suspended, whatever the
    rest of the line says).
    """
    mapped = SISIMAI_REASONS.get(sisimai.lower(), "") if sisimai else ""
    trusted = mapped if mapped and sisimai.lower() not in SISIMAI_VAGUE else ""
    read = next((reason for reason, pattern in _TEXT_REASONS if pattern.search(text or "")), "")
    if read and (read in _SPECIFIC or not trusted):
        return read
    if trusted:
        return trusted
    found = _STATUS.search(status or "") or _STATUS.search(text or "")
    if found:
        by_status = _STATUS_REASONS.get(f"{found.group(2)}.{found.group(3)}")
        if by_status is not None:
            return by_status
        if found.group(2) == "7":
            return Reason.BLOCKED
        if found.group(2) == "3":
            return Reason.SYSTEM_ERROR
    return mapped or Reason.OTHER


def is_hard(reason: str, status: str) -> bool:
    """A hard bounce: the address is wrong, the provider gave up, or a 5.x.x failure with no better reason."""
    if reason in HARD_REASONS:
        return True
    return reason == Reason.OTHER and status.startswith("5")


def label(reason: str) -> str:
    return Reason.LABELS.get(reason, Reason.LABELS[Reason.OTHER])


# --- Sisimai --------------------------------------------------------------------------------------


def sisimai_available() -> bool:
    return SISIMAI_MODULE.exists() and shutil.which("perl") is not None


def sisimai_parse(raws: list[bytes]) -> list[list[dict[str, str]]] | None:
    """Sisimai's records for each message (one perl process for the whole list); None where it can't run."""
    if not raws or not sisimai_available():
        return None
    stdin = b"".join(b"%d\n%s" % (len(raw), raw) for raw in raws)
    try:
        done = subprocess.run(
            ["perl", str(SISIMAI_SCRIPT)], input=stdin, capture_output=True, timeout=SISIMAI_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        logger.warning("Sisimai did not answer; bounces are read without it", exc_info=True)
        return None
    lines = done.stdout.decode("utf-8", "replace").splitlines()
    if done.returncode != 0 or len(lines) != len(raws):
        logger.warning("Sisimai failed (%s): %s", done.returncode, done.stderr[-500:])
        return None
    records: list[list[dict[str, str]]] = []
    for line in lines:
        try:
            parsed = json.loads(line)
        except ValueError:
            parsed = []
        records.append([r for r in parsed if isinstance(r, dict)] if isinstance(parsed, list) else [])
    return records


# --- Our own detectors for free-text notices -------------------------------------------------------


@dataclass(frozen=True)
class TextFailure:
    address: str
    status: str
    text: str
    delayed: bool = False


_EMAIL = r"[^\s<>\"';:,()\[\]]+@[^\s<>\"';:,()\[\]]+\.[A-Za-z]{2,}"
_ADDRESS = re.compile(_EMAIL)
# Where a notice stops explaining and quotes the original (which names the recipient too).
_ORIGINAL_STARTS = re.compile(
    r"^(?:--- Below this line is a copy of the message|-+ ?(?:Unsent|Original|Returned) (?:message|Message)"
    r"|Original message follows|Message headers follow|Below is a copy of the original message"
    r"|-------original (?:message|mail info)|------- Returned Message|Content-Type: message/rfc822"
    r"|Content-Type: text/rfc822-headers|-----Original Message-----)",
    re.I | re.M,
)
# Notice shapes: (pattern that finds "recipient + why" blocks, index of the address group, of the text group).
_BLOCKS: list[re.Pattern[str]] = [
    # qmail, Yahoo: "<addr>:\n<why>" until a blank line.
    re.compile(rf"^<({_EMAIL})>:[ \t]*\n((?:.+\n?)+)", re.M),
    # OpenSMTPD, Postfix text, EZweb: "addr: 550 ..." / "<addr>: 550 ..." on one line.
    re.compile(rf"^<?({_EMAIL})>?:[ \t]+((?:\d{{3}}|host |[A-Za-z]).+(?:\n[ \t]+.+)*)", re.M),
    # DragonFly Mail Agent: "There was an error delivering your mail to <addr>.\n\n<why>".
    re.compile(rf"error delivering your mail to <({_EMAIL})>\.\s*\n\s*\n((?:.+\n?)+)", re.I),
    # KDDI: "Could not be delivered to: <addr>\n   As their mailbox is full."
    re.compile(rf"Could not be delivered to: <({_EMAIL})>\s*\n((?:[ \t]+.+\n?)+)", re.I),
    # Exim text: "  addr\n    why"
    re.compile(rf"following address(?:\(es\))? failed:\s*\n\s*\n?[ \t]+({_EMAIL})[ \t]*\n((?:[ \t]+.+\n?)+)", re.I),
    # v5 Sendmail: ">>> RCPT To:<addr>\n<<< 550 ..."
    re.compile(rf">>> RCPT To:<({_EMAIL})>\s*\n<<< (.+)", re.I),
    # Exchange text NDRs: "addr on <date>\n    why"
    re.compile(rf"^[ \t]*({_EMAIL}) on [^\n]+\n((?:[ \t]+.+\n?)+)", re.M),
    # Lotus Domino: "was not delivered to:\n\n  addr\n\nbecause:\n\n  why"
    re.compile(rf"was not delivered to:\s*\n\s*({_EMAIL})\s*\n\s*because:\s*\n\s*(.+)", re.I),
]
# Lotus Notes: "------- Failure Reasons  --------\n\n<why>\n<addr>"
_NOTES = re.compile(rf"------- Failure Reasons\s+-+\s*\n\s*\n?(.+)\n({_EMAIL})", re.I)
# m-FILTER: "addr\n\n-------server message\n<why>"
_MFILTER = re.compile(rf"^({_EMAIL})\s*\n\s*\n?-------server message\s*\n(.+)", re.M)
_SES_JSON = re.compile(r"\{\s*\"notificationType\"\s*:\s*\"(?:Bounce|Complaint)\"")
_SMTP_CODE = re.compile(r"(?<![\d.])([245]\d\d)(?![\d.])[ -]?#?(?:([245]\.\d{1,3}\.\d{1,3})\b)?")
# au/EZweb state the reason once, above the recipients.
_EZWEB_LEAD = re.compile(r"^(The user\(s\) account is [^\n]+)$", re.M)
_WARNING = re.compile(r"has not yet been delivered|will be retried|this is a warning only|no action is required on "
                      r"your part|delivery attempts will continue|delayed", re.I)


def text_failures(text: str) -> list[TextFailure]:
    """Failed recipients and why, from a notice's text (no RFC 3464 part); [] when it names none."""
    if not text:
        return []
    if _SES_JSON.search(text):
        return _ses_notification(text)
    explanation = text.replace("\r\n", "\n")
    if (cut := _ORIGINAL_STARTS.search(explanation)) is not None and cut.start() > 0:
        explanation = explanation[: cut.start()]
    found: dict[str, TextFailure] = {}
    lead = m.group(1) + " " if (m := _EZWEB_LEAD.search(explanation)) else ""

    def add(address: str, why: str) -> None:
        address = address.strip("<>").lower()
        why = " ".join((lead + why).split())[:500]
        if address in found and found[address].text:
            return
        code = _SMTP_CODE.search(why)
        status = (code.group(2) or f"{code.group(1)[0]}.0.0") if code else ""
        found[address] = TextFailure(address, status, why, delayed=bool(_WARNING.search(explanation)))

    if (notes := _NOTES.search(explanation)) is not None:
        add(notes.group(2), notes.group(1))
    if (mfilter := _MFILTER.search(explanation)) is not None:
        add(mfilter.group(1), mfilter.group(2))
    for pattern in _BLOCKS:
        for match in pattern.finditer(explanation):
            add(match.group(1), match.group(2))
    return list(found.values())


def _ses_notification(text: str) -> list[TextFailure]:
    """An Amazon SES bounce notification forwarded by SNS as email: a JSON object in the body."""
    start = text.find("{")
    try:
        payload, _ = json.JSONDecoder().raw_decode(text[start:])
    except ValueError:
        return []
    if not isinstance(payload, dict) or payload.get("notificationType") != "Bounce":
        return []
    bounce = payload.get("bounce") or {}
    failures = []
    for recipient in bounce.get("bouncedRecipients") or []:
        if not isinstance(recipient, dict) or "@" not in str(recipient.get("emailAddress", "")):
            continue
        diagnostic = str(recipient.get("diagnosticCode") or "")
        diagnostic = diagnostic.split(";", 1)[1].strip() if diagnostic.lower().startswith("smtp;") else diagnostic
        status = str(recipient.get("status") or "")
        if not status:
            status = "5.0.0" if bounce.get("bounceType") == "Permanent" else "4.0.0"
        failures.append(TextFailure(str(recipient["emailAddress"]).lower(), status, diagnostic[:500]))
    return failures


def ses_complaint(text: str) -> tuple[list[str], str] | None:
    """An Amazon SES complaint notification: (complained recipients, feedback type), else None."""
    if '"Complaint"' not in text:
        return None
    start = text.find("{")
    try:
        payload, _ = json.JSONDecoder().raw_decode(text[start:]) if start >= 0 else (None, 0)
    except ValueError:
        return None
    if not isinstance(payload, dict) or payload.get("notificationType") != "Complaint":
        return None
    complaint = payload.get("complaint") or {}
    recipients = [str(r.get("emailAddress", "")).lower() for r in complaint.get("complainedRecipients") or []
                  if isinstance(r, dict) and "@" in str(r.get("emailAddress", ""))]
    return recipients, str(complaint.get("complaintFeedbackType") or "abuse").lower()


def addresses_in(text: str) -> list[str]:
    return [a.lower() for a in _ADDRESS.findall(text or "")]


def record_value(record: dict[str, Any], name: str) -> str:
    return str(record.get(name) or "").strip()
