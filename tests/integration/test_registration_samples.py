"""The campaign registers what the office really sends: its own templates, in each language it uses."""

from __future__ import annotations

from sqlalchemy.orm import Session

from clinic_reminders.registration.samples import MAX_KEYWORD_ANSWER, campaign_texts, office_languages
from tests.factories import make_business_profile, make_clinic, make_office, make_patient, make_provider

LINK = "https://clinic.example.com:8080/p/abcdefgh"


def test_it_samples_the_default_texts_in_english_for_an_english_only_office(session: Session) -> None:
    office = make_office(session)
    make_clinic(session, office, name="Riverside Clinic", phone="+13035550100", timezone="America/Denver")
    texts = campaign_texts(session, office, make_business_profile(session, office), LINK)
    assert office_languages(session, office) == ["en"]
    assert len(texts.samples) == 2  # an in-person and a video visit
    assert all("Riverside Clinic" in s and "(303) 555-0100" in s and "STOP" in s for s in texts.samples)
    assert "video" in texts.samples[1]
    assert texts.help_message.startswith("Riverside Clinic appointment reminders. Call (303) 555-0100.")
    assert "no more texts from Riverside Clinic" in texts.opt_out_message
    assert texts.message_flow.startswith("Patients give their mobile number on the intake form")
    assert texts.has_embedded_phone


def test_it_samples_the_offices_own_template_and_every_language_its_patients_speak(session: Session) -> None:
    spanish = "{{ first_name }}: cita en {{ clinic }} {{ when }}. {{ options }}. STOP=baja"
    office = make_office(session, sms_templates={"es": spanish})
    make_clinic(session, office, name="Riverside Clinic", phone="+13035550100")
    make_provider(session, office)
    make_patient(session, office, language="es-MX")
    texts = campaign_texts(session, office, make_business_profile(session, office), LINK)
    assert office_languages(session, office) == ["en", "es"]
    assert len(texts.samples) == 4
    assert texts.samples[1].startswith("Lucia: cita en Riverside Clinic ")  # the office's template, not ours
    assert LINK in texts.samples[0] and texts.has_embedded_links  # as sent: the link when it fits
    assert " / " in texts.help_message and "Llame al (303) 555-0100" in texts.help_message
    assert all(20 <= len(t) <= MAX_KEYWORD_ANSWER for t in (texts.help_message, texts.opt_out_message))
    assert all(20 <= len(s) <= 1024 for s in texts.samples)
