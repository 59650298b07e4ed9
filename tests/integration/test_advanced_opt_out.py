"""Advanced Opt-Out: Twilio tells us with `OptOutType` that a text matched one of the account's keywords, custom
ones included, and has already acted on it; the patient's record must follow, in any language."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_reminders.conversations import inbound_sms
from clinic_reminders.models import ConsentEvent, Message, Patient, utcnow
from tests.factories import make_office, make_patient
from tests.fixtures.simulator import CLINIC_NUMBER


def _text(session: Session, patient: Patient, body: str, opt_out_type: str, sid: str) -> str:
    params = {"MessageSid": sid, "From": patient.phones[0].number, "To": CLINIC_NUMBER, "Body": body}
    twiml = inbound_sms.handle(session, patient.office_id, {**params, "OptOutType": opt_out_type}, utcnow())
    session.commit()
    session.expire_all()
    return twiml


def test_a_custom_keyword_twilio_acted_on_opts_the_patient_out_and_back_in(session: Session) -> None:
    office = make_office(session, twilio_phone_number=CLINIC_NUMBER)
    patient = make_patient(session, office, language="es")
    session.commit()
    _text(session, patient, "BAJA", "STOP", "SM1")
    assert patient.sms_opted_out_at is not None and patient.sms_opt_out_source == "sms:STOP"
    inbound = session.scalars(select(Message).where(Message.direction == "inbound")).one()
    assert (inbound.interpretation, inbound.needs_person) == ("opt_out", False)
    _text(session, patient, "ALTA", "START", "SM2")
    assert patient.sms_opted_out_at is None
    actions = session.scalars(select(ConsentEvent.action).where(ConsentEvent.patient_id == patient.id)).all()
    assert list(actions) == ["opt_out", "opt_in"]


def test_cancel_stays_cancel_when_twilio_reports_it_as_stop(session: Session) -> None:
    office = make_office(session, twilio_phone_number=CLINIC_NUMBER)
    patient = make_patient(session, office)
    session.commit()
    _text(session, patient, "CANCEL", "STOP", "SM3")
    assert patient.sms_opt_out_source == "sms:CANCEL"
