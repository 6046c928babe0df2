"""Classification from a message's bytes alone: each fixture's kind, bounce and report details, and the
out-of-office signals (headers and subjects in six languages)."""
from __future__ import annotations

import email
import email.policy
from datetime import date

import pytest

from mailboxes_app.sync import classify, ooo
from mailboxes_app.sync.classify import HEADER_FIELDS, headers_kind, headers_parse, message_classify
from mailboxes_app.tests.sync.helpers import eml

SENT_ID = "<nudge.7.1.0123456789abcdef@nudge.example>"
VALUES = {
    "message_id": SENT_ID, "contact_email": "maria@acme.example", "contact_name": "Maria Virtanen",
    "rep_email": "rhea@nudge.example", "rep_name": "Rhea Rep", "subject": "Hello Maria",
    "date": "Mon, 23 Nov 2026 11:00:00 +0200", "sent_date": "Mon, 23 Nov 2026 09:00:00 +0200",
}
RECEIVED = date(2026, 11, 23)
DEC_7 = date(2026, 12, 7)


def fixture(name: str) -> bytes:
    return eml(name, **VALUES)


def header_fields_only(raw: bytes) -> bytes:
    """What sync's first pass fetches: BODY.PEEK[HEADER.FIELDS (...)]."""
    parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
    wanted = {name.lower() for name in HEADER_FIELDS}
    return b"".join(
        f"{name}: {value}\r\n".encode("utf-8", "surrogateescape")
        for name, value in parsed.items() if name.lower() in wanted
    ) + b"\r\n"


KINDS = [
    ("reply_gmail_threaded.eml", classify.PERSONAL),
    ("reply_outlook_threaded.eml", classify.PERSONAL),
    ("reply_plain_from_contact.eml", classify.PERSONAL),
    ("reply_colleague_in_thread.eml", classify.PERSONAL),
    ("unrelated_personal.eml", classify.PERSONAL),
    ("unrelated_newsletter.eml", classify.AUTOMATED),
    ("arf_report.eml", classify.SPAM_REPORT),
    *[(name, classify.BOUNCE) for name in (
        "bounce_gmail_permanent.eml", "bounce_exchange_permanent.eml", "bounce_postfix_permanent.eml",
        "bounce_exim_permanent.eml", "bounce_postfix_delayed.eml", "bounce_exim_delayed.eml")],
    *[(f"ooo_{lang}.eml", classify.OUT_OF_OFFICE) for lang in (
        "en_outlook_date", "en_gmail_nodate", "fi_outlook_date", "fi_sieve_nodate", "sv_outlook_date", "sv_nodate",
        "de_outlook_date", "de_sieve_nodate", "fr_outlook_date", "fr_nodate", "es_outlook_date", "es_nodate")],
]


@pytest.mark.parametrize(("name", "kind"), KINDS)
def test_each_fixture_is_classified_the_same_from_its_header_fields_and_whole(name, kind):
    raw = fixture(name)
    assert headers_kind(headers_parse(header_fields_only(raw))) == kind
    assert message_classify(raw).kind == kind


@pytest.mark.parametrize(
    ("name", "permanent", "status", "reason"),
    [
        ("bounce_gmail_permanent.eml", True, "5.1.1", "550 5.1.1 The email account that you tried to reach does not"),
        ("bounce_exchange_permanent.eml", True, "5.1.10", "550 5.1.10 RESOLVER.ADR.RecipientNotFound"),
        ("bounce_postfix_permanent.eml", True, "5.1.1", "Recipient address rejected: User unknown in virtual"),
        ("bounce_exim_permanent.eml", True, "5.1.1", "550 5.1.1 <maria@acme.example>: Recipient address rejected"),
        ("bounce_postfix_delayed.eml", False, "4.4.1", "Connection timed out"),
        ("bounce_exim_delayed.eml", False, "4.7.1", "451 4.7.1 Greylisted"),
    ],
)
def test_a_bounce_says_who_failed_whether_for_good_and_why(name, permanent, status, reason):
    bounce = message_classify(fixture(name)).bounce
    assert bounce is not None
    assert (bounce.permanent, bounce.status, bounce.recipients) == (permanent, status, {"maria@acme.example"})
    assert reason in bounce.reason
    assert bounce.original_message_id == SENT_ID


def test_a_spam_report_names_the_complaining_address_and_the_email():
    spam = message_classify(fixture("arf_report.eml")).spam
    assert spam is not None
    assert (spam.feedback_type, spam.recipients, spam.original_message_id) == (
        "abuse", {"maria@acme.example"}, SENT_ID
    )


def test_a_success_notice_is_not_a_bounce():
    raw = fixture("bounce_postfix_delayed.eml").replace(b"Action: delayed", b"Action: delivered").replace(
        b"Status: 4.4.1", b"Status: 2.0.0"
    )
    assert message_classify(raw).kind == classify.AUTOMATED


def test_a_mailer_daemon_message_naming_no_address_is_not_a_bounce():
    raw = (b"From: MAILER-DAEMON@mail.example\r\nSubject: Postmaster notice\r\nMessage-ID: <n@mail.example>\r\n\r\n"
           b"Your quota is nearly full.\r\n")
    classified = message_classify(raw)
    assert (classified.kind, classified.bounce) == (classify.AUTOMATED, None)
    assert "note" in classified.detail


@pytest.mark.parametrize(
    ("name", "expected"),
    [(f"ooo_{lang}_outlook_date.eml", DEC_7) for lang in ("en", "fi", "sv", "de", "fr", "es")]
    + [(f"ooo_{name}.eml", None) for name in (
        "en_gmail_nodate", "fi_sieve_nodate", "sv_nodate", "de_sieve_nodate", "fr_nodate", "es_nodate")],
)
def test_an_auto_reply_carries_its_text_for_the_return_date(name, expected):
    classified = message_classify(fixture(name))
    assert ooo.find_return_date(classified.text, received=RECEIVED) == expected


def test_a_human_reply_that_mentions_being_away_is_a_reply():
    raw = (
        b"From: Maria <maria@acme.example>\r\nSubject: Re: Hello Maria\r\nIn-Reply-To: " + SENT_ID.encode()
        + b"\r\n\r\nSorry, I was out of the office last week and back on 23 November. Yes, let's talk!\r\n"
    )
    assert message_classify(raw).kind == classify.PERSONAL


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Auto-Submitted": "auto-replied (vacation)"},
        {"X-Autoreply": "yes"},
        {"X-Autorespond": "maria@acme.example"},
        {"Precedence": "auto_reply"},
    ],
)
def test_auto_reply_headers(headers):
    assert ooo.is_auto_reply(headers)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Auto-Submitted": "no"}, {"Auto-Submitted": "auto-generated"}, {"X-Autoreply": "no"},
     {"Precedence": "bulk"}],
)
def test_not_auto_reply_headers(headers):
    assert not ooo.is_auto_reply(headers)


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: Hello Maria", "Out of Office: Hello", "Out of office", "Auto: Hello Maria",
        "OOO: back Monday",
        "Automaattinen vastaus: Hei", "Poissa toimistolta", "Lomalla",
        "Automatiskt svar: Hej", "Frånvaro", "Ej på kontoret",
        "Automatische Antwort: Hallo", "Abwesenheitsnotiz", "Nicht im Büro",
        "Réponse automatique : Bonjour", "Absence du bureau", "Absente du bureau",
        "Respuesta automática: Hola", "Fuera de la oficina",
    ],
)
def test_out_of_office_subjects_in_six_languages(subject):
    assert ooo.has_out_of_office_subject(subject)


@pytest.mark.parametrize(
    "subject",
    ["Re: Hello Maria", "Re: Out of office policy", "Automatic replies are annoying", "Lomallani tapahtui",
     "Absentee report", "Fw: Automatische Antwort"],
)
def test_subjects_that_only_look_like_out_of_office(subject):
    assert not ooo.has_out_of_office_subject(subject)


def test_an_auto_generated_message_with_an_out_of_office_subject_is_out_of_office():
    """Exchange marks its automatic replies `auto-generated`; the subject tells them from other robots."""
    raw = b"From: m@acme.example\r\nAuto-Submitted: auto-generated\r\nSubject: Automatic reply: Hi\r\n\r\nAway.\r\n"
    assert headers_kind(headers_parse(raw)) == classify.OUT_OF_OFFICE
    raw = b"From: m@acme.example\r\nAuto-Submitted: auto-generated\r\nSubject: Your invoice\r\n\r\nPay.\r\n"
    assert headers_kind(headers_parse(raw)) == classify.AUTOMATED


def test_message_ids_are_read_with_or_without_angle_brackets():
    assert classify.message_ids("<a@b> <c@d>\r\n <e@f>") == ["<a@b>", "<c@d>", "<e@f>"]
    assert classify.message_ids("bare-id@host.example") == ["<bare-id@host.example>"]
    assert classify.message_ids("") == []


def test_in_reply_to_comes_before_references():
    headers = headers_parse(b"In-Reply-To: <b@x>\r\nReferences: <a@x> <b@x>\r\n\r\n")
    assert headers.references == ("<b@x>", "<a@x>")


@pytest.mark.parametrize("raw", [b"", b"\x00\xff\xfe garbage", b"Content-Type: multipart/report\r\n\r\n--x"])
def test_garbage_never_raises(raw):
    assert message_classify(raw).kind in (classify.PERSONAL, classify.AUTOMATED, classify.BOUNCE)
