"""What the no-show follow-up and recall tests share: an office with a clinic in New York and Dr. Chen, its
follow-up settings, visits in the past (marked no-show or completed), and the dispatcher at a pinned time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import unescape
from itertools import count
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders import booking
from clinic_reminders.conversations import inbound_sms
from clinic_reminders.db import transaction
from clinic_reminders.followup import config
from clinic_reminders.models import (
    Appointment,
    AppointmentStatus,
    Clinic,
    Event,
    EventType,
    Message,
    Office,
    Patient,
    Provider,
)
from tests.factories import make_appointment, make_clinic, make_office, make_provider
from tests.fixtures.simulator import CLINIC_NUMBER, SimulatorClient
from tests.integration.dispatch_support import NOW, run_worker, worker_settings

_sids = count(1)


@dataclass
class Place:
    office: Office
    clinic: Clinic
    chen: Provider


def make_place(db: Session, **settings: Any) -> Place:
    """A clinic in New York (the test patients' numbers are in 212) with Dr. Chen, and the office's follow-up
    settings: no-show follow-ups and recall on, with `settings` over the defaults."""
    office = make_office(db)
    clinic = make_clinic(db, office, name="Riverside", timezone="America/New_York", phone="+12125550100")
    chen = make_provider(db, office, clinic, name="Chen")
    values = {
        "noshow_enabled": True,
        "noshow_delay_minutes": 120,
        "recall_enabled": True,
        "recall_texts": 3,
        "recall_spacing_days": 14,
        **settings,
    }
    config.change(db, office, config.Change(**values), "test")
    return Place(office, clinic, chen)


def past_visit(
    db: Session, place: Place, patient: Patient, starts_at: datetime, status: AppointmentStatus, reason: str = ""
) -> Appointment:
    """A visit at `starts_at` (before NOW) taking `status` through `booking`; its event is dated NOW."""
    appointment = make_appointment(db, place.clinic, patient, place.chen, starts_at=starts_at, reason=reason)
    booking.set_status(db, appointment, status, "test")
    db.flush()
    for event in db.scalars(select(Event).where(Event.appointment_id == appointment.id)):
        event.created_at = NOW  # the tests' clock, not the machine's
    db.commit()
    return appointment


def no_show(db: Session, place: Place, patient: Patient) -> Appointment:
    return past_visit(db, place, patient, NOW - timedelta(hours=1), AppointmentStatus.NO_SHOW)


def dispatch(database_url: str, simulator: SimulatorClient, sessions: sessionmaker[Session], at: datetime) -> None:
    run_worker(worker_settings(database_url, simulator), sessions, clock=lambda: at)


def texts_to(simulator: SimulatorClient, patient: Patient) -> list[str]:
    return [m["body"] for m in simulator.messages() if m["to"] == patient.phones[0].number]


def answer(sessions: sessionmaker[Session], patient: Patient, body: str, now: datetime) -> str:
    """The patient texts `body`; returns what we answer (the TwiML's message)."""
    params = {
        "MessageSid": f"SM{next(_sids):032d}",
        "From": patient.phones[0].number,
        "To": CLINIC_NUMBER,
        "Body": body,
    }
    with transaction(sessions) as db:
        twiml = inbound_sms.handle(db, patient.office_id, params, now)
    found = re.search(r"<Message>(.*)</Message>", twiml, re.DOTALL)
    return unescape(found.group(1)) if found else ""


def last_inbound(db: Session, patient: Patient) -> Message:
    db.expire_all()
    return db.scalars(
        select(Message).where(Message.patient_id == patient.id, Message.direction == "inbound").order_by(Message.id)
    ).all()[-1]


def events_of(db: Session, kind: EventType) -> list[Event]:
    return list(db.scalars(select(Event).where(Event.type == kind)))
