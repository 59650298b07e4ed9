"""The worker against the simulator: what goes out, what is skipped and why, and what each error does."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.dispatcher.worker import Worker
from clinic_reminders.models import (
    Appointment,
    AppointmentStatus,
    Clinic,
    MessageStatus,
    Office,
    PhoneKind,
    ReminderStatus,
)
from tests.factories import make_patient, register_office
from tests.fixtures.simulator import CLINIC_NUMBER, SimulatorClient
from tests.integration.dispatch_support import (
    NOW,
    book,
    make_dispatch_clinic,
    make_dispatch_office,
    messages_of,
    reminder_of,
    run_worker,
    worker_settings,
)


@pytest.fixture
def office(session: Session) -> Office:
    return make_dispatch_office(session)


@pytest.fixture
def clinic(session: Session, office: Office) -> Clinic:
    return make_dispatch_clinic(session, office)


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
