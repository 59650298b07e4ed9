"""What the dispatch tests share: a worker's settings against the simulator, a pinned "now", booking helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders import booking
from clinic_reminders.dispatcher.worker import Worker
from clinic_reminders.models import (
    Appointment,
    Clinic,
    Message,
    Office,
    Patient,
    Reminder,
    ReminderStatus,
)
from clinic_reminders.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.factories import make_clinic, make_office, make_rule
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


def make_dispatch_office(session: Session) -> Office:
    office = make_office(session)
    # One rule keeps each test's arithmetic simple: a text one day before, at 10:00 local.
    make_rule(session, office)
    return office


def make_dispatch_clinic(session: Session, office: Office) -> Clinic:
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
