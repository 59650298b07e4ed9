"""Patients' answers, as they really write them, and what must be understood, flagged or left to a person."""

from __future__ import annotations

import pytest

from clinic_reminders.messaging.replies import Intent, Interpretation, interpret

C, X, R = Intent.CONFIRM, Intent.CANCEL, Intent.RESCHEDULE
OUT, IN, HELP, UNK = Intent.OPT_OUT, Intent.OPT_IN, Intent.HELP, Intent.UNKNOWN

REPLIES: list[tuple[str, Intent]] = [
    # digits, the answer the reminder asks for
    ("1", C),
    ("2", X),
    ("3", R),
    ("1.", C),
    (" 2 ", X),
    ("#1", C),
    ("option 1", C),
    ("Opción 3", R),
    ("1 👍", C),
    ("2 cancel", X),
    ("3) reschedule please", R),
    # confirmations, English
    ("yes please", C),
    ("Yep", C),
    ("yeah I'll be there", C),
    ("I’ll be there, thanks!", C),
    ("See you then", C),
    ("see you tomorrow!", C),
    ("Confirm", C),
    ("Confirmed, thank you", C),
    ("I confirm", C),
    ("ok", C),
    ("OK thanks", C),
    ("Okay 👍🏽", C),
    ("Sure thing", C),
    ("Sounds good", C),
    ("Will be there", C),
    ("K", C),
    ("No problem, I'll be there", C),
    # confirmations, Spanish
    ("Sí", C),
    ("si", C),
    ("SI CONFIRMO", C),
    ("Sí, ahí estaré", C),
    ("ahi estare gracias", C),
    ("Confirmado ✅", C),
    ("Claro que sí", C),
    ("Nos vemos", C),
    ("De acuerdo, gracias", C),
    ("Perfecto", C),
    ("sí asistiré", C),
    ("¡Cómo no!", C),
    ("Vale", C),
    # emoji
    ("👍", C),
    ("✅", C),
    ("👌", C),
    ("🙂", C),
    ("❌", X),
    ("👎🏻", X),
    # typos
    ("confrim", C),
    ("Comfirm", C),
    ("confimado", C),
    ("cancle", X),
    ("cancell my appointment", X),
    ("reschedual", R),
    ("I need to reshedule", R),
    # cancellations
    ("cancel my appointment", X),
    ("Cancel please", X),
    ("Please cancel", X),
    ("Can't make it", X),
    ("cant make it sorry", X),
    ("I won't be there", X),
    ("Sorry, I can't come", X),
    ("No, I can't make it", X),
    ("No puedo", X),
    ("no puedo ir", X),
    ("No podré ir, lo siento", X),
    ("Cancelar", X),
    ("cancelar mi cita por favor", X),
    ("No voy a poder ir", X),
    ("Not coming", X),
    ("Estoy enfermo, no puedo ir", X),
    # reschedule
    ("Reschedule", R),
    ("I need to reschedule", R),
    ("another day please", R),
    ("Need a different time", R),
    ("Can't make it, need to reschedule", R),
    ("Cambiar", R),
    ("quiero cambiar mi cita", R),
    ("Otro día por favor", R),
    ("Reprogramar", R),
    ("No puedo, necesito otro día", R),
    ("Necesito reagendar", R),
    ("I need to cancel and reschedule", R),
    ("Cancel, I'll call to reschedule", R),
    # opt-outs and help in words (not carrier keywords)
    ("Stop texting me", OUT),
    ("please stop", OUT),
    ("No más mensajes", OUT),
    ("Remove me from this list", OUT),
    ("ayuda", HELP),
    ("Start again", IN),
    # ambiguous, contradictory or off-topic: a person reads them
    ("no", UNK),
    ("No.", UNK),
    ("Nope", UNK),
    ("maybe", UNK),
    ("Tal vez", UNK),
    ("who is this?", UNK),
    ("Who is this", UNK),
    ("Quién es?", UNK),
    ("¿Quién habla?", UNK),
    ("yes but can I come later?", UNK),
    ("Yes, but I'll be 15 minutes late", UNK),
    ("Sí pero voy a llegar tarde", UNK),
    ("Yes 2", UNK),
    ("1 and 2", UNK),
    ("👍👎", UNK),
    ("yes no", UNK),
    ("Confirm?", UNK),
    ("I don't want to cancel", UNK),
    ("Don't cancel", UNK),
    ("No cancelar", UNK),
    ("not confirmed", UNK),
    ("thanks", UNK),
    ("Gracias", UNK),
    ("Can I bring my son?", UNK),
    ("yes I will be there, is parking free", UNK),
    ("Ok, do I need to fast", UNK),
    ("See you on the 26th", UNK),
    ("Si no puedo te aviso", UNK),
    ("Ya no necesito la cita", UNK),
    ("can we do another day", UNK),
    ("I'll be there at 10", UNK),
    ("Is it at 3:30?", UNK),
    ("12", UNK),
    ("4", UNK),
    ("0", UNK),
    ("wrong number", UNK),
    ("Número equivocado", UNK),
    ("I have cancer", UNK),
    ("If it rains I won't come", UNK),
    ("Yes and also cancel my wife's appointment", UNK),
    ("This is his daughter, he is in the hospital and cannot come to the appointment this week, sorry", UNK),
    ("😢", UNK),
    ("", UNK),
    ("   ", UNK),
    ("...", UNK),
]


@pytest.mark.parametrize(("body", "intent"), REPLIES)
def test_it_understands_real_replies(body: str, intent: Intent) -> None:
    result = interpret(body)
    assert result.intent == intent, result
    assert result.needs_person is (intent == UNK)


def test_it_has_a_table_large_enough_to_mean_something() -> None:
    assert len(REPLIES) >= 80
    assert sum(intent == UNK for _, intent in REPLIES) >= 25


@pytest.mark.parametrize(
    ("body", "keyword", "intent"),
    [
        ("STOP", "STOP", OUT),
        ("stop", "STOP", OUT),
        ("Stop.", "STOP", OUT),
        ("  Stop!! ", "STOP", OUT),
        ("StopAll", "STOPALL", OUT),
        ("unsubscribe", "UNSUBSCRIBE", OUT),
        ("END", "END", OUT),
        ("quit", "QUIT", OUT),
        ("Revoke", "REVOKE", OUT),
        ("optout", "OPTOUT", OUT),
        ("START", "START", IN),
        ("unstop", "UNSTOP", IN),
        ("HELP", "HELP", HELP),
        ("info?", "INFO", HELP),
        ("Cancel", "CANCEL", OUT),
        ("CANCEL.", "CANCEL", OUT),
        ("YES", "YES", C),
        ("yes!", "YES", C),
        ("Yes.", "YES", C),
    ],
)
def test_it_flags_twilio_keywords_exactly_when_twilio_acts_on_them(body: str, keyword: str, intent: Intent) -> None:
    result = interpret(body)
    assert (result.intent, result.carrier_keyword, result.keyword) == (intent, True, keyword)


@pytest.mark.parametrize(
    "body",
    [
        "stop please",
        "cancel my appointment",
        "yes please",
        "help me",
        "Cancelar",
        "stop texting me",
        "opt out",
        "S T O P",
    ],
)
def test_it_does_not_call_a_sentence_a_carrier_keyword(body: str) -> None:
    result = interpret(body)
    assert result.carrier_keyword is False and result.keyword is None and result.carrier_action is None


def test_it_reports_yes_as_a_confirmation_and_a_carrier_opt_in() -> None:
    result = interpret("Yes")
    assert result.intent == C
    assert result.carrier_action == IN  # the webhook records the re-subscription as well
    assert result.needs_person is False


def test_it_reports_a_lone_cancel_as_an_opt_out_for_staff_to_follow_up() -> None:
    result = interpret("CANCEL")
    assert result.intent == OUT and result.carrier_action == OUT
    assert result.needs_person is True  # flag the appointment; never cancel it silently


def test_it_does_not_ask_staff_about_a_plain_stop() -> None:
    result = interpret("STOP")
    assert result.carrier_action == OUT and result.needs_person is False


def test_it_honours_an_opt_out_inside_another_request_and_asks_a_person_about_the_rest() -> None:
    result = interpret("I'll be there but please stop texting me")
    assert result.intent == OUT and result.carrier_keyword is False
    assert result.needs_person is True
    plain = interpret("Stop texting me")
    assert plain.intent == OUT and plain.needs_person is False


@pytest.mark.parametrize(
    ("body", "intent"),
    [
        ("Liked “Alejandro, appt: Dr. Anna Keller, Riverside Family Medicine. Reply 1 confirm, 2 cancel”", C),
        ("Le gustó “Alejandro, cita: Dr. Anna Keller”", C),
        ('Disliked "Alejandro, appt: Dr. Anna Keller"', X),
        ('Questioned "Alejandro, appt: Dr. Anna Keller"', UNK),
        ('Laughed at "Alejandro, appt"', UNK),
    ],
)
def test_it_reads_iphone_reactions_by_their_verb_not_the_quoted_reminder(body: str, intent: Intent) -> None:
    assert interpret(body).intent == intent


@pytest.mark.parametrize(
    ("body", "language"),
    [
        ("Sí, ahí estaré", "es"),
        ("No puedo ir", "es"),
        ("Cambiar la cita", "es"),
        ("Yes I'll be there", "en"),
        ("Can't make it", "en"),
        ("Reschedule please", "en"),
        ("1", None),
        ("👍", None),
        ("STOP", None),
        ("ok", None),
    ],
)
def test_it_detects_the_language_only_when_evident(body: str, language: str | None) -> None:
    assert interpret(body).detected_language == language


def test_it_uses_the_hint_only_to_break_a_tie() -> None:
    mixed = "Confirm gracias"  # one English word, one Spanish word
    assert interpret(mixed).detected_language is None
    assert interpret(mixed, language_hint="es-MX").detected_language == "es"
    assert interpret(mixed, language_hint="en").detected_language == "en"
    assert interpret("1", language_hint="es").detected_language is None
    assert interpret("No puedo", language_hint="en").detected_language == "es"


@pytest.mark.parametrize("body", ["AHÍ ESTARÉ", "ahi estare", "Ahí Estaré!!!", "ahí   estaré."])
def test_it_ignores_case_accents_spacing_and_punctuation(body: str) -> None:
    assert interpret(body).intent == C


@pytest.mark.parametrize("body", ["cancer", "conform", "I'm in the cancer ward", "candle"])
def test_it_does_not_mistake_real_words_for_typos(body: str) -> None:
    assert interpret(body).intent == UNK


def test_it_never_quotes_the_message_in_its_reason() -> None:
    body = "This is Maria Lopez, my diabetes appointment, can I come later?"
    result = interpret(body)
    assert result.intent == UNK
    assert "Maria" not in result.reason and "diabetes" not in result.reason and result.reason


def test_it_is_a_frozen_value() -> None:
    result = interpret("1")
    assert result == Interpretation(C, reason="clear answer")
    with pytest.raises(AttributeError):
        result.intent = X  # type: ignore[misc]


@pytest.mark.parametrize(
    ("body", "opt_out_type", "intent", "keyword"),
    [
        ("BAJA", "STOP", Intent.OPT_OUT, "STOP"),  # understood anyway, now also known as done by Twilio
        ("ZAPZAP", "STOP", Intent.OPT_OUT, "STOP"),  # a custom keyword of the account's Advanced Opt-Out
        ("ALTA", "START", Intent.OPT_IN, "START"),
        ("AYUDA", "HELP", Intent.HELP, "HELP"),
        ("CANCEL", "STOP", Intent.OPT_OUT, "CANCEL"),  # ours already agrees: CANCEL keeps its staff flag
        ("yes", "START", Intent.CONFIRM, "YES"),
        ("ZAPZAP", "", Intent.UNKNOWN, None),  # without OptOutType it is not a keyword
        ("ZAPZAP", "SOMETHING", Intent.UNKNOWN, None),
    ],
)
def test_twilio_advanced_opt_out_type_wins(body: str, opt_out_type: str, intent: Intent, keyword: str | None) -> None:
    reading = interpret(body, "es", opt_out_type)
    assert (reading.intent, reading.keyword) == (intent, keyword)
    assert reading.carrier_keyword == (keyword is not None)
