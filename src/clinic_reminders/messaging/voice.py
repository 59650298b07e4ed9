"""TwiML for reminder calls, built with Twilio's own SDK so the XML is what Twilio documents.

A call is kept under a minute of speech (an FCC healthcare-exemption condition, as is the key-press opt-out: 9).
The keypad mirrors the texts: 1 confirm, 2 cancel, 3 reschedule, 0 talk to the clinic. A voicemail names only
the clinic, the date and time and a number to call back: whoever plays the machine back may not be the patient.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from enum import StrEnum

import phonenumbers
from twilio.twiml.voice_response import Dial, Gather, Hangup, Say, VoiceResponse

from .compose import Language, ReminderContext, format_when, normalize_language

GATHER_TIMEOUT = 6  # seconds of silence before Twilio gives up on a key press
DIAL_TIMEOUT = 30
WORDS_PER_SECOND = 2.5  # Polly voices speak ~150 words a minute

# Say's language attribute and a voice that speaks it natively.
VOICES: dict[Language, tuple[str, str]] = {"en": ("en-US", "Polly.Joanna"), "es": ("es-MX", "Polly.Mia")}


class VoiceOutcome(StrEnum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    RESCHEDULE_REQUESTED = "reschedule_requested"
    CONNECT = "connect"
    OPTED_OUT = "opted_out"
    NO_INPUT = "no_input"
    NOT_UNDERSTOOD = "not_understood"


_KEYS = {
    "1": VoiceOutcome.CONFIRMED,
    "2": VoiceOutcome.CANCELLED,
    "3": VoiceOutcome.RESCHEDULE_REQUESTED,
    "0": VoiceOutcome.CONNECT,
    "9": VoiceOutcome.OPTED_OUT,
}


def outcome_for_digits(digits: str | None) -> VoiceOutcome:
    """The Gather action's `Digits`: empty means the patient pressed nothing (actionOnEmptyResult)."""
    digits = (digits or "").strip()
    if not digits:
        return VoiceOutcome.NO_INPUT
    return _KEYS.get(digits, VoiceOutcome.NOT_UNDERSTOOD)


_SAY: dict[Language, dict[str, str]] = {
    "en": {
        "intro": "Hello, this is {clinic} with a reminder for {name}: your {visit}{with_provider}, on {when}.",
        "visit": "appointment",
        "video": "video visit",
        "with": " with {provider}",
        "options": "Press 1 to confirm, 2 to cancel, 3 to reschedule, or 0 to talk to the clinic. "
        "Press 9 to stop reminder calls.",
        "again": "Again, your appointment is on {when}. Press 1 to confirm, 2 to cancel, 3 to reschedule, "
        "or 0 to talk to the clinic.",
        "voicemail": "Hello, this is {clinic} with an appointment reminder for {when}. "
        "Please call us at {phone}. Again, {phone}. Thank you.",
        "confirmed": "Thank you. Your appointment on {when} is confirmed. Goodbye.",
        "cancelled": "Your appointment on {when} is cancelled. To book again, call {phone}. Goodbye.",
        "reschedule_requested": "Thank you. The clinic will call you to find a new time. Goodbye.",
        "opted_out": "You will get no more reminder calls from {clinic}. Goodbye.",
        "no_input": "We did not get an answer. Please call {clinic} at {phone}. Goodbye.",
        "not_understood": "Sorry, that is not an option. The clinic will call you. Goodbye.",
        "connect": "Connecting you to the clinic. Please hold.",
        "no_answer": "Sorry, no one could take your call. Please call again later. Goodbye.",
        "welcome": "Thank you for calling.",
    },
    "es": {
        "intro": "Hola, le llama {clinic} con un recordatorio para {name}: su {visit}{with_provider}, el {when}.",
        "visit": "cita",
        "video": "cita por video",
        "with": " con {provider}",
        "options": "Marque 1 para confirmar, 2 para cancelar, 3 para cambiar la cita, o 0 para hablar con la "
        "clínica. Marque 9 para no recibir más llamadas.",
        "again": "Le repito, su cita es el {when}. Marque 1 para confirmar, 2 para cancelar, 3 para cambiar la "
        "cita, o 0 para hablar con la clínica.",
        "voicemail": "Hola, le llama {clinic} con un recordatorio de cita para el {when}. "
        "Por favor llámenos al {phone}. Le repito, {phone}. Gracias.",
        "confirmed": "Gracias. Su cita del {when} está confirmada. Hasta luego.",
        "cancelled": "Su cita del {when} está cancelada. Para pedir otra, llame al {phone}. Hasta luego.",
        "reschedule_requested": "Gracias. La clínica le llamará para buscar otra hora. Hasta luego.",
        "opted_out": "No recibirá más llamadas de recordatorio de {clinic}. Hasta luego.",
        "no_input": "No recibimos respuesta. Por favor llame a {clinic} al {phone}. Hasta luego.",
        "not_understood": "Perdone, esa opción no existe. La clínica le llamará. Hasta luego.",
        "connect": "Le comunicamos con la clínica. Por favor espere.",
        "no_answer": "Lo sentimos, nadie pudo atender su llamada. Por favor llame más tarde. Hasta luego.",
        "welcome": "Gracias por llamar.",
    },
}


def spoken_phone(phone: str) -> str:
    """ "(303) 555-0100" -> "3 0 3, 5 5 5, 0 1 0 0": read digit by digit, not as "five hundred fifty-five"."""
    try:
        parsed = phonenumbers.parse(phone, "US")
        if phonenumbers.is_valid_number(parsed) and parsed.country_code == 1:
            phone = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    except phonenumbers.NumberParseException:
        pass
    return ", ".join(" ".join(group) for group in re.findall(r"\d+", phone))


def dialable(phone: str) -> str:
    """E.164 for <Dial> when the number parses (a display "(303) 555-0100" does), else as given."""
    try:
        parsed = phonenumbers.parse(phone, "US")
    except phonenumbers.NumberParseException:
        return phone
    if not phonenumbers.is_valid_number(parsed):
        return phone
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def _say(text: str, lang: Language) -> Say:
    language, voice = VOICES[lang]
    return Say(text, language=language, voice=voice)


def _xml(response: VoiceResponse) -> str:
    return str(response.to_xml())


def _values(ctx: ReminderContext) -> dict[str, str]:
    lang = ctx.lang
    words = _SAY[lang]
    provider = ctx.provider_name.strip()
    return {
        "clinic": ctx.clinic_name.strip(),
        "name": ctx.patient_first_name.strip(),
        "visit": words["video" if ctx.kind == "telehealth" else "visit"],
        "with_provider": words["with"].format(provider=provider) if provider else "",
        "when": format_when(ctx, spoken=True)[2],
        "phone": spoken_phone(ctx.clinic_phone),
    }


def reminder_call_twiml(ctx: ReminderContext, action_url: str) -> str:
    """The reminder, then the keypad question; asked once more on silence, after which the action hears of it."""
    lang, values = ctx.lang, _values(ctx)
    words = _SAY[lang]
    response = VoiceResponse()
    first = Gather(num_digits=1, action=action_url, method="POST", timeout=GATHER_TIMEOUT, input="dtmf")
    first.append(_say(words["intro"].format(**values) + " " + words["options"], lang))
    response.append(first)  # no actionOnEmptyResult here: silence falls through to the repeat below
    again = Gather(
        num_digits=1,
        action=action_url,
        method="POST",
        timeout=GATHER_TIMEOUT,
        input="dtmf",
        action_on_empty_result=True,
    )
    again.append(_say(words["again"].format(**values), lang))
    response.append(again)
    response.append(Hangup())
    return _xml(response)


def voicemail_twiml(ctx: ReminderContext) -> str:
    """For a machine (AnsweredBy machine_end_*): clinic, date and time, call-back number; no name, no provider."""
    lang, values = ctx.lang, _values(ctx)
    response = VoiceResponse()
    response.append(_say(_SAY[lang]["voicemail"].format(**values), lang))
    response.append(Hangup())
    return _xml(response)


def dial_clinic_twiml(clinic_phone: str, language: str | None) -> str:
    """Connect the caller to the clinic's own phone; say so if nobody picks up."""
    lang = normalize_language(language)
    response = VoiceResponse()
    response.append(_say(_SAY[lang]["connect"], lang))
    response.append(Dial(dialable(clinic_phone), timeout=DIAL_TIMEOUT))
    response.append(_say(_SAY[lang]["no_answer"], lang))
    response.append(Hangup())
    return _xml(response)


def unknown_caller_twiml(clinic_phone: str, language: str | None = None) -> str:
    """A caller we cannot match to a patient reaches the clinic; with no language known, both are spoken."""
    langs: tuple[Language, ...] = (normalize_language(language),) if language else ("en", "es")
    response = VoiceResponse()
    for lang in langs:
        response.append(_say(f"{_SAY[lang]['welcome']} {_SAY[lang]['connect']}", lang))
    response.append(Dial(dialable(clinic_phone), timeout=DIAL_TIMEOUT))
    for lang in langs:
        response.append(_say(_SAY[lang]["no_answer"], lang))
    response.append(Hangup())
    return _xml(response)


def answer_twiml(outcome: VoiceOutcome, ctx: ReminderContext) -> str:
    """What the patient hears after a key press (or after silence): the result in their language, then goodbye."""
    if outcome == VoiceOutcome.CONNECT:
        return dial_clinic_twiml(ctx.clinic_phone_e164 or ctx.clinic_phone, ctx.language)
    lang, values = ctx.lang, _values(ctx)
    response = VoiceResponse()
    response.append(_say(_SAY[lang][outcome.value].format(**values), lang))
    response.append(Hangup())
    return _xml(response)


def estimated_seconds(twiml: str) -> float:
    """Speech time of a TwiML document plus the silences its Gathers wait for (the FCC's one-minute limit)."""
    root = ET.fromstring(twiml)  # noqa: S314 - our own SDK-built XML, not input from outside
    words = sum(len((say.text or "").split()) for say in root.iter("Say"))
    waits = sum(int(g.get("timeout", "5")) for g in root.iter("Gather"))
    return words / WORDS_PER_SECOND + waits
