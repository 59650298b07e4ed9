"""Voice reminder TwiML, parsed back as XML: the keypad Gather, the language, and what a voicemail may say."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from clinic_reminders.messaging.compose import ReminderContext
from clinic_reminders.messaging.voice import (
    GATHER_TIMEOUT,
    VoiceOutcome,
    answer_twiml,
    dial_clinic_twiml,
    dialable,
    estimated_seconds,
    outcome_for_digits,
    reminder_call_twiml,
    spoken_phone,
    unknown_caller_twiml,
    voicemail_twiml,
)

ACTION = "https://clinic.example.com:8080/app_confirm?reminder=42&kind=call"


def ctx(language: str = "en", **changes: object) -> ReminderContext:
    base = ReminderContext(
        patient_first_name="Alejandro",
        clinic_name="Riverside Family Medicine",
        clinic_phone="(303) 555-0100",
        provider_name="Dr. Anna Keller",
        starts_at=datetime(2026, 11, 26, 17, 30, tzinfo=UTC),
        timezone="America/Denver",
        language=language,
        visit_reason="chemotherapy consult",
        clinic_phone_e164="+13035550100",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def parse(twiml: str) -> ET.Element:
    root = ET.fromstring(twiml)  # noqa: S314 - XML we generated
    assert root.tag == "Response"
    return root


def spoken(root: ET.Element) -> str:
    return " ".join(say.text or "" for say in root.iter("Say"))


@pytest.mark.parametrize(
    ("language", "say_language", "voice"), [("en", "en-US", "Polly.Joanna"), ("es", "es-MX", "Polly.Mia")]
)
def test_it_gathers_one_digit_posted_to_the_action(language: str, say_language: str, voice: str) -> None:
    root = parse(reminder_call_twiml(ctx(language), ACTION))
    gathers = root.findall("Gather")
    assert len(gathers) == 2  # asked, then asked once more on silence
    for gather in gathers:
        assert gather.get("action") == ACTION  # the & survives XML escaping
        assert gather.get("method") == "POST"
        assert gather.get("numDigits") == "1"
        assert gather.get("input") == "dtmf"
        assert gather.get("timeout") == str(GATHER_TIMEOUT)
        say = gather.find("Say")
        assert say is not None
        assert (say.get("language"), say.get("voice")) == (say_language, voice)
    # silence after the first question falls through to the repeat; after the repeat the action hears of it
    assert gathers[0].get("actionOnEmptyResult") is None
    assert gathers[1].get("actionOnEmptyResult") == "true"
    assert [child.tag for child in root] == ["Gather", "Gather", "Hangup"]


def test_it_says_the_reminder_and_the_keys_in_english() -> None:
    text = spoken(parse(reminder_call_twiml(ctx("en"), ACTION)))
    assert "Riverside Family Medicine" in text and "Alejandro" in text and "Dr. Anna Keller" in text
    assert "Thursday, November 26 at 10:30 AM" in text
    for key in ("Press 1 to confirm", "2 to cancel", "3 to reschedule", "0 to talk to the clinic", "Press 9"):
        assert key in text


def test_it_says_the_reminder_and_the_keys_in_spanish() -> None:
    text = spoken(parse(reminder_call_twiml(ctx("es-MX"), ACTION)))
    assert "jueves 26 de noviembre a las 10:30" in text
    for key in ("Marque 1 para confirmar", "2 para cancelar", "3 para cambiar", "0 para hablar con la clínica"):
        assert key in text
    assert "Press" not in text


def test_it_falls_back_to_english_for_other_languages() -> None:
    say = parse(reminder_call_twiml(ctx("pt-BR"), ACTION)).find("Gather/Say")
    assert say is not None and say.get("language") == "en-US"


@pytest.mark.parametrize("language", ["en", "es"])
def test_it_never_speaks_the_visit_reason(language: str) -> None:
    shown = ctx(language, include_visit_reason=True)  # even where texts may show it, calls do not
    documents = [reminder_call_twiml(shown, ACTION), voicemail_twiml(shown)]
    documents += [answer_twiml(outcome, shown) for outcome in VoiceOutcome]
    for document in documents:
        assert "chemotherapy" not in document


@pytest.mark.parametrize("language", ["en", "es"])
def test_it_keeps_the_call_under_a_minute(language: str) -> None:
    long_names = ctx(
        language, clinic_name="Riverside Family Medicine and Pediatrics", provider_name="Dr. Anna Keller-Montgomery"
    )
    call = estimated_seconds(reminder_call_twiml(long_names, ACTION))
    answer = max(estimated_seconds(answer_twiml(o, long_names)) for o in VoiceOutcome if o != VoiceOutcome.CONNECT)
    assert call + answer < 60


def test_it_estimates_speech_from_words_and_waits() -> None:
    twiml = "<Response><Gather timeout='4'><Say>one two three four five</Say></Gather></Response>"
    assert estimated_seconds(twiml) == pytest.approx(5 / 2.5 + 4)


@pytest.mark.parametrize("language", ["en", "es"])
def test_it_leaves_a_voicemail_without_names(language: str) -> None:
    root = parse(voicemail_twiml(ctx(language)))
    text = spoken(root)
    assert "Riverside Family Medicine" in text
    assert "3 0 3, 5 5 5, 0 1 0 0" in text
    assert ("26" in text) and ("10:30" in text)
    assert "Alejandro" not in text and "Keller" not in text
    assert root.find("Gather") is None
    assert [child.tag for child in root] == ["Say", "Hangup"]


@pytest.mark.parametrize(
    ("digits", "outcome"),
    [
        ("1", VoiceOutcome.CONFIRMED),
        ("2", VoiceOutcome.CANCELLED),
        ("3", VoiceOutcome.RESCHEDULE_REQUESTED),
        ("0", VoiceOutcome.CONNECT),
        ("9", VoiceOutcome.OPTED_OUT),
        ("", VoiceOutcome.NO_INPUT),
        (None, VoiceOutcome.NO_INPUT),
        ("7", VoiceOutcome.NOT_UNDERSTOOD),
        ("*", VoiceOutcome.NOT_UNDERSTOOD),
    ],
)
def test_it_maps_keys_to_outcomes(digits: str | None, outcome: VoiceOutcome) -> None:
    assert outcome_for_digits(digits) == outcome


@pytest.mark.parametrize(
    ("outcome", "language", "expected"),
    [
        (VoiceOutcome.CONFIRMED, "en", "Your appointment on Thursday, November 26 at 10:30 AM is confirmed."),
        (VoiceOutcome.CONFIRMED, "es", "Su cita del jueves 26 de noviembre a las 10:30 está confirmada."),
        (VoiceOutcome.CANCELLED, "en", "is cancelled. To book again, call 3 0 3, 5 5 5, 0 1 0 0."),
        (VoiceOutcome.CANCELLED, "es", "está cancelada"),
        (VoiceOutcome.RESCHEDULE_REQUESTED, "en", "The clinic will call you to find a new time."),
        (VoiceOutcome.OPTED_OUT, "es", "No recibirá más llamadas de recordatorio de Riverside Family Medicine."),
        (VoiceOutcome.NO_INPUT, "en", "We did not get an answer."),
        (VoiceOutcome.NOT_UNDERSTOOD, "es", "La clínica le llamará."),
    ],
)
def test_it_answers_a_key_press_and_hangs_up(outcome: VoiceOutcome, language: str, expected: str) -> None:
    root = parse(answer_twiml(outcome, ctx(language)))
    assert expected in spoken(root)
    assert [child.tag for child in root] == ["Say", "Hangup"]
    say = root.find("Say")
    assert say is not None and say.get("language") == ("es-MX" if language == "es" else "en-US")


def test_it_connects_to_the_clinic_on_zero() -> None:
    root = parse(answer_twiml(VoiceOutcome.CONNECT, ctx("es")))
    dial = root.find("Dial")
    assert dial is not None and dial.text == "+13035550100"
    assert "Le comunicamos con la clínica" in spoken(root)
    assert [child.tag for child in root] == ["Say", "Dial", "Say", "Hangup"]


def test_it_dials_the_clinic_even_from_a_display_number() -> None:
    dial = parse(answer_twiml(VoiceOutcome.CONNECT, ctx(clinic_phone_e164=""))).find("Dial")
    assert dial is not None and dial.text == "+13035550100"
    assert dial.get("timeout") == "30"


def test_it_connects_in_the_given_language() -> None:
    root = parse(dial_clinic_twiml("+13035550100", "en"))
    assert "Connecting you to the clinic" in spoken(root)
    assert all(say.get("language") == "en-US" for say in root.iter("Say"))


def test_it_greets_unknown_callers_in_both_languages_and_connects_them() -> None:
    root = parse(unknown_caller_twiml("+13035550100"))
    languages = [say.get("language") for say in root.iter("Say")]
    assert "en-US" in languages and "es-MX" in languages
    dial = root.find("Dial")
    assert dial is not None and dial.text == "+13035550100"
    spanish_only = parse(unknown_caller_twiml("+13035550100", "es"))
    assert {say.get("language") for say in spanish_only.iter("Say")} == {"es-MX"}


@pytest.mark.parametrize(
    ("phone", "spoken_form", "e164"),
    [
        ("(303) 555-0100", "3 0 3, 5 5 5, 0 1 0 0", "+13035550100"),
        ("+13035550100", "3 0 3, 5 5 5, 0 1 0 0", "+13035550100"),
        ("+34 612 345 678", "3 4, 6 1 2, 3 4 5, 6 7 8", "+34612345678"),
        ("ext", "", "ext"),
    ],
)
def test_it_reads_phone_numbers_digit_by_digit(phone: str, spoken_form: str, e164: str) -> None:
    assert spoken_phone(phone) == spoken_form
    assert dialable(phone) == e164


def test_it_says_video_visit_for_telehealth() -> None:
    assert "your video visit with Dr. Anna Keller" in spoken(parse(reminder_call_twiml(ctx(kind="telehealth"), ACTION)))
