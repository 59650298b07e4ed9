"""What the waitlist tests share: an office with a clinic and Dr. Chen, a slot to free, patients waiting for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_reminders import booking
from clinic_reminders.models import (
    Appointment,
    Clinic,
    EntrySource,
    Message,
    Office,
    Patient,
    Provider,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistSlot,
)
from clinic_reminders.waitlist import config, entries
from tests.factories import make_appointment, make_clinic, make_office, make_patient, make_provider
from tests.integration.dispatch_support import NOW


@dataclass
class Clinic1:
    office: Office
    clinic: Clinic
    chen: Provider
    freed: Appointment  # booked now, cancelled by the test: its time is the slot


def make_waitlist_office(db: Session, *, starts_in: timedelta = timedelta(days=2), **settings: Any) -> Clinic1:
    """A clinic in New York (the test patients' numbers are in 212) with Dr. Chen, her 30-minute visit
    `starts_in` after the tests' NOW to be freed, and the office's waitlist settings."""
    office = make_office(db)
    clinic = make_clinic(db, office, name="Riverside", timezone="America/New_York", phone="+12125550100")
    chen = make_provider(db, office, clinic, name="Chen")
    holder = make_patient(db, office, "Hold", "Er")
    freed = make_appointment(db, clinic, holder, chen, starts_at=NOW + starts_in)
    row = config.settings_of(db, office)
    for name, value in settings.items():
        setattr(row, name, value)
    return Clinic1(office, clinic, chen, freed)


def waiting(db: Session, place: Clinic1, first_name: str, **wish: Any) -> Patient:
    """A patient waiting for Dr. Chen at the clinic (or what `wish` says)."""
    fields = {k: wish.pop(k) for k in ("sms_consent", "language", "phone") if k in wish}
    patient = make_patient(db, place.office, first_name, "Waiting", **fields)
    values = {"clinic_id": place.clinic.id, "provider_id": place.chen.id, **wish}
    entries.join(db, place.office, entries.Join(patient_id=patient.id, **values), "test", EntrySource.STAFF)
    return patient


def cancel(db: Session, appointment: Appointment) -> None:
    booking.cancel(db, appointment, "test")
    db.commit()


def offers(db: Session) -> list[WaitlistOffer]:
    db.expire_all()
    return list(db.scalars(select(WaitlistOffer).order_by(WaitlistOffer.id)))


def slots(db: Session) -> list[WaitlistSlot]:
    db.expire_all()
    return list(db.scalars(select(WaitlistSlot).order_by(WaitlistSlot.id)))


def entry_of(db: Session, patient: Patient) -> WaitlistEntry:
    db.expire_all()
    return db.scalars(select(WaitlistEntry).where(WaitlistEntry.patient_id == patient.id)).one()


def number_of(patient: Patient) -> str:
    return patient.phones[0].number


def texts_to(db: Session, patient: Patient) -> list[Message]:
    db.expire_all()
    return list(db.scalars(select(Message).where(Message.patient_id == patient.id).order_by(Message.id)))
