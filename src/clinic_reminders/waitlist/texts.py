"""What a waitlist patient reads: the offer, and the answer to their YES, in their language, in one GSM-7 segment.

The offer names the clinic and how to opt out (the FCC healthcare exemption asks both of every text); longer
forms give way to shorter ones when the names are long, never the time or the clinic. Spanish avoids accented
vowels, which are not GSM-7 and would triple the cost.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from ..messaging.compose import Language, ReminderContext, format_when, normalize_language
from ..messaging.segments import count_segments, to_gsm7


class Answer(StrEnum):
    BOOKED = "booked"
    TOO_LATE = "too_late"


_OFFERS: dict[Language, tuple[str, ...]] = {
    "en": (
        "{clinic}: a time opened up. Reply YES to take {when}{with_provider}. STOP=opt out",
        "{clinic}: Reply YES to take {when}{with_provider}. STOP=opt out",
        "{clinic}: Reply YES to take {when}. STOP=opt out",
    ),
    "es": (
        "{clinic}: se libero una hora. Responda SI para tomar {when}{with_provider}. STOP=baja",
        "{clinic}: Responda SI para tomar {when}{with_provider}. STOP=baja",
        "{clinic}: Responda SI para tomar {when}. STOP=baja",
    ),
}
_ANSWERS: dict[Language, dict[Answer, tuple[str, ...]]] = {
    "en": {
        Answer.BOOKED: (
            "Thank you, you are booked: {when}{with_provider}, {clinic}. To change it call {phone}.",
            "You are booked: {when}, {clinic}. {phone}",
        ),
        Answer.TOO_LATE: ("Sorry, that time was just taken. You stay on our waiting list. {clinic}",),
    },
    "es": {
        Answer.BOOKED: (
            "Gracias, su cita queda reservada: {when}{with_provider}, {clinic}. Para cambiarla llame al {phone}.",
            "Cita reservada: {when}, {clinic}. {phone}",
        ),
        Answer.TOO_LATE: ("Perdone, esa hora ya se tomo. Sigue en nuestra lista de espera. {clinic}",),
    },
}
_WITH = {"en": " with {provider}", "es": " con {provider}"}


def when(starts_at: datetime, zone: str, language: str | None) -> str:
    """ "Tue Dec 8, 3:00 PM" / "mar 8 dic, 15:00", on the clinic's clock."""
    ctx = ReminderContext("", "", "", "", starts_at, zone, language or "en")
    day, clock, _ = format_when(ctx)
    return f"{day}, {clock}"


def _first_fitting(sources: tuple[str, ...], values: dict[str, str]) -> str:
    bodies = [source.format(**values) for source in sources]
    return next((b for b in bodies if count_segments(b).segments == 1), bodies[-1])


def _values(lang: Language, starts_at: datetime, zone: str, clinic: str, provider: str, phone: str) -> dict[str, str]:
    provider = to_gsm7(provider.strip())
    return {
        "clinic": to_gsm7(clinic.strip()),
        "when": to_gsm7(when(starts_at, zone, lang)),
        "with_provider": _WITH[lang].format(provider=provider) if provider else "",
        "phone": phone.strip(),
    }


def offer_text(language: str | None, *, starts_at: datetime, zone: str, clinic: str, provider: str) -> str:
    """ "Riverside: a time opened up. Reply YES to take Tue Dec 8, 3:00 PM with Dr. Chen. STOP=opt out"."""
    lang = normalize_language(language)
    return _first_fitting(_OFFERS[lang], _values(lang, starts_at, zone, clinic, provider, ""))


def answer_text(
    kind: Answer, language: str | None, *, starts_at: datetime, zone: str, clinic: str, provider: str, phone: str
) -> str:
    lang = normalize_language(language)
    return _first_fitting(_ANSWERS[lang][kind], _values(lang, starts_at, zone, clinic, provider, phone))
