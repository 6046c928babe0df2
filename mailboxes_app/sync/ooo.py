"""Out-of-office auto-replies: telling them apart, and reading the return date out of them.

Detection looks only at headers and the subject, never at the body: a real
reply that happens to say "I was out of the office" must still stop the
sequence (pausing when someone answered is the worse mistake). The signals:
`Auto-Submitted: auto-replied` (RFC 3834), `X-Autoreply`, `X-Autorespond`,
`Precedence: auto_reply`, and the subjects that Outlook, Gmail and common
clients put on such replies in English, Finnish, Swedish, German, French and
Spanish.

The return date is read from the subject and the reply's own text (quoted
mail cut off):
1. Every date in the text is found: ISO `2026-12-07`; numeric `7.12.2026`,
   `7.12.`, `07/12/2026`, `12/07/2026` (month first when the second
   number can't be a month, or for slashes when `month_first` says so, e.g.
   in American time zones); day and month name `7 December`, `7th of Dec`, `7. Dezember`,
   `7. joulukuuta`, `7:e december`, `1er avril`, `7 de diciembre de 2026`;
   month name and day `December 7th, 2026`.
2. A date without a year is the next one on or after the day the reply came
   (a week's grace, so "back 1 March" sent on 3 March means last week, not
   next year); dates before the reply or more than a year after it are not
   return dates.
3. Dates right after a return word ("back", "until", "palaan", "asti",
   "tillbaka", "bis", "de retour", "hasta", ...) win over other dates (a
   webinar invitation in the signature); among them, the latest wins (the end
   of "from 23 to 30 November").
4. "Through", "t.o.m.", "einschließlich", "inclus", "incluido" mark the last
   day away: the return is the day after.
5. With no date at all, a weekday after a return word ("back on Monday")
   is the next such day.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

# --- Detection --------------------------------------------------------------------------------------

# Subjects that only out-of-office replies start with (matched case-insensitively at the start).
_STRONG_SUBJECTS = (
    # English (Outlook, Gmail, Lotus Notes "Auto:", common hand-written ones)
    "automatic reply", "auto-reply", "autoreply", "auto reply", "auto response", "auto-response",
    "autoresponse", "out of office", "out of the office", "out-of-office", "ooo:", "auto:",
    "away from the office", "away from office", "away from my desk", "on vacation", "on leave",
    "on holiday", "annual leave", "vacation reply", "holiday reply",
    # Finnish
    "automaattinen vastaus", "poissa toimistolta", "poissaoloilmoitus", "poissaoloviesti", "lomaviesti",
    "olen lomalla", "lomalla", "olen poissa",
    # Swedish
    "automatiskt svar", "autosvar", "frånvaro", "frånvarande", "ej på kontoret", "inte på kontoret",
    "borta från kontoret", "på semester",
    # German
    "automatische antwort", "abwesenheitsnotiz", "abwesenheitsnachricht", "abwesenheit", "abwesend",
    "nicht im büro", "außer haus", "ausser haus", "im urlaub",
    # French
    "réponse automatique", "reponse automatique", "absent du bureau", "absente du bureau", "absence du bureau",
    "message d'absence", "message d’absence", "absent(e) du bureau", "en congé", "en congés",
    # Spanish
    "respuesta automática", "respuesta automatica", "fuera de la oficina", "fuera de oficina",
    "ausente de la oficina", "de vacaciones", "mensaje de ausencia",
)
_SUBJECT_RE = re.compile(
    r"^\s*(?:" + "|".join(re.escape(s) for s in sorted(_STRONG_SUBJECTS, key=len, reverse=True)) + r")(?!\w)",
    re.IGNORECASE,
)


def is_auto_reply(headers: Mapping[str, str]) -> bool:
    """True when the headers say a machine answered (RFC 3834 and the common non-standard flags)."""
    auto_submitted = _value(headers, "Auto-Submitted")
    if auto_submitted.startswith("auto-replied"):
        return True
    if _value(headers, "X-Autoreply") not in ("", "no", "false", "0"):
        return True
    if _value(headers, "X-Autorespond") not in ("", "no", "false", "0"):
        return True
    return _value(headers, "Precedence") in ("auto_reply", "auto-reply")


def has_out_of_office_subject(subject: str) -> bool:
    return bool(_SUBJECT_RE.match(subject or ""))


def _value(headers: Mapping[str, str], name: str) -> str:
    return str(headers.get(name) or "").strip().lower()


# --- Return dates -----------------------------------------------------------------------------------

_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    1: ("january", "jan", "tammikuu", "januari", "januar", "jänner", "janvier", "janv", "enero", "ene"),
    2: ("february", "feb", "helmikuu", "februari", "februar", "février", "fevrier", "févr", "fevr", "febrero"),
    3: ("march", "mar", "maaliskuu", "mars", "märz", "maerz", "marzo"),
    4: ("april", "apr", "huhtikuu", "avril", "abril", "abr"),
    5: ("may", "toukokuu", "maj", "mai", "mayo"),
    6: ("june", "jun", "kesäkuu", "juni", "juin", "junio"),
    7: ("july", "jul", "heinäkuu", "juli", "juillet", "juil", "julio"),
    8: ("august", "aug", "elokuu", "augusti", "août", "aout", "agosto", "ago"),
    9: ("september", "sep", "sept", "syyskuu", "septembre", "septiembre", "setiembre"),
    10: ("october", "oct", "lokakuu", "oktober", "okt", "octobre", "octubre"),
    11: ("november", "nov", "marraskuu", "novembre", "noviembre"),
    12: ("december", "dec", "joulukuu", "dezember", "dez", "décembre", "decembre", "déc", "diciembre", "dic"),
}
_MONTHS = {name: month for month, names in _MONTH_NAMES.items() for name in names}
# Finnish month names take a case ending: 7. joulukuuta, joulukuun 7., joulukuussa.
_MONTH_ALT = "|".join(re.escape(name) for name in sorted(_MONTHS, key=len, reverse=True))
_MONTH = rf"(?P<month>{_MONTH_ALT})(?:ta|n|ssa|hun)?\.?"

_ISO = re.compile(r"(?<![\d.])(?P<year>\d{4})-(?P<a>\d{1,2})-(?P<b>\d{1,2})(?![\d])")
_NUMERIC = re.compile(
    r"(?<![\d.:/])(?P<a>\d{1,2})(?P<sep>[./])(?P<b>\d{1,2})(?:(?P=sep)(?P<year>\d{4}|\d{2}))?(?![\d/]|\.\d)"
)
_DAY_MONTH = re.compile(
    rf"(?<![\d.])(?P<day>\d{{1,2}})(?:st|nd|rd|th|er|:e|:a|\.)?\s*(?:of\s+|de\s+|d')?{_MONTH}"
    rf"(?:,?\s*(?:de\s+|del\s+)?(?P<year>\d{{4}}))?(?!\w)",
    re.IGNORECASE,
)
_MONTH_DAY = re.compile(
    rf"(?<!\w){_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th|\.)?(?:,?\s+(?P<year>\d{{4}}))?(?![\d:])",
    re.IGNORECASE,
)
# "at 10.30", "klo 9.15", "um 14.10": times, not dates.
_TIME_BEFORE = re.compile(r"(?:\b(?:at|klo|kello|kl|um|à|a las|alle|ab)\s*)$", re.IGNORECASE)

_WEEKDAYS: dict[int, tuple[str, ...]] = {
    0: ("monday", "maanantai", "måndag", "montag", "lundi", "lunes"),
    1: ("tuesday", "tiistai", "tisdag", "dienstag", "mardi", "martes"),
    2: ("wednesday", "keskiviikko", "onsdag", "mittwoch", "mercredi", "miércoles", "miercoles"),
    3: ("thursday", "torstai", "torsdag", "donnerstag", "jeudi", "jueves"),
    4: ("friday", "perjantai", "fredag", "freitag", "vendredi", "viernes"),
    5: ("saturday", "lauantai", "lördag", "samstag", "samedi", "sábado", "sabado"),
    6: ("sunday", "sunnuntai", "söndag", "sonntag", "dimanche", "domingo"),
}
_WEEKDAY_NAMES = {name: day for day, names in _WEEKDAYS.items() for name in names}
_WEEKDAY = re.compile(
    r"(?<!\w)(?P<weekday>" + "|".join(sorted(_WEEKDAY_NAMES, key=len, reverse=True)) + r")(?:na|sta|hin)?(?!\w)",
    re.IGNORECASE,
)

# Words that put a return (or last-away) date right after them, within a few words.
_RETURN_WORDS = (
    "back", "return", "returning", "returns", "until", "till", "through", "thru", "resume", "available",
    "palaan", "palaa", "takaisin", "paluu", "tavoitettavissa", "toimistolla",
    "tillbaka", "åter", "tills", "till och med", "t.o.m.", "från och med", "fr.o.m.", "nås",
    "zurück", "wieder", "bis", "ab dem", "ab",
    "retour", "jusqu'au", "jusqu’au", "jusqu'à", "jusqu’à", "à partir du", "reviens", "rentre",
    "hasta", "regreso", "vuelta", "volveré", "regresaré", "a partir del", "estaré de vuelta",
)
_RETURN_WORD = re.compile(
    r"(?<!\w)(?:" + "|".join(re.escape(w) for w in sorted(_RETURN_WORDS, key=len, reverse=True)) + r")(?!\w)",
    re.IGNORECASE,
)
_RETURN_WINDOW = 40  # characters between the word and the date
_SENTENCE_END = re.compile(r"[.!?]\s+(?=[A-ZÅÄÖÜÉ])|\n")
# Finnish puts "until" and "from" after the date: 7.12. asti, 7.12. lähtien.
_POSTPOSITION = re.compile(r"^[\s.,]*(?:asti|saakka|lähtien|alkaen)(?!\w)", re.IGNORECASE)
# The date is the last day away: the return is the next day.
_INCLUSIVE_BEFORE = re.compile(
    r"(?<!\w)(?:through|thru|up to and including|to and including|till och med|t\.o\.m\.|"
    r"einschließlich|einschliesslich|inklusive|inkl\.)(?!\w)[^.\n]{0,25}$",
    re.IGNORECASE,
)
_INCLUSIVE_AFTER = re.compile(r"^[\s,)]*(?:inclusive|inclus|incluse|incluido|incluida|inklusive|inkl\.)(?!\w)",
                              re.IGNORECASE)

# Where quoted mail starts (the original message below an auto-reply).
_QUOTE_START = re.compile(
    r"^(?:>|-{2,}\s*(?:original message|ursprüngliche nachricht|alkuperäinen viesti|ursprungligt meddelande|"
    r"message d'origine|mensaje original)|(?:from|lähettäjä|från|von|de)\s*:.*@|on .{4,80} wrote:|"
    r".{4,80} kirjoitti:|den .{4,80} skrev:|am .{4,80} schrieb:|le .{4,80} a écrit\s?:|el .{4,80} escribió:)",
    re.IGNORECASE | re.MULTILINE,
)
MAX_TEXT = 6000


@dataclass(frozen=True)
class _Found:
    on: date
    start: int
    end: int


def own_text(text: str) -> str:
    """The reply's own words: everything before quoted mail, at most MAX_TEXT characters."""
    match = _QUOTE_START.search(text)
    return (text[: match.start()] if match else text)[:MAX_TEXT]


def find_return_date(text: str, *, received: date, month_first: bool = False) -> date | None:
    """The day the sender says they are back, or None when the text names none (see the module's steps)."""
    found = [item for item in _dates(text, received=received, month_first=month_first) if _plausible(item.on, received)]
    if found:
        near_words = [item for item in found if _near_return_word(text, item.start, item.end)]
        chosen = max(near_words or found, key=lambda item: item.on)
        inclusive = _INCLUSIVE_BEFORE.search(text[max(0, chosen.start - 60) : chosen.start]) or _INCLUSIVE_AFTER.match(
            text[chosen.end : chosen.end + 20]
        )
        return chosen.on + timedelta(days=1) if inclusive else chosen.on
    weekdays = []
    for match in _WEEKDAY.finditer(text):
        if _near_return_word(text, match.start(), match.end()):
            weekday = _WEEKDAY_NAMES[match.group("weekday").lower()]
            weekdays.append(received + timedelta(days=(weekday - received.weekday() - 1) % 7 + 1))
    return max(weekdays) if weekdays else None


def _near_return_word(text: str, start: int, end: int) -> bool:
    """A return word shortly before the date, in the same sentence (or a Finnish postposition after it)."""
    before = text[max(0, start - _RETURN_WINDOW) : start]
    sentence = _SENTENCE_END.split(before)[-1]
    return bool(_RETURN_WORD.search(sentence) or _POSTPOSITION.match(text[end : end + 20]))


def _plausible(on: date, received: date) -> bool:
    return received <= on <= received + timedelta(days=366)


def _dates(text: str, *, received: date, month_first: bool) -> list[_Found]:
    found: list[_Found] = []
    taken: list[tuple[int, int]] = []

    def add(on: date | None, match: re.Match[str]) -> None:
        if on is None or any(start < match.end() and match.start() < end for start, end in taken):
            return
        taken.append((match.start(), match.end()))
        found.append(_Found(on, match.start(), match.end()))

    # Most specific shapes first; a later shape never re-reads characters an earlier one took.
    for match in _ISO.finditer(text):
        add(_make(int(match["year"]), int(match["a"]), int(match["b"])), match)
    for pattern in (_DAY_MONTH, _MONTH_DAY):
        for match in pattern.finditer(text):
            month = _MONTHS[match["month"].lower()]
            add(_with_year(match["year"], month, int(match["day"]), received), match)
    for match in _NUMERIC.finditer(text):
        if _TIME_BEFORE.search(text[max(0, match.start() - 8) : match.start()]):
            continue
        a, b = int(match["a"]), int(match["b"])
        if match["year"] is None and match["sep"] == "/" and not _near_return_word(text, match.start(), match.end()):
            continue  # "1/2" alone is more likely a fraction than a date
        if a > 12:
            day, month = a, b
        elif b > 12 or (month_first and match["sep"] == "/"):  # nobody writes month-first with dots
            day, month = b, a
        else:
            day, month = a, b
        add(_with_year(match["year"], month, day, received), match)
    return found


def _with_year(year_text: str | None, month: int, day: int, received: date) -> date | None:
    if year_text:
        year = int(year_text)
        return _make(year + 2000 if year < 100 else year, month, day)
    on = _make(received.year, month, day)
    if on is not None and on < received - timedelta(days=7):
        on = _make(received.year + 1, month, day)
    return on


def _make(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
