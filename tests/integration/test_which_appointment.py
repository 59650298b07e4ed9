"""A patient with several upcoming appointments: the answer goes to the one the last reminder was about, or the
patient is asked which one by letter (and a person is told until they pick)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_reminders import booking
from clinic_reminders.accounts import the_office
from clinic_reminders.conversations import inbound_sms
from clinic_reminders.models import (
    Appointment,
    AppointmentStatus,
    Message,
    Office,
    Reminder,
    ReminderStatus,
    utcnow,
)
from tests.factories import make_appointment, make_clinic, make_office, make_patient, make_rule
from tests.fixtures.simulator import CLINIC_NUMBER

_SIDS = count()


def _setup(session: Session, language: str = "en") -> tuple[Office, list[Appointment], str]:
    office = make_office(session, twilio_phone_number=CLINIC_NUMBER)
    make_rule(session, office, minutes_before=24 * 60)
    clinic = make_clinic(session, office)
    patient = make_patient(session, office, language=language)
    soon = datetime.now(UTC) + timedelta(days=3)
    appointments = [make_appointment(session, clinic, patient, starts_at=soon + timedelta(days=i)) for i in range(2)]
    session.commit()
    return office, appointments, patient.phones[0].number


def _answer(session: Session, number: str, body: str, now: datetime | None = None) -> str:
    params = {"MessageSid": f"SM{next(_SIDS):032d}", "From": number, "To": CLINIC_NUMBER, "Body": body}
    twiml = inbound_sms.handle(session, the_office(session).id, params, now or utcnow())
    session.commit()
    session.expire_all()
    return twiml


def _statuses(session: Session, *appointments: Appointment) -> list[str]:
    return [session.get_one(Appointment, a.id).status for a in appointments]


def _inbound(session: Session) -> list[Message]:
    return list(session.scalars(select(Message).where(Message.direction == "inbound").order_by(Message.id)))


def test_the_answer_goes_to_the_appointment_the_last_reminder_was_about(session: Session) -> None:
    _, (first, second), number = _setup(session)
    reminder = session.scalars(select(Reminder).where(Reminder.appointment_id == second.id)).one()
    reminder.status = ReminderStatus.SENT
    session.commit()
    assert "confirmed" in _answer(session, number, "1")
    assert (session.get(Appointment, first.id).status, session.get(Appointment, second.id).status) == (  # type: ignore[union-attr]
        "scheduled",
        "confirmed",
    )


def test_without_a_reminder_to_go_by_the_patient_is_asked_which(session: Session) -> None:
    _, (first, second), number = _setup(session)
    twiml = _answer(session, number, "2")
    assert "You have several appointments: A) " in twiml and "; B) " in twiml
    assert "Reply A or B to cancel it." in twiml
    assert _statuses(session, first, second) == ["scheduled", "scheduled"]
    assert [m.needs_person for m in _inbound(session)] == [True]
    question = session.scalars(select(Message).where(Message.direction == "outbound")).one()
    assert question.pending_choice == {"intent": "cancel", "appointment_ids": [first.id, second.id]}


def test_the_patient_picks_the_appointment_by_letter(session: Session) -> None:
    _, (first, second), number = _setup(session)
    _answer(session, number, "2")
    twiml = _answer(session, number, " b. ")
    assert "is cancelled" in twiml
    assert _statuses(session, first, second) == ["scheduled", "cancelled"]
    planned = session.scalars(select(Reminder.status).where(Reminder.appointment_id == second.id)).all()
    assert planned and set(planned) == {ReminderStatus.CANCELLED}
    assert [(m.needs_person, m.appointment_id) for m in _inbound(session)] == [(False, None), (False, second.id)]
    assert session.scalars(select(Message).where(Message.pending_choice.is_not(None))).all() == []

    twiml = _answer(session, number, "b")  # the question is answered: a letter means nothing any more
    assert "could not read your answer" in twiml
    assert _statuses(session, first, second) == ["scheduled", "cancelled"]
    assert _inbound(session)[-1].needs_person


def test_a_letter_a_day_after_the_question_is_not_a_choice(session: Session) -> None:
    _, (first, second), number = _setup(session)
    _answer(session, number, "1")
    twiml = _answer(session, number, "A", now=utcnow() + timedelta(hours=25))
    assert "could not read your answer" in twiml
    assert _statuses(session, first, second) == ["scheduled", "scheduled"]
    assert [m.needs_person for m in _inbound(session)] == [True, True]


def test_a_letter_that_was_not_offered_is_not_understood(session: Session) -> None:
    _, (first, second), number = _setup(session)
    _answer(session, number, "1")
    twiml = _answer(session, number, "c)")
    assert "could not read your answer" in twiml
    assert _statuses(session, first, second) == ["scheduled", "scheduled"]
    assert [m.needs_person for m in _inbound(session)] == [True, True]
    assert "is confirmed" in _answer(session, number, "a")  # the question is still open
    assert _statuses(session, first, second) == ["confirmed", "scheduled"]


def test_a_letter_for_an_appointment_staff_cancelled_meanwhile_goes_to_a_person(session: Session) -> None:
    _, (first, second), number = _setup(session)
    _answer(session, number, "1")
    booking.set_status(session, session.get_one(Appointment, second.id), AppointmentStatus.CANCELLED, "staff")
    session.commit()
    assert "could not read your answer" in _answer(session, number, "B")
    assert _statuses(session, first, second) == ["scheduled", "cancelled"]
    assert [m.needs_person for m in _inbound(session)] == [True, True]


def test_a_spanish_speaking_patient_is_asked_in_spanish(session: Session) -> None:
    _, (first, second), number = _setup(session, language="es")
    twiml = _answer(session, number, "3")
    assert "Tiene varias citas: A) " in twiml and "Responda A o B para cambiarla de hora." in twiml
    assert "le va a llamar para buscar otra hora" in _answer(session, number, "B")
    assert _statuses(session, first, second) == ["scheduled", "reschedule-requested"]
