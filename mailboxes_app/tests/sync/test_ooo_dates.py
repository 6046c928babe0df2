"""Return dates read from out-of-office text, in the common formats of six languages."""
from __future__ import annotations

from datetime import date

import pytest

from mailboxes_app.sync.ooo import find_return_date, own_text

RECEIVED = date(2026, 11, 23)  # a Monday
DEC_7 = date(2026, 12, 7)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # English
        ("I am out of the office until Monday, December 7, 2026, with limited access to email.", DEC_7),
        ("I'm away and will be back on 7th of December.", DEC_7),
        ("Back on Dec 7th.", DEC_7),
        ("I will return on 7 December 2026.", DEC_7),
        ("Returning 2026-12-07.", DEC_7),
        ("Back 07/12/2026.", DEC_7),
        ("I'm on annual leave through 6 December.", DEC_7),  # the last day away: back the day after
        ("I'm on leave until December 6 inclusive.", DEC_7),
        # Finnish
        ("Olen lomalla ja palaan toimistolle maanantaina 7.12.2026.", DEC_7),
        ("Olen poissa 7.12. asti.", DEC_7),
        ("Olen lomalla 7. joulukuuta asti.", DEC_7),
        ("Olen tavoitettavissa 7.12.26 lähtien.", DEC_7),
        ("Palaan 7.12.", DEC_7),
        # Swedish
        ("Jag är tillbaka måndag den 7 december.", DEC_7),
        ("Jag är på semester till och med 6/12.", DEC_7),
        ("Jag är ledig t.o.m. 2026-12-06.", DEC_7),
        ("Åter på kontoret den 7:e december 2026.", DEC_7),
        # German
        ("Ich bin bis einschließlich 6. Dezember 2026 nicht im Büro.", DEC_7),
        ("Ab dem 07.12.2026 bin ich wieder erreichbar.", DEC_7),
        ("Ich bin ab 7. Dez. wieder im Büro.", DEC_7),
        ("Ich bin bis zum 7.12. im Urlaub.", DEC_7),
        # French
        ("Je serai de retour le lundi 7 décembre 2026.", DEC_7),
        ("Je suis absente jusqu'au 6 décembre inclus.", DEC_7),
        ("De retour le 7/12/2026.", DEC_7),
        ("Je suis en congé jusqu’au 1er décembre.", date(2026, 12, 1)),
        # Spanish
        ("Estaré fuera de la oficina hasta el 7 de diciembre de 2026.", DEC_7),
        ("Regresaré el lunes 7/12/2026.", DEC_7),
        ("Estoy de vacaciones hasta el 6 de diciembre, incluido.", DEC_7),
        ("Volveré el 7 de diciembre.", DEC_7),
    ],
)
def test_the_return_date_in_each_language(text, expected):
    assert find_return_date(text, received=RECEIVED) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Thanks for your email. I have limited access to email.",
        "Olen poissa toimistolta enkä lue sähköpostiani säännöllisesti.",
        "Jag är inte på kontoret.",
        "Ich bin derzeit nicht im Büro.",
        "Je suis actuellement absente.",
        "Estoy fuera de la oficina.",
    ],
)
def test_no_date_in_the_text_means_none(text):
    assert find_return_date(text, received=RECEIVED) is None


def test_a_date_without_a_year_is_the_next_one():
    assert find_return_date("Back on 4 January.", received=RECEIVED) == date(2027, 1, 4)
    # A week's grace: "back 20 November" read on the 23rd means last week, not next year.
    assert find_return_date("Back on 20 November.", received=RECEIVED) is None


def test_dates_before_the_reply_are_not_return_dates():
    text = "Ich bin vom 16.11.2026 bis 4.12.2026 im Urlaub."
    assert find_return_date(text, received=RECEIVED) == date(2026, 12, 4)
    assert find_return_date("I was back on 1 November 2026.", received=RECEIVED) is None
    assert find_return_date("Back on 7 December 2029.", received=RECEIVED) is None  # more than a year out


def test_a_date_after_a_return_word_wins_over_other_dates():
    text = "Back December 7th. Join our webinar on 15 January 2027!"
    assert find_return_date(text, received=RECEIVED) == DEC_7
    text = "Olen lomalla 7. joulukuuta asti. Tervetuloa messuille 20.1.2027!"
    assert find_return_date(text, received=RECEIVED) == DEC_7


def test_the_end_of_a_range_is_the_return_date():
    assert find_return_date("Out from 23 November to 7 December.", received=RECEIVED) == DEC_7
    assert find_return_date("Je suis absente du 23 novembre au 4 décembre inclus.", received=RECEIVED) == date(
        2026, 12, 5
    )


def test_times_and_fractions_are_not_dates():
    assert find_return_date("Soita klo 9.12 jälkeen.", received=RECEIVED) is None
    assert find_return_date("Ruf mich um 14.10 an.", received=RECEIVED) is None
    assert find_return_date("We are 1/2 staffed this week.", received=RECEIVED) is None


def test_slashed_dates_are_month_first_where_americans_write_them():
    assert find_return_date("Back 12/07/2026.", received=RECEIVED, month_first=True) == DEC_7
    assert find_return_date("Back 12/07/2026.", received=RECEIVED) is None  # 12 July 2026: already past
    assert find_return_date("Back 12/21/2026.", received=RECEIVED) == date(2026, 12, 21)  # only one reading
    assert find_return_date("Palaan 7.12.2026.", received=RECEIVED, month_first=True) == DEC_7  # dots: day first


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm back on Monday.", date(2026, 11, 30)),
        ("Palaan maanantaina.", date(2026, 11, 30)),
        ("Jag är tillbaka på onsdag.", date(2026, 11, 25)),
        ("Ab Donnerstag bin ich wieder da.", date(2026, 11, 26)),
        ("De retour vendredi.", date(2026, 11, 27)),
        ("Volveré el martes.", date(2026, 11, 24)),
    ],
)
def test_a_weekday_after_a_return_word_is_the_next_such_day(text, expected):
    assert find_return_date(text, received=RECEIVED) == expected


def test_quoted_mail_below_the_reply_is_not_read():
    text = (
        "I'm away with no access to email.\n\n"
        "On Mon, 23 Nov 2026 at 9.00, Rhea <rhea@nudge.example> wrote:\n"
        "> Shall we meet on 10 December 2026?\n"
    )
    assert own_text(text).strip() == "I'm away with no access to email."
    assert find_return_date(own_text(text), received=RECEIVED) is None
    outlook = "Olen lomalla.\n\nFrom: Rhea <rhea@nudge.example>\nSent: 23.11.2026\nSubject: Palaan 10.12."
    assert find_return_date(own_text(outlook), received=RECEIVED) is None
