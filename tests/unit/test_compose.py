"""Reminder texts: default templates in one GSM-7 segment, office templates sandboxed and validated, reply texts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from clinic_reminders.messaging.compose import (
    DEFAULT_TEMPLATES,
    TEMPLATE_VARIABLES,
    ReminderContext,
    TemplateRenderError,
    default_template,
    format_when,
    normalize_language,
    render_sms,
    sample_context,
    validate_template,
)
from clinic_reminders.messaging.reply_lexicon import Intent
from clinic_reminders.messaging.reply_texts import ReplyKind, reply_text
from clinic_reminders.messaging.segments import count_segments

DENVER = ZoneInfo("America/Denver")


def ctx(language: str = "en", **changes: object) -> ReminderContext:
    base = ReminderContext(
        patient_first_name="Alejandro",
        clinic_name="Riverside Family Medicine",
        clinic_phone="(303) 555-0100",
        provider_name="Dr. Anna Keller",
        starts_at=datetime(2026, 11, 26, 17, 30, tzinfo=UTC),  # 10:30 in Denver
        timezone="America/Denver",
        language=language,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Thu Nov 26 at 10:30 AM"),
        ("es", "jue 26 nov a las 10:30"),
        ("es-MX", "jue 26 nov a las 10:30"),
        ("fr", "Thu Nov 26 at 10:30 AM"),
    ],
)
def test_it_formats_the_local_time_for_the_language(language: str, expected: str) -> None:
    assert format_when(ctx(language))[2] == expected


def test_it_shows_the_clinic_zone_not_utc_across_dst() -> None:
    summer = ctx(starts_at=datetime(2026, 7, 1, 16, 0, tzinfo=UTC))
    winter = ctx(starts_at=datetime(2026, 12, 1, 17, 0, tzinfo=UTC))
    assert format_when(summer)[1] == format_when(winter)[1] == "10:00 AM"


def test_it_says_a_la_for_one_oclock_in_spanish() -> None:
    one = ctx("es", starts_at=datetime(2026, 11, 26, 1, 15, tzinfo=DENVER))
    assert format_when(one)[2] == "jue 26 nov a la 1:15"


def test_it_spells_the_spoken_form_in_full() -> None:
    assert format_when(ctx("en"), spoken=True)[2] == "Thursday, November 26 at 10:30 AM"
    assert format_when(ctx("es"), spoken=True)[2] == "jueves 26 de noviembre a las 10:30"


@pytest.mark.parametrize(("code", "lang"), [("en", "en"), ("es", "es"), ("ES_us", "es"), ("es-MX", "es"), ("vi", "en")])
def test_it_falls_back_to_english_for_languages_without_wording(code: str, lang: str) -> None:
    assert normalize_language(code) == lang
    assert normalize_language(None) == "en"


def test_it_refuses_a_naive_start_time() -> None:
    with pytest.raises(ValueError, match="aware"):
        ctx(starts_at=datetime(2026, 11, 26, 10, 30))


@pytest.mark.parametrize("language", ["en", "es"])
def test_it_fits_the_default_reminder_in_one_gsm_segment_with_typical_names(language: str) -> None:
    sms = render_sms(None, ctx(language))
    assert sms.segments.encoding == "GSM-7"
    assert sms.segments.segments == 1
    assert len(sms.body) <= 160
    for part in ("Alejandro", "Dr. Anna Keller", "Riverside Family Medicine", "(303) 555-0100", "STOP"):
        assert part in sms.body


def test_it_renders_the_expected_default_texts() -> None:
    assert render_sms(None, ctx("en")).body == (
        "Alejandro, appt: Dr. Anna Keller, Riverside Family Medicine, Thu Nov 26 at 10:30 AM. "
        "Reply 1 confirm, 2 cancel, 3 reschedule. (303) 555-0100. STOP=opt out"
    )
    assert render_sms(None, ctx("es")).body == (
        "Alejandro, cita: Dr. Anna Keller, Riverside Family Medicine, jue 26 nov a las 10:30. "
        "Responda 1 confirmar, 2 cancelar, 3 cambiar. (303) 555-0100. STOP=baja"
    )


@pytest.mark.parametrize("language", ["en", "es"])
def test_it_offers_digits_and_never_the_cancel_keyword(language: str) -> None:
    body = render_sms(None, ctx(language)).body
    assert "1 confirm" in body
    assert "CANCEL" not in body
    assert "Reply CANCEL" not in body and "cancel" not in body.split(". ")[-1]


def test_it_keeps_spanish_dates_gsm7_on_saturdays() -> None:
    saturday = ctx("es", starts_at=datetime(2026, 11, 28, 17, 30, tzinfo=UTC))
    sms = render_sms(None, saturday)
    assert "sab 28 nov" in sms.body  # Babel says "sáb": á is not GSM-7
    assert sms.segments.encoding == "GSM-7"


def test_it_spells_accented_names_in_gsm7_by_default_and_can_keep_them() -> None:
    maria = ctx("es", patient_first_name="María", clinic_name="Clínica San José")
    folded = render_sms(None, maria)
    assert folded.body.startswith("Maria, cita:") and "Clinica San José" in folded.body
    assert folded.segments.encoding == "GSM-7"
    kept = render_sms(None, maria, gsm_safe=False)
    assert "Clínica San José" in kept.body and kept.segments.encoding == "UCS-2"
    assert kept.segments.segments == 2  # the cheapest default once UCS-2: without the names


@pytest.mark.parametrize("language", ["en", "es"])
def test_it_drops_the_provider_before_going_over_one_segment(language: str) -> None:
    long_names = ctx(language, clinic_name="Riverside Family Medicine and Pediatrics of Colorado")
    sms = render_sms(None, long_names)
    assert sms.segments.segments == 1
    assert "Riverside Family Medicine and Pediatrics of Colorado" in sms.body
    assert "Anna Keller" not in sms.body
    assert "STOP" in sms.body and "1 confirm" in sms.body


def test_it_says_video_for_telehealth_and_copes_without_a_provider() -> None:
    sms = render_sms(None, ctx(kind="telehealth", provider_name=""))
    assert sms.body.startswith("Alejandro, video appt: Riverside Family Medicine, Thu")
    assert render_sms(None, ctx("es", kind="telehealth")).body.startswith("Alejandro, cita por video:")


def test_it_never_shows_the_visit_reason_unless_the_office_allows_it() -> None:
    template = "{{ first_name }}: {{ when }}{% if reason %} ({{ reason }}){% endif %}. {{ options }}. STOP=opt out"
    private = ctx(visit_reason="diabetes follow-up")
    assert "diabetes" not in render_sms(template, private).body
    assert "diabetes" not in render_sms(None, replace(private, include_visit_reason=True)).body
    shown = render_sms(template, replace(private, include_visit_reason=True)).body
    assert "(diabetes follow-up)" in shown


def test_it_renders_an_office_template_with_every_variable() -> None:
    template = "\n".join(f"{{{{ {name} }}}}" for name in TEMPLATE_VARIABLES)
    body = render_sms(template, ctx(link="https://r.example.com/x", kind="telehealth")).body
    assert body.split("\n") == [
        "Alejandro",
        "Riverside Family Medicine",
        "(303) 555-0100",
        "Dr. Anna Keller",
        "Thu Nov 26",
        "10:30 AM",
        "Thu Nov 26 at 10:30 AM",
        "telehealth",
        "True",
        "",
        "https://r.example.com/x",
        "Reply 1 confirm, 2 cancel, 3 reschedule",
    ]


def test_it_does_not_html_escape_sms() -> None:
    body = render_sms("{{ clinic }} {{ options }}", ctx(clinic_name="Smith & Jones <Clinic>")).body
    assert body.startswith("Smith & Jones <Clinic>")


def test_it_sandboxes_office_templates() -> None:
    with pytest.raises(TemplateRenderError) as info:
        render_sms("{{ first_name.__class__.__mro__[1].__subclasses__() }}", ctx())
    assert "Alejandro" not in str(info.value)


def test_it_fails_at_send_time_on_an_unknown_variable_without_patient_data() -> None:
    with pytest.raises(TemplateRenderError) as info:
        render_sms("Hi {{ first_name }} {{ diagnosis }}", ctx())
    assert "Alejandro" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize("language", ["en", "es"])
def test_it_finds_no_problem_in_its_own_default_templates(language: str) -> None:
    for template in DEFAULT_TEMPLATES[normalize_language(language)]:
        assert validate_template(template, language) == []
    assert default_template(language) == DEFAULT_TEMPLATES[normalize_language(language)][0]


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("", "empty"),
        ("x" * 1001, "longer than 1000"),
        ("Hi {{ first_name }", "syntax error on line 1"),
        ("{% if x %}Hi", "syntax error"),
        ("{{ first_name | nosuchfilter }} {{ options }} STOP", "nosuchfilter"),
        ("Hi {{ frist_name }}, {{ options }}. STOP", "Unknown variable(s): frist_name"),
        ("Hi {{ diagnosis }}, {{ options }}. STOP", "Available: first_name"),
        ("Hi {{ first_name }}, see you {{ when }}. STOP to opt out", "how to answer"),
        ("Hi {{ first_name }}, reply 1 to confirm or 3 to move. STOP", "how to answer"),
        ("Reply 1 to confirm, 3 to reschedule, CANCEL to cancel. STOP", "reply CANCEL"),
        ("Reply 1 yes, 2 no, 3 move, or reply cancel. STOP", "reply CANCEL"),
        ("Reply 1 yes, 2 no, 3 move, or text 'cancel'. STOP", "reply CANCEL"),
        ("{{ first_name }}, {{ when }}, {{ clinic }}. {{ options }}.", "how to opt out"),
        (
            "Hello {{ first_name }}, this is a friendly reminder of your upcoming appointment with {{ provider }} at "
            "{{ clinic }} on {{ when }}. {{ options }}. Questions? {{ clinic_phone }}. STOP to opt out",
            "at most 160 characters",
        ),
        ("Hola {{ first_name }}, su cita del día {{ when }}. {{ options }}. STOP", "UCS-2 because of í"),
        ("{{ 1 / 0 }} {{ options }} STOP", "could not be rendered: ZeroDivisionError"),
        ("{{ first_name.nope() }} {{ options }} STOP", "has no attribute 'nope'"),
        ("{{ clinic.__class__ }} {{ options }} STOP", "unsafe"),
    ],
)
def test_it_explains_what_is_wrong_with_a_template(template: str, problem: str) -> None:
    problems = validate_template(template)
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(
    "template",
    [
        "{{ first_name }}: {{ clinic }} {{ when }}. Reply 1 to confirm, 2 to cancel, 3 to reschedule. STOP=opt out",
        "{{ clinic }}: {{ when }}. {{ options }}. STOP=opt out",
        "{{ first_name }}, {{ date }} {{ time }}{% if is_telehealth %} {{ link }}{% endif %}. {{ options }}. STOP",
    ],
)
def test_it_accepts_reasonable_office_templates(template: str) -> None:
    assert validate_template(template) == []


def test_it_measures_templates_with_the_sample_names() -> None:
    sample = sample_context("es")
    assert sample.patient_first_name == "Alejandro" and sample.clinic_phone == "(303) 555-0100"
    assert count_segments(render_sms(None, sample).body).segments == 1


# Reply texts -------------------------------------------------------------------------------------------------------


def text_for(kind: ReplyKind, language: str | None, **options: Any) -> str | None:
    return reply_text(kind, language, clinic_name="Riverside Family Medicine", clinic_phone="(303) 555-0100", **options)


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("kind", list(ReplyKind))
def test_it_has_every_reply_text_in_one_gsm_segment(language: str, kind: ReplyKind) -> None:
    when = format_when(ctx(language))[2]
    text = text_for(kind, language, when=when, choices=[when, when])
    assert text is not None
    info = count_segments(text)
    assert (info.encoding, info.segments) == ("GSM-7", 1), text


@pytest.mark.parametrize(
    ("kind", "language", "expected"),
    [
        (ReplyKind.CONFIRMED, "en", "Thank you, your appointment on Thu Nov 26 at 10:30 AM is confirmed."),
        (ReplyKind.CONFIRMED, "es", "Gracias, su cita del jue 26 nov a las 10:30 queda confirmada."),
        (ReplyKind.CANCELLED, "en", "is cancelled. To book again, call Riverside Family Medicine at (303) 555-0100."),
        (ReplyKind.CANCELLED, "es", "queda cancelada."),
        (ReplyKind.RESCHEDULE_REQUESTED, "en", "will call you to find a new time"),
        (ReplyKind.RESCHEDULE_REQUESTED, "es", "le va a llamar"),
        (ReplyKind.NOT_UNDERSTOOD, "en", "Riverside Family Medicine will call you"),
        (ReplyKind.NOT_UNDERSTOOD, "es", "no entendimos su respuesta"),
        (ReplyKind.HELP, "en", "Riverside Family Medicine appointment reminders. Call (303) 555-0100."),
        (ReplyKind.HELP, "es", "Llame al (303) 555-0100"),
        (ReplyKind.OPTED_OUT, "en", "no more texts from Riverside Family Medicine"),
        (ReplyKind.OPTED_IN, "es", "De nuevo le enviaremos mensajes"),
    ],
)
def test_it_answers_in_the_patients_language(kind: ReplyKind, language: str, expected: str) -> None:
    text = text_for(kind, language, when=format_when(ctx(language))[2])
    assert text is not None and expected in text


@pytest.mark.parametrize(
    ("language", "action", "expected"),
    [
        (
            "en",
            Intent.CONFIRM,
            "appointments: A) Thu Nov 26 at 10:30 AM; B) Fri Dec 4 at 9:00 AM. Reply A or B to confirm it.",
        ),
        ("en", Intent.CANCEL, "Reply A or B to cancel it."),
        ("en", Intent.RESCHEDULE, "Reply A or B to reschedule it."),
        (
            "es",
            Intent.CONFIRM,
            "Tiene varias citas: A) Thu Nov 26 at 10:30 AM; B) Fri Dec 4 at 9:00 AM. Responda A o B",
        ),
        ("es", Intent.CANCEL, "Responda A o B para cancelarla."),
    ],
)
def test_it_lists_the_appointments_by_letter_when_it_must_ask_which(
    language: str, action: Intent, expected: str
) -> None:
    choices = ["Thu Nov 26 at 10:30 AM", "Fri Dec 4 at 9:00 AM"]
    text = text_for(ReplyKind.WHICH_APPOINTMENT, language, choices=choices, action=action)
    assert text is not None and expected in text
    assert count_segments(text).segments == 1


def test_it_offers_as_many_letters_as_appointments() -> None:
    text = text_for(ReplyKind.WHICH_APPOINTMENT, "en", choices=["Mon 9:00 AM", "Tue 9:00 AM", "Wed 9:00 AM"])
    assert text is not None and "C) Wed 9:00 AM. Reply A, B or C to confirm it." in text


def test_it_leaves_carrier_keyword_opt_outs_and_opt_ins_to_twilio() -> None:
    for kind in (ReplyKind.OPTED_OUT, ReplyKind.OPTED_IN):
        assert text_for(kind, "en", carrier_keyword=True) is None
        assert text_for(kind, "en", carrier_keyword=False) is not None
    assert text_for(ReplyKind.HELP, "es", carrier_keyword=True) is not None


def test_it_answers_other_languages_in_english_and_confirms_without_a_date() -> None:
    assert text_for(ReplyKind.CONFIRMED, "de") == (
        "Thank you, your appointment is confirmed. Riverside Family Medicine"
    )


def test_a_short_patient_link_goes_into_the_reminder_and_a_long_one_stays_out() -> None:
    short = replace(sample_context("en"), clinic_name="Lakeside Clinic", link="https://lk.example/p/Ab3dE5gH")
    rendered = render_sms(None, short)
    assert "https://lk.example/p/Ab3dE5gH" in rendered.body
    assert rendered.segments.segments == 1 and "(303) 555-0100" in rendered.body  # the clinic's number stays
    long = replace(sample_context("en"), link="https://riverside-family-medicine.example.com:8080/p/Ab3")
    rendered = render_sms(None, long)
    assert "example.com" not in rendered.body and rendered.segments.segments == 1
