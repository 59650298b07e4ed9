"""What a patient reads after a no-show and when due for a visit, in their language, and the answers to their
reply. An office may give its own text per language (`{clinic}` and `{phone}` filled in); it must name how to
opt out and fit one GSM-7 segment with long names, as the FCC healthcare exemption asks of every text.

Spanish avoids accented vowels, which are not GSM-7 and would triple the cost.
"""

from __future__ import annotations

import string
from enum import StrEnum

from ..messaging.compose import Language, normalize_language
from ..messaging.segments import count_segments, to_gsm7


class Kind(StrEnum):
    NOSHOW = "noshow"
    RECALL = "recall"


class Answer(StrEnum):
    CALL = "call"  # "1": we will call you
    WAITLIST = "waitlist"  # "3": you are on the waiting list
    CALL_NO_WAITLIST = "call_no_waitlist"  # "3" where the office keeps no waitlist: we will call you


PLACEHOLDERS = ("clinic", "phone")
DEFAULTS: dict[Kind, dict[Language, tuple[str, ...]]] = {
    Kind.NOSHOW: {
        "en": (
            "{clinic}: we missed you today. Reply 1 to have us call you to rebook, or 3 to get the next opening. "
            "STOP=opt out",
            "{clinic}: we missed you today. Reply 1 and we call you to rebook. STOP=opt out",
        ),
        "es": (
            "{clinic}: hoy le echamos de menos. Responda 1 y le llamamos para otra cita, o 3 para la proxima hora "
            "libre. STOP=baja",
            "{clinic}: hoy le echamos de menos. Responda 1 y le llamamos para otra cita. STOP=baja",
        ),
    },
    Kind.RECALL: {
        "en": (
            "{clinic}: you are due for your next visit. Reply 1 to have us call you to book, or 3 to get the next "
            "opening. STOP=opt out",
            "{clinic}: you are due for a visit. Reply 1 and we call you to book. STOP=opt out",
        ),
        "es": (
            "{clinic}: ya le toca su proxima visita. Responda 1 y le llamamos para la cita, o 3 para la proxima "
            "hora libre. STOP=baja",
            "{clinic}: ya le toca una visita. Responda 1 y le llamamos. STOP=baja",
        ),
    },
}
_ANSWERS: dict[Language, dict[Answer, str]] = {
    "en": {
        Answer.CALL: "Thank you, {clinic} will call you to find a new time. {phone}",
        Answer.WAITLIST: "Thank you, you are on our waiting list: we will text you when a time opens. {clinic}",
        Answer.CALL_NO_WAITLIST: "Thank you, {clinic} will call you to find a time. {phone}",
    },
    "es": {
        Answer.CALL: "Gracias, {clinic} le va a llamar para buscar otra hora. {phone}",
        Answer.WAITLIST: "Gracias, esta en nuestra lista de espera: le avisamos cuando haya una hora. {clinic}",
        Answer.CALL_NO_WAITLIST: "Gracias, {clinic} le va a llamar para buscar una hora. {phone}",
    },
}
# Long names, to measure an office's text before it is saved.
SAMPLE = {"clinic": "Riverside Family Medicine", "phone": "(303) 555-0100"}
MAX_LENGTH = 300


def _fill(source: str, clinic: str, phone: str) -> str:
    return source.format(clinic=to_gsm7(clinic.strip()), phone=phone.strip())


def text(kind: Kind, language: str | None, own: dict[str, str], *, clinic: str, phone: str) -> str:
    """The office's own text in the patient's language if it has one, else the longest default that fits."""
    lang = normalize_language(language)
    if source := own.get(lang):
        return _fill(source, clinic, phone)
    bodies = [_fill(source, clinic, phone) for source in DEFAULTS[kind][lang]]
    return next((b for b in bodies if count_segments(b).segments == 1), bodies[-1])


def answer_text(kind: Answer, language: str | None, *, clinic: str, phone: str) -> str:
    return _fill(_ANSWERS[normalize_language(language)][kind], clinic, phone)


def problems(source: str) -> list[str]:
    """Readable problems with an office's text, checked when it is saved (words for staff)."""
    if not source.strip():
        return ["The text is empty."]
    if len(source) > MAX_LENGTH:
        return [f"The text is longer than {MAX_LENGTH} characters."]
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(source) if name is not None}
    except ValueError:
        return ["Use {clinic} and {phone} for the clinic's name and number; write other braces as {{ and }}."]
    if unknown := sorted(names - set(PLACEHOLDERS)):
        return [f"Unknown placeholder(s): {', '.join(unknown)}. Available: {{clinic}}, {{phone}}."]
    body = _fill(source, **SAMPLE)
    found = []
    info = count_segments(body)
    if info.segments > 1:
        found.append(f"With long names the text is {len(body)} characters, {info.segments} segments: keep to one.")
    if "STOP" not in body:
        found.append("The text must say how to opt out (e.g. 'STOP=opt out'), a condition of the FCC exemption.")
    return found
