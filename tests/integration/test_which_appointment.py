"""A patient with several upcoming appointments: the answer goes to the one the last reminder was about, or the
patient is asked which one (and a person is told)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_reminders.conversations import inbound_sms
from clinic_reminders.models import Appointment, Message, Office, Reminder, ReminderRule, ReminderStatus, utcnow
from tests.factories import make_appointment, make_clinic, make_office, make_patient

CLINIC_NUMBER = "+15005550006"


def _setup(session: Session) -> tuple[Office, list[Appointment], str]:
    office = make_office(session, twilio_phone_number=CLINIC_NUMBER)
    session.add(ReminderRule(office_id=office.id, name="SMS", channel="sms", minutes_before=24 * 60))
    session.flush()
    clinic = make_clinic(session, office)
    patient = make_patient(session, office)
    soon = datetime.now(UTC) + timedelta(days=3)
    appointments = [make_appointment(session, clinic, patient, starts_at=soon + timedelta(days=i)) for i in range(2)]
    session.commit()
    return office, appointments, patient.phones[0].number


def _answer(session: Session, number: str, body: str) -> str:
    twiml = inbound_sms.handle(
        session, {"MessageSid": f"SM{body}{number}", "From": number, "To": CLINIC_NUMBER, "Body": body}, utcnow()
    )
    session.commit()
    return twiml


def test_the_answer_goes_to_the_appointment_the_last_reminder_was_about(session: Session) -> None:
    _, (first, second), number = _setup(session)
    reminder = session.scalars(select(Reminder).where(Reminder.appointment_id == second.id)).one()
    reminder.status = ReminderStatus.SENT
    session.commit()
    assert "confirmed" in _answer(session, number, "1")
    session.expire_all()
    assert (session.get(Appointment, first.id).status, session.get(Appointment, second.id).status) == (  # type: ignore[union-attr]
        "scheduled",
        "confirmed",
    )


def test_without_a_reminder_to_go_by_the_patient_is_asked_which(session: Session) -> None:
    _, (first, second), number = _setup(session)
    twiml = _answer(session, number, "2")
    assert "several appointments" in twiml
    session.expire_all()
    assert {session.get(Appointment, a.id).status for a in (first, second)} == {"scheduled"}  # type: ignore[union-attr]
    inbound = session.scalars(select(Message).where(Message.direction == "inbound")).one()
    assert inbound.needs_person
