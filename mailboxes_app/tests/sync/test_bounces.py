"""Bounces and complaints of every MTA family (fixtures/reports.tsv): who failed, hard or soft, why —
read by Sisimai where Debian's libsisimai-perl is installed, and by our own readers where it is not."""
from __future__ import annotations

from unittest import mock

import pytest

from mailboxes_app.sync import bounces, classify
from mailboxes_app.sync.bounces import Reason, reason_of
from mailboxes_app.sync.classify import headers_kind, headers_parse, message_classify, messages_classify
from mailboxes_app.tests.sync.reports import REPORTS
from mailboxes_app.tests.sync.test_classify import SENT_ID, fixture, header_fields_only

CONTACT = "maria@acme.example"
needs_sisimai = pytest.mark.skipif(not bounces.sisimai_available(),
                                   reason="Sisimai is not installed (apt-get install libsisimai-perl)")


def without_sisimai():
    return mock.patch.object(bounces, "sisimai_parse", return_value=None)


def check(report, classified):
    assert classified.kind == report.kind, report.file
    if report.kind == "bounce":
        bounce = classified.bounce
        assert (bounce.recipients, bounce.permanent, bounce.code) == ({CONTACT}, report.hard, report.code)
        assert bounce.text, "the remote server's words are kept"
    elif report.kind == "spam_report":
        assert classified.spam.recipients == {CONTACT}
        assert classified.spam.original_message_id == SENT_ID


@pytest.mark.parametrize("report", REPORTS, ids=lambda r: r.file.removesuffix(".eml"))
def test_each_family_s_notice_is_read_by_our_own_readers(report):
    with without_sisimai():
        [classified] = messages_classify([fixture(report.file)])
    check(report, classified)


@needs_sisimai
def test_sisimai_reads_every_family_s_notice_in_one_batch():
    raws = [fixture(report.file) for report in REPORTS]
    with mock.patch.object(bounces.subprocess, "run", wraps=bounces.subprocess.run) as run:
        results = messages_classify(raws)
    assert run.call_count == 1
    for report, classified in zip(REPORTS, results, strict=True):
        check(report, classified)
    sources = {c.bounce.source for c in results if c.bounce is not None}
    assert any(source.startswith("sisimai:") for source in sources)


@pytest.mark.parametrize("report", REPORTS, ids=lambda r: r.file.removesuffix(".eml"))
def test_the_first_pass_fetches_every_notice_whole(report):
    """Headers only: a bounce or complaint must be `bounce` / `spam_report` (fetched whole), never personal."""
    kind = headers_kind(headers_parse(header_fields_only(fixture(report.file))))
    if report.kind == "out_of_office":
        assert kind in (classify.BOUNCE, classify.OUT_OF_OFFICE)
    else:
        assert kind in (classify.BOUNCE, classify.SPAM_REPORT)


def test_a_dsn_that_quotes_the_original_and_threads_as_a_reply_is_a_bounce():
    raw = fixture("bounce_relay_quoting_reply.eml")
    headers = headers_parse(header_fields_only(raw))
    assert headers.references == (SENT_ID,)
    assert headers.subject.startswith("Re: ")
    assert headers_kind(headers) == classify.BOUNCE
    assert message_classify(raw).kind == classify.BOUNCE


def test_an_arf_report_that_calls_itself_an_auto_reply_is_a_complaint_not_an_out_of_office():
    raw = fixture("arf_auto_submitted.eml")
    assert headers_kind(headers_parse(header_fields_only(raw))) == classify.SPAM_REPORT
    assert message_classify(raw).kind == classify.SPAM_REPORT


def test_a_null_sender_auto_reply_is_fetched_whole_and_stays_an_out_of_office():
    raw = fixture("ooo_rfc3834_vacation.eml")
    assert headers_kind(headers_parse(header_fields_only(raw))) == classify.BOUNCE
    assert message_classify(raw).kind == classify.OUT_OF_OFFICE


def test_a_delay_warning_is_soft_and_not_retried_but_a_notice_that_the_provider_gave_up_is_hard():
    delayed = message_classify(fixture("bounce_postfix_delayed.eml")).bounce
    expired = message_classify(fixture("bounce_rfc3464_example.eml")).bounce
    assert (delayed.permanent, delayed.delayed, delayed.code) == (False, True, Reason.DELAYED)
    assert (expired.permanent, expired.delayed, expired.code) == (True, False, Reason.EXPIRED)


@pytest.mark.parametrize(
    ("status", "text", "sisimai", "reason"),
    [
        ("5.1.1", "550 5.1.1 <x@y.example>: Recipient address rejected: User unknown", "", Reason.USER_UNKNOWN),
        ("5.2.2", "552 5.2.2 Mailbox full", "", Reason.MAILBOX_FULL),
        ("5.0.0", "Unrouteable address", "", Reason.HOST_UNKNOWN),
        ("5.7.1", "550 5.7.1 Service unavailable; client host blocked using Spamhaus", "", Reason.BLOCKED),
        ("5.7.1", "550 5.7.1 Message rejected as spam", "", Reason.SPAM_DETECTED),
        ("5.3.4", "552 5.3.4 Message size exceeds fixed limit", "", Reason.MESSAGE_TOO_BIG),
        ("5.2.1", "550 5.2.1 Mailbox unavailable. The account is disabled.", "userunknown", Reason.SUSPENDED),
        ("5.1.10", "550 5.1.10 RESOLVER.ADR.RecipientNotFound", "filtered", Reason.USER_UNKNOWN),
        ("5.0.0", "something we have never seen", "", Reason.OTHER),
        ("5.4.7", "", "", Reason.EXPIRED),
        ("5.0.0", "something we have never seen", "toomanyconn", Reason.RATE_LIMITED),
    ],
)
def test_the_reason_comes_from_one_fixed_list(status, text, sisimai, reason):
    assert reason_of(status, text, sisimai=sisimai) == reason
    assert reason in Reason.LABELS


def test_hard_means_the_address_itself_is_wrong_or_the_provider_gave_up():
    assert {r for r in Reason.LABELS if bounces.is_hard(r, "4.0.0")} == {
        Reason.USER_UNKNOWN, Reason.HOST_UNKNOWN, Reason.HAS_MOVED, Reason.EXPIRED}
    assert bounces.is_hard(Reason.OTHER, "5.0.0")
    assert not bounces.is_hard(Reason.MAILBOX_FULL, "5.2.2")


def test_without_perl_sisimai_is_skipped_and_our_readers_answer():
    with mock.patch.object(bounces.shutil, "which", return_value=None):
        assert bounces.sisimai_parse([fixture("bounce_qmail_permanent.eml")]) is None
        [classified] = messages_classify([fixture("bounce_qmail_permanent.eml")])
    assert classified.bounce.source == "text"
    assert classified.bounce.code == Reason.USER_UNKNOWN


@needs_sisimai
def test_a_message_sisimai_chokes_on_does_not_lose_the_others():
    results = messages_classify([b"\x00\xff garbage", fixture("bounce_qmail_permanent.eml")])
    assert results[1].bounce.recipients == {CONTACT}


def test_a_feedback_report_under_a_wrong_content_type_is_still_a_complaint_not_an_out_of_office():
    raw = fixture("arf_auto_submitted.eml").replace(
        b"Content-Type: multipart/report; report-type=feedback-report;", b"Content-Type: multipart/mixed;").replace(
        b"Return-Path: <>\r\n", b"")
    assert headers_kind(headers_parse(header_fields_only(raw))) == classify.OUT_OF_OFFICE
    with without_sisimai():
        [classified] = messages_classify([raw])
    assert classified.kind == classify.SPAM_REPORT
