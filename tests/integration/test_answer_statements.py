"""What one patient's "1" costs the database: a count of statements with an upper bound, so that a change that
adds queries to the hot path of /app_confirm shows here (its speed is `reminders bench webhook`'s to measure)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from clinic_reminders.conversations import inbound_sms
from clinic_reminders.models import Appointment, AppointmentStatus, Event, Reminder, ReminderStatus, utcnow
from tests.factories import make_appointment, make_clinic, make_office, make_patient, make_rule
from tests.fixtures.simulator import CLINIC_NUMBER

# The duplicate check, the office, the patient, the appointment, the newest outreach text (one query over
# reminders, waitlist offers, follow-ups and recall texts); the inbound text and its
# event; the status change's audit entry, event and UPDATE; the reminders it retires (read, one UPDATE, their
# events); the reply. 14 today: a new statement on this path must be worth it.
MOST_STATEMENTS_FOR_A_CONFIRMATION = 14


@contextmanager
def statements(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = session.get_bind().engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _booked(session: Session) -> tuple[Appointment, str]:
    office = make_office(session, twilio_phone_number=CLINIC_NUMBER)
    make_rule(session, office, minutes_before=24 * 60)
    make_rule(session, office, name="SMS 2 hours before", minutes_before=120)
    patient = make_patient(session, office)
    starts_at = datetime.now(UTC) + timedelta(days=3)
    appointment = make_appointment(session, make_clinic(session, office), patient, starts_at=starts_at)
    session.commit()
    return appointment, patient.phones[0].number


def test_a_confirmation_takes_a_bounded_number_of_statements(session: Session) -> None:
    appointment, number = _booked(session)
    params = {"MessageSid": "SM" + "1" * 32, "From": number, "To": CLINIC_NUMBER, "Body": "1"}
    with statements(session) as seen:
        twiml = inbound_sms.handle(
            session, appointment.office_id, params, utcnow(), "https://clinic.example/twilio/status"
        )
        session.commit()
    assert "<Message" in twiml
    assert 0 < len(seen) <= MOST_STATEMENTS_FOR_A_CONFIRMATION, "\n".join(seen)
    session.expire_all()
    assert session.get_one(Appointment, appointment.id).status == AppointmentStatus.CONFIRMED
    reminders = session.scalars(select(Reminder).where(Reminder.appointment_id == appointment.id)).all()
    assert [r.status for r in reminders] == [ReminderStatus.SKIPPED] * 2  # both rules skip confirmed appointments
    assert {r.reason for r in reminders} == {"already confirmed"}
    told = session.scalars(select(Event.type).where(Event.appointment_id == appointment.id).order_by(Event.id)).all()
    assert told[-4:] == ["patient.answered", "appointment.confirmed", "reminder.skipped", "reminder.skipped"]


def test_the_same_text_again_reads_once_and_writes_nothing(session: Session) -> None:
    appointment, number = _booked(session)
    params = {"MessageSid": "SM" + "2" * 32, "From": number, "To": CLINIC_NUMBER, "Body": "1"}
    inbound_sms.handle(session, appointment.office_id, params, utcnow())
    session.commit()
    with statements(session) as seen:
        inbound_sms.handle(session, appointment.office_id, params, utcnow())
        session.commit()
    assert len(seen) == 1 and seen[0].lstrip().upper().startswith("SELECT"), seen
