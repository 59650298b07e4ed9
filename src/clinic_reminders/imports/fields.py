"""Checking and normalising one value, the same way for every format.

Each check raises `RecordError` naming the field and what is expected, never the value itself (names, numbers
and birth dates are patient data, and error text may end up in a terminal log or a ticket).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import date, datetime
from functools import cache

from babel import Locale

from ..models import AppointmentKind
from ..models.patients import SUPPORTED_LANGUAGES
from ..phones import InvalidPhoneNumber, to_e164
from .records import ImportStatus, PhoneRecord, PhoneUse, RecordError

MAX_LENGTH = 100  # external ids and names: the columns' size
MAX_DURATION = 24 * 60  # minutes, as the API allows
# C0 and C1 controls (NUL, tab, line breaks, escape...), Unicode line and paragraph separators, and surrogates
# (a lone one can come from a JSON escape): none belongs in a name, an id or a number, and a database either
# stores them (SQLite) or refuses the whole row (PostgreSQL and NUL).
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")

# ISO 639-2 codes (HL7 feeds often send "SPA" or "ENG"); two-letter codes, BCP 47 tags and English names are
# understood without a table.
_THREE_LETTER = {
    "eng": "en",
    "spa": "es",
    "fra": "fr",
    "fre": "fr",
    "por": "pt",
    "zho": "zh",
    "chi": "zh",
    "vie": "vi",
    "kor": "ko",
    "rus": "ru",
    "ara": "ar",
    "hat": "ht",
    "tgl": "tl",
}
_TELEHEALTH = frozenset({"telehealth", "telemedicine", "video", "virtual"})
_IN_PERSON = frozenset({"in-person", "in person", "office"})
_IN_PERSON_WORDS = frozenset({"office", "clinic", "person"})  # "In-person visit", "Office visit"
_STATUSES = {
    "scheduled": ImportStatus.SCHEDULED,
    "booked": ImportStatus.SCHEDULED,
    "cancelled": ImportStatus.CANCELLED,
    "canceled": ImportStatus.CANCELLED,
    "no-show": ImportStatus.NO_SHOW,
    "noshow": ImportStatus.NO_SHOW,
}
_USE_ORDER = {PhoneUse.MOBILE: 0, PhoneUse.HOME: 1, PhoneUse.WORK: 2}


def no_controls(value: str, field: str) -> str:
    if CONTROL.search(value):
        raise RecordError(field, "holds a control character (such as NUL, a tab or a line break)")
    return value


def required(value: str | None, field: str) -> str:
    """A name, id or other free text: surrounding spaces are trimmed; a control character inside is refused."""
    text = (value or "").strip()
    if not text:
        raise RecordError(field, "missing")
    if len(text) > MAX_LENGTH:
        raise RecordError(field, f"longer than {MAX_LENGTH} characters")
    return no_controls(text, field)


def optional(value: str | None, field: str) -> str | None:
    return required(value, field) if value and value.strip() else None


def person_name(value: str | None, field: str) -> str:
    """A required name, in a readable case when it came all in capitals or all in lowercase (as many
    practice-management systems store names): "LÓPEZ" -> "López", "MCDONALD" -> "McDonald", "O'BRIEN" ->
    "O'Brien", "VAN DER BERG" -> "van der Berg". A name that mixes cases is its owner's spelling and is kept."""
    return readable_case(required(value, field))


_PARTICLES = frozenset(
    {"da", "das", "de", "del", "della", "den", "der", "di", "do", "dos", "du", "la", "le", "ten", "ter", "van", "von"}
)
_WORD_BREAKS = re.compile(r"([-'’])")


def readable_case(name: str) -> str:
    if not (name.isupper() or name.islower()):
        return name
    words = name.lower().split(" ")
    last = len(words) - 1
    return " ".join(w if w in _PARTICLES and n < last else _capitalized(w) for n, w in enumerate(words))


def _capitalized(word: str) -> str:
    """Each part between hyphens and apostrophes capitalised (Smith-Jones, O'Brien), and Mc names (McDonald)."""
    parts = _WORD_BREAKS.split(word)
    return "".join(f"Mc{p[2:].capitalize()}" if p.startswith("mc") and len(p) > 2 else p.capitalize() for p in parts)


def birth_date(value: date, field: str) -> date:
    if value > date.today():
        raise RecordError(field, "a date of birth in the future")
    return value


def iso_date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise RecordError(field, "not a date; use YYYY-MM-DD") from None


def iso_datetime(value: str, field: str) -> datetime:
    """ISO 8601 with a time; without a UTC offset it is the clinic's local time."""
    text = value.strip()
    if len(text) <= _LONGEST_DATE and _is_date(text):  # a longer text has a time (and is spared a raise)
        raise RecordError(field, "a date without a time; use e.g. 2030-01-15T09:30 or 2030-01-15T09:30:00-05:00")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise RecordError(field, "not an ISO 8601 date and time, e.g. 2030-01-15T09:30:00-05:00") from None


_LONGEST_DATE = len("2030-01-15")  # the longest text `date.fromisoformat` takes (also 2030-W03-2)


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


@cache
def _language_names() -> dict[str, str]:
    english = Locale("en").languages
    return {str(english[code]).casefold(): code for code in SUPPORTED_LANGUAGES}


def language(value: str, field: str) -> str:
    """es, es-MX, SPA or Spanish -> "es"; a language the reminders are not written in is refused."""
    key = value.strip().casefold().replace("_", "-")
    primary = key.split("-")[0]
    code = _THREE_LETTER.get(primary) or _language_names().get(key) or primary
    if code not in SUPPORTED_LANGUAGES:
        raise RecordError(field, f"not a supported language; use one of {', '.join(SUPPORTED_LANGUAGES)}")
    return code


class Phones:
    """Phone numbers of one input, a number without +country in `region`. Each distinct text is parsed once:
    parsing is most of the time a schedule line takes, and a patient's number comes again on each of their lines.
    """

    def __init__(self, region: str) -> None:
        self.region = region
        self._parsed: dict[str, str | InvalidPhoneNumber] = {}

    def read(self, value: str, use: PhoneUse, field: str) -> PhoneRecord:
        text = no_controls(value.strip(), field)
        parsed = self._parsed.get(text)
        if parsed is None:
            try:
                parsed = to_e164(text, self.region)
            except InvalidPhoneNumber as exc:
                parsed = exc
            self._parsed[text] = parsed
        if isinstance(parsed, InvalidPhoneNumber):
            raise RecordError(field, str(parsed))
        return PhoneRecord(parsed, use)


def phones(found: Iterable[PhoneRecord]) -> tuple[PhoneRecord, ...]:
    """Mobiles first (they take texts), then home, then work; a number given twice is kept once."""
    kept: dict[str, PhoneRecord] = {}
    for record in sorted(found, key=lambda p: _USE_ORDER[p.use]):
        kept.setdefault(record.number, record)
    return tuple(kept.values())


def minutes(value: float, field: str) -> int:
    if not math.isfinite(value) or value != int(value) or not 1 <= value <= MAX_DURATION:
        raise RecordError(field, f"not a whole number of minutes from 1 to {MAX_DURATION}")
    return int(value)


def number(value: str, field: str) -> float:
    try:
        return float(value.strip())
    except ValueError:
        raise RecordError(field, "not a number") from None


def kind(value: str, field: str) -> AppointmentKind | None:
    key = value.strip().casefold()
    if not key:
        return None
    if key in _IN_PERSON:
        return AppointmentKind.IN_PERSON
    if key in _TELEHEALTH:
        return AppointmentKind.TELEHEALTH
    raise RecordError(field, "use in-person or telehealth")


def kind_of(texts: Iterable[str]) -> AppointmentKind | None:
    """For HL7 and FHIR appointment types, whose codes vary by system: a telehealth or in-person word decides."""
    words = {word for text in texts for word in text.casefold().replace("-", " ").split()}
    if words & _TELEHEALTH:
        return AppointmentKind.TELEHEALTH
    if words & _IN_PERSON_WORDS:
        return AppointmentKind.IN_PERSON
    return None


def status(value: str, field: str) -> ImportStatus:
    key = value.strip().casefold()
    if not key:
        return ImportStatus.SCHEDULED
    if key not in _STATUSES:
        raise RecordError(field, "use scheduled, cancelled or no-show")
    return _STATUSES[key]
