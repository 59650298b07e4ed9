"""Booking an appointment plans its reminders in the same transaction; moves and cancellations re-plan."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_reminders import booking, planning
from clinic_reminders.models import (
    Appointment,
    AppointmentStatus,
    Channel,
    Clinic,
    Office,
    Patient,
    Reminder,
    ReminderStatus,
)
from tests.factories import make_appointment, make_clinic, make_office, make_patient, make_rule

DENVER = ZoneInfo("America/Denver")


@pytest.fixture
def office(session: Session) -> Office:
    office = make_office(session)
    planning.ensure_default_rules(session, office)
    return office


@pytest.fixture
def denver(session: Session, office: Office) -> Clinic:
    return make_clinic(session, office, name="Riverside", timezone="America/Denver", phone="+13035550100")


@pytest.fixture
def patient(session: Session, office: Office) -> Patient:
    return make_patient(session, office, phone="+13035550142")


def reminders(session: Session, appointment: Appointment) -> dict[str, Reminder]:
    rows = session.scalars(select(Reminder).where(Reminder.appointment_id == appointment.id)).all()
    return {row.rule.name: row for row in rows}


def at_denver(*args: int) -> datetime:
    return datetime(*args, tzinfo=DENVER).astimezone(UTC)  # type: ignore[misc]


def test_it_plans_the_default_rules_at_local_clock_times(session: Session, denver: Clinic, patient: Patient) -> None:
    appointment = make_appointment(session, denver, patient, starts_at=at_denver(2030, 3, 12, 9, 0))
    rows = reminders(session, appointment)
    assert set(rows) == {"SMS 2 days before", "Call the day before if unconfirmed", "SMS 2 hours before"}
    local = {name: row.due_at.astimezone(DENVER).replace(tzinfo=None) for name, row in rows.items()}
    assert local["SMS 2 days before"] == datetime(2030, 3, 10, 10, 0)  # the DST switch day
    assert local["Call the day before if unconfirmed"] == datetime(2030, 3, 11, 17, 0)
    assert local["SMS 2 hours before"] == datetime(2030, 3, 12, 8, 0)  # 7:00 is before the window opens
    assert rows["Call the day before if unconfirmed"].channel == Channel.VOICE
    assert all(row.status == ReminderStatus.PLANNED for row in rows.values())


def test_it_replans_when_the_appointment_moves(session: Session, denver: Clinic, patient: Patient) -> None:
    appointment = make_appointment(session, denver, patient, starts_at=at_denver(2030, 6, 12, 9, 0))
    first = reminders(session, appointment)["SMS 2 days before"]
    first.status = ReminderStatus.SENT  # the reminder for the old time went out
    booking.update(session, appointment, {"starts_at": at_denver(2030, 6, 20, 14, 0)}, "test")
    rows = reminders(session, appointment)
    assert rows["SMS 2 days before"].status == ReminderStatus.PLANNED
    assert rows["SMS 2 days before"].due_at == at_denver(2030, 6, 18, 10, 0)
    assert rows["SMS 2 hours before"].due_at == at_denver(2030, 6, 20, 12, 0)


def test_a_cancelled_appointment_keeps_no_planned_reminder(session: Session, denver: Clinic, patient: Patient) -> None:
    appointment = make_appointment(session, denver, patient, starts_at=at_denver(2030, 6, 12, 9, 0))
    sent = reminders(session, appointment)["SMS 2 days before"]
    sent.status = ReminderStatus.SENT
    booking.cancel(session, appointment, "test")
    rows = reminders(session, appointment)
    assert rows["SMS 2 days before"].status == ReminderStatus.SENT  # history stays
    assert rows["SMS 2 hours before"].status == ReminderStatus.CANCELLED
    assert rows["Call the day before if unconfirmed"].reason == "appointment is cancelled"
    booking.set_status(session, appointment, AppointmentStatus.SCHEDULED, "test")  # booked again
    assert reminders(session, appointment)["SMS 2 hours before"].status == ReminderStatus.PLANNED


def test_a_confirmed_appointment_skips_rules_that_say_so(session: Session, denver: Clinic, patient: Patient) -> None:
    appointment = make_appointment(session, denver, patient, starts_at=at_denver(2030, 6, 12, 9, 0))
    booking.set_status(session, appointment, AppointmentStatus.CONFIRMED, "test")
    rows = reminders(session, appointment)
    assert {row.status for row in rows.values()} == {ReminderStatus.SKIPPED}
    assert rows["SMS 2 hours before"].reason == "already confirmed"


def test_a_clinic_rule_overrides_the_office_rule_of_the_same_name(
    session: Session, office: Office, denver: Clinic, patient: Patient
) -> None:
    chicago = make_clinic(session, office, name="Lakeside", timezone="America/Chicago", phone="+13125550100")
    make_rule(session, office, "SMS 2 days before", days_before=3, at_local_time=time(9, 0), clinic_id=chicago.id)
    in_denver = make_appointment(session, denver, patient, starts_at=at_denver(2030, 6, 12, 9, 0))
    in_chicago = make_appointment(session, chicago, patient, starts_at=at_denver(2030, 6, 12, 9, 0))
    assert reminders(session, in_denver)["SMS 2 days before"].due_at == at_denver(2030, 6, 10, 10, 0)
    chicago_due = reminders(session, in_chicago)["SMS 2 days before"].due_at
    assert chicago_due.astimezone(ZoneInfo("America/Chicago")).replace(tzinfo=None) == datetime(2030, 6, 9, 9, 0)


def test_it_plans_nothing_for_an_appointment_already_over(session: Session, denver: Clinic, patient: Patient) -> None:
    appointment = make_appointment(session, denver, patient, starts_at=datetime.now(UTC) - timedelta(hours=3))
    assert reminders(session, appointment) == {}


def test_plan_many_matches_one_by_one_planning(session: Session, office: Office, denver: Clinic) -> None:
    patients = [make_patient(session, office) for _ in range(5)]
    batch = [
        Appointment(
            office_id=office.id, clinic_id=denver.id, patient_id=p.id, starts_at=at_denver(2030, 6, 12 + i, 9, 0)
        )
        for i, p in enumerate(patients)
    ]
    session.add_all(batch)
    session.flush()
    assert planning.plan_many(session, office, batch) == 15
    session.flush()
    assert planning.plan_many(session, office, batch) == 0  # idempotent
    for appointment in batch:
        assert len(reminders(session, appointment)) == 3
