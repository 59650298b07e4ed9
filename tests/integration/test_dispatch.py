"""The worker against the simulator: what goes out, what is skipped and why, and what each error does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders import booking
from clinic_reminders.dispatcher.worker import Worker
from clinic_reminders.models import (
    Appointment,
    AppointmentStatus,
    Clinic,
    Message,
    MessageStatus,
    Office,
    Patient,
    PhoneKind,
    Reminder,
    ReminderRule,
    ReminderStatus,
)
from clinic_reminders.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.factories import make_clinic, make_office, make_patient, register_office
from tests.fixtures.simulator import CLINIC_NUMBER, SimulatorClient

# A fixed "now": noon in New York, where the test patients' (212) numbers are.
NOW = datetime(2030, 6, 12, 16, 0, tzinfo=UTC)


def worker_settings(database_url: str, simulator: SimulatorClient, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "secret_key": TEST_SECRET_KEY,
        "twilio_account_sid": simulator.account_sid,
        "twilio_auth_token": simulator.auth_token,
        "twilio_phone_number": CLINIC_NUMBER,
        "twilio_api_base_url": simulator.base_url,
        "sender_rate": 1000.0,
        "lease_seconds": 3.0,
        "heartbeat_seconds": 0.5,
        "twilio_timeout": 2.0,
    }
    values.update(overrides)
    return Settings(**values)


def run_worker(
    settings: Settings, sessions: sessionmaker[Session], clock: Callable[[], datetime] = lambda: NOW
) -> None:
    asyncio.run(Worker(settings, sessions, poll_interval=0.05, clock=clock).run(once=True))


@pytest.fixture
def office(session: Session) -> Office:
    office = make_office(session)
    # One rule keeps each test's arithmetic simple: a text one day before, at 10:00 local.
    session.add(ReminderRule(office_id=office.id, name="SMS", channel="sms", days_before=1, at_local_time=time(10)))
    session.flush()
    return office


@pytest.fixture
def clinic(session: Session, office: Office) -> Clinic:
    return make_clinic(session, office, name="Riverside Family Medicine", timezone="America/New_York")


def book(
    session: Session,
    clinic: Clinic,
    patient: Patient,
    starts_at: datetime = NOW + timedelta(hours=20),
    due: datetime = NOW - timedelta(minutes=1),
) -> Appointment:
    appointment = Appointment(
        office_id=clinic.office_id, clinic_id=clinic.id, patient_id=patient.id, starts_at=starts_at
    )
    booking.create(session, appointment, "test")
    # Planned against the real clock; pin it to the test's "now" so the worker finds it due.
    for reminder in session.scalars(select(Reminder).where(Reminder.appointment_id == appointment.id)):
        reminder.due_at = due
        reminder.status = ReminderStatus.PLANNED
    session.commit()
    return appointment


def reminder_of(session: Session, appointment: Appointment) -> Reminder:
    session.expire_all()
    return session.scalars(select(Reminder).where(Reminder.appointment_id == appointment.id)).one()


def messages_of(session: Session, appointment: Appointment) -> list[Message]:
    return list(session.scalars(select(Message).where(Message.appointment_id == appointment.id)))


def test_it_sends_a_due_reminder_exactly_once(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
) -> None:
    patient = make_patient(session, office, first_name="Ana")
    appointment = book(session, clinic, patient)
    settings = worker_settings(database_url, simulator)
    run_worker(settings, session_factory)
    run_worker(settings, session_factory)

    sent = simulator.messages(to=patient.phones[0].number)
    assert len(sent) == 1
    assert sent[0]["from"] == CLINIC_NUMBER
    assert "Riverside Family Medicine" in sent[0]["body"] and "1 confirm" in sent[0]["body"]
    reminder = reminder_of(session, appointment)
    assert reminder.status == ReminderStatus.SENT and reminder.lease_owner is None
    [message] = messages_of(session, appointment)
    assert message.twilio_sid == sent[0]["sid"]
    assert message.body == sent[0]["body"] and message.num_segments == 1 and message.encoding == "GSM-7"


def _change(session: Session, appointment: Appointment, how: str) -> None:
    """Changes made behind the planner's back, as a race with the worker would."""
    patient = appointment.patient
    if how == "cancelled":
        appointment.status = AppointmentStatus.CANCELLED
    elif how == "confirmed":
        appointment.status = AppointmentStatus.CONFIRMED
    elif how == "opted out":
        patient.sms_opted_out_at = NOW
    elif how == "no consent":
        patient.sms_consent = False
    elif how == "landline only":
        patient.phones[0].kind = PhoneKind.LANDLINE
    elif how == "already started":
        appointment.starts_at = NOW - timedelta(minutes=5)
    session.commit()


@pytest.mark.parametrize(
    ("how", "status", "reason"),
    [
        ("cancelled", ReminderStatus.CANCELLED, "appointment is cancelled"),
        ("confirmed", ReminderStatus.SKIPPED, "already confirmed"),
        ("opted out", ReminderStatus.SKIPPED, "opted out"),
        ("no consent", ReminderStatus.SKIPPED, "no consent"),
        ("landline only", ReminderStatus.SKIPPED, "no phone number that can receive sms"),
        ("already started", ReminderStatus.MISSED, "started before"),
    ],
)
def test_it_rechecks_every_reminder_before_sending(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
    how: str,
    status: ReminderStatus,
    reason: str,
) -> None:
    appointment = book(session, clinic, make_patient(session, office))
    _change(session, appointment, how)
    run_worker(worker_settings(database_url, simulator), session_factory)
    reminder = reminder_of(session, appointment)
    assert reminder.status == status
    assert reason in (reminder.reason or "")
    assert simulator.messages() == []


def test_it_waits_for_the_morning(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
) -> None:
    night = datetime(2030, 6, 12, 3, 30, tzinfo=UTC)  # 23:30 in New York
    appointment = book(session, clinic, make_patient(session, office), NOW + timedelta(days=1), due=night)
    run_worker(worker_settings(database_url, simulator), session_factory, clock=lambda: night)
    reminder = reminder_of(session, appointment)
    assert reminder.status == ReminderStatus.PLANNED
    assert reminder.due_at == datetime(2030, 6, 12, 12, 0, tzinfo=UTC)  # 8:00 in New York
    assert simulator.messages() == []


def test_it_sends_at_most_one_reminder_a_day(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
) -> None:
    patient = make_patient(session, office)
    first = book(session, clinic, patient, starts_at=NOW + timedelta(hours=20))
    second = book(session, clinic, patient, starts_at=NOW + timedelta(hours=22))
    run_worker(worker_settings(database_url, simulator), session_factory)
    statuses = sorted([reminder_of(session, first).status, reminder_of(session, second).status])
    assert statuses == [ReminderStatus.SENT, ReminderStatus.SKIPPED]
    assert len(simulator.messages()) == 1


@pytest.mark.parametrize(
    ("number", "code", "effect"),
    [
        ("+15005550001", 21211, "invalid"),
        ("+15005550002", 21612, "landline"),
        ("+15005550003", 21408, "invalid"),  # no permission for that region: permanent for that number
        ("+15005550004", 21610, "opted out"),
        ("+15005550009", 21614, "landline"),
    ],
)
def test_a_permanent_error_ends_the_reminder_and_teaches_about_the_number(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
    number: str,
    code: int,
    effect: str | None,
) -> None:
    patient = make_patient(session, office, phone=number)
    appointment = book(session, clinic, patient)
    run_worker(worker_settings(database_url, simulator), session_factory)
    reminder = reminder_of(session, appointment)
    assert reminder.status == ReminderStatus.FAILED
    assert reminder.reason and number not in reminder.reason
    [message] = messages_of(session, appointment)
    assert (message.status, message.error_code) == (MessageStatus.FAILED, code)
    session.refresh(patient)
    phone = patient.phones[0]
    assert (phone.invalid_at is not None) == (effect == "invalid")
    assert (phone.kind == PhoneKind.LANDLINE) == (effect == "landline")
    assert (patient.sms_opted_out_at is not None) == (effect == "opted out")


def test_a_rate_limited_send_is_retried_later_and_then_sent_once(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
) -> None:
    patient = make_patient(session, office)
    appointment = book(session, clinic, patient)
    settings = worker_settings(database_url, simulator)
    simulator.set_faults(rate_429=1.0)
    run_worker(settings, session_factory)
    reminder = reminder_of(session, appointment)
    assert reminder.status == ReminderStatus.PLANNED and reminder.due_at > NOW
    assert "retrying" in (reminder.reason or "")
    simulator.set_faults(rate_429=0.0)
    run_worker(settings, session_factory, clock=lambda: NOW + timedelta(hours=1))
    assert reminder_of(session, appointment).status == ReminderStatus.SENT
    assert len(simulator.messages(to=patient.phones[0].number)) == 1
    assert len(messages_of(session, appointment)) == 1  # the same row was sent again, not a second one


def test_a_full_queue_at_twilio_slows_that_sender_down(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
) -> None:
    full = "+15005550008"  # Twilio's test number whose queue is full: 21611
    clinic.twilio_number = full
    appointment = book(session, clinic, make_patient(session, office))
    worker = Worker(worker_settings(database_url, simulator), session_factory, poll_interval=0.05, clock=lambda: NOW)
    before = worker.pacer.rate(full)
    asyncio.run(worker.run(once=True))
    assert worker.pacer.rate(full) == before / 2
    reminder = reminder_of(session, appointment)
    assert reminder.status == ReminderStatus.PLANNED and reminder.due_at >= NOW + timedelta(minutes=5)
    assert "queue" in (reminder.reason or "")


def test_a_configuration_error_waits_instead_of_failing(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
) -> None:
    register_office(session, office)  # a US local sender: registered, or its texts would wait for that
    appointment = book(session, clinic, make_patient(session, office))
    settings = worker_settings(database_url, simulator, twilio_phone_number="+12125550199")  # not the account's
    run_worker(settings, session_factory)
    reminder = reminder_of(session, appointment)
    assert reminder.status == ReminderStatus.PLANNED and reminder.due_at > NOW
    assert "set-up" in (reminder.reason or "")
    [dropped] = messages_of(session, appointment)  # its sender was the problem: not sent again as it was
    assert (dropped.status, dropped.error_code) == (MessageStatus.CANCELED, 21606)
    run_worker(worker_settings(database_url, simulator), session_factory, clock=lambda: NOW + timedelta(minutes=20))
    assert reminder_of(session, appointment).status == ReminderStatus.SENT  # the set-up was fixed meanwhile
    assert [m["from"] for m in simulator.messages()] == [CLINIC_NUMBER]


def test_a_slow_sender_hands_back_what_it_cannot_send_soon(
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    office: Office,
    clinic: Clinic,
) -> None:
    """At ten segments a second, a backlog of 40 is not held in one worker's hands: what would wait longer than a
    quarter of the lease (here 3 s; 30 s at most) goes back to the queue, due when the sender's pace reaches it."""
    appointments = [book(session, clinic, make_patient(session, office)) for _ in range(40)]
    settings = worker_settings(database_url, simulator, sender_rate=10.0)

    async def one_pass() -> None:
        worker = Worker(settings, session_factory, poll_interval=0.05, clock=lambda: NOW)
        await worker.tick()
        worker.stop()
        await worker.run()  # drains what the pass started

    asyncio.run(one_pass())
    reminders = [reminder_of(session, a) for a in appointments]
    paced = [r for r in reminders if r.status == ReminderStatus.PLANNED]
    assert paced and all(r.reason == "paced" and r.due_at > NOW for r in paced)
    assert 5 <= len([r for r in reminders if r.status == ReminderStatus.SENT]) <= 12  # about 0.75 s at 10/s
    assert len(simulator.messages()) == 40 - len(paced)
