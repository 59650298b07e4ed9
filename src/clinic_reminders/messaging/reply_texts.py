"""The short texts we answer patients' replies with, in their language and within one GSM-7 segment.

Carrier keywords (STOP, START, YES...) already get Twilio's own answer, and after STOP Twilio refuses every
message to that number (error 21610): for those `reply_text` returns None instead of a second, failing text.
HELP is the exception: Twilio's default answer does not name the clinic, so ours does.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from .compose import Language, normalize_language
from .reply_lexicon import Intent
from .segments import to_gsm7

CHOICE_LETTERS = "ABCDE"  # how the which-appointment text names its choices (find_party offers at most five)


class ReplyKind(StrEnum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    RESCHEDULE_REQUESTED = "reschedule_requested"
    NOT_UNDERSTOOD = "not_understood"
    WHICH_APPOINTMENT = "which_appointment"
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    HELP = "help"


# Spanish avoids á/í/ó/ú (not GSM-7). {when} is compose.format_when's text; {choices} a "; "-joined list of them,
# each after its letter; {letters} the letters to answer with ("A or B") and {action} what the letter will do.
_TEXTS: dict[Language, dict[ReplyKind, str]] = {
    "en": {
        ReplyKind.CONFIRMED: "Thank you, your appointment {on_when}is confirmed. {clinic}",
        ReplyKind.CANCELLED: "Your appointment {on_when}is cancelled. To book again, call {clinic} at {phone}.",
        ReplyKind.RESCHEDULE_REQUESTED: "Thank you. {clinic} will call you to find a new time. {phone}",
        ReplyKind.NOT_UNDERSTOOD: "Sorry, we could not read your answer. {clinic} will call you soon. {phone}",
        ReplyKind.WHICH_APPOINTMENT: "You have several appointments: {choices}. Reply {letters} to {action}.",
        ReplyKind.OPTED_OUT: "You will get no more texts from {clinic}. Reply START to get them again.",
        ReplyKind.OPTED_IN: "You will get appointment texts from {clinic} again. Reply STOP to opt out.",
        ReplyKind.HELP: "{clinic} appointment reminders. Call {phone}. Reply 1 confirm, 2 cancel, 3 reschedule, "
        "STOP to opt out.",
    },
    "es": {
        ReplyKind.CONFIRMED: "Gracias, su cita {on_when}queda confirmada. {clinic}",
        ReplyKind.CANCELLED: "Su cita {on_when}queda cancelada. Para pedir otra, llame a {clinic} al {phone}.",
        ReplyKind.RESCHEDULE_REQUESTED: "Gracias. {clinic} le va a llamar para buscar otra hora. {phone}",
        ReplyKind.NOT_UNDERSTOOD: "Perdone, no entendimos su respuesta. {clinic} le va a llamar pronto. {phone}",
        ReplyKind.WHICH_APPOINTMENT: "Tiene varias citas: {choices}. Responda {letters} para {action}.",
        ReplyKind.OPTED_OUT: "Ya no le enviaremos mensajes de {clinic}. Responda START para recibirlos de nuevo.",
        ReplyKind.OPTED_IN: "De nuevo le enviaremos mensajes de {clinic}. Responda STOP para darse de baja.",
        ReplyKind.HELP: "{clinic}: recordatorios de citas. Llame al {phone}. Responda 1 confirmar, 2 cancelar, "
        "3 cambiar, STOP para darse de baja.",
    },
}
_ON = {"en": "on {when} ", "es": "del {when} "}
_OR = {"en": "or", "es": "o"}
_ACTIONS: dict[Language, dict[Intent, str]] = {
    "en": {Intent.CONFIRM: "confirm it", Intent.CANCEL: "cancel it", Intent.RESCHEDULE: "reschedule it"},
    "es": {Intent.CONFIRM: "confirmarla", Intent.CANCEL: "cancelarla", Intent.RESCHEDULE: "cambiarla de hora"},
}


def reply_text(
    kind: ReplyKind,
    language: str | None,
    *,
    clinic_name: str,
    clinic_phone: str,
    when: str = "",
    choices: Sequence[str] = (),
    action: Intent = Intent.CONFIRM,
    carrier_keyword: bool = False,
) -> str | None:
    """The answer to send, or None when there is nothing to add (see the module docstring).

    `when` names the appointment in confirmed/cancelled texts; `choices` lists the candidates (their `when`s) in
    the which-appointment text, lettered from A, and `action` (confirm, cancel or reschedule) is what answering
    with a letter does. `carrier_keyword` says the patient's message was a Twilio keyword.
    """
    if carrier_keyword and kind in (ReplyKind.OPTED_OUT, ReplyKind.OPTED_IN):
        return None
    lang = normalize_language(language)
    letters = CHOICE_LETTERS[: len(choices)]
    text = _TEXTS[lang][kind].format(
        on_when=_ON[lang].format(when=when.strip()) if when.strip() else "",
        clinic=clinic_name.strip(),
        phone=clinic_phone.strip(),
        choices="; ".join(f"{letter}) {c.strip()}" for letter, c in zip(letters, choices, strict=False)),
        letters=", ".join(letters[:-1]) + f" {_OR[lang]} {letters[-1]}" if len(letters) > 1 else letters,
        action=_ACTIONS[lang][action],
    )
    return to_gsm7(text)
