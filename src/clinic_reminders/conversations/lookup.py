"""Who is texting or calling, and which appointment they mean."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..accounts import the_office
from ..models import Appointment, AppointmentStatus, Clinic, Office, Patient, PatientPhone, Reminder, ReminderStatus

# An answer can still concern an appointment that started a little while ago ("running late, still coming").
GRACE = timedelta(hours=1)
ANSWERABLE = (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED, AppointmentStatus.RESCHEDULE_REQUESTED)


@dataclass
class Party:
    office: Office
    clinic: Clinic | None  # the clinic whose number was called, if it has its own
    patients: list[Patient] = field(default_factory=list)  # a family may share one phone
    appointment: Appointment | None = None
    candidates: list[Appointment] = field(default_factory=list)  # several upcoming and no reminder to tell

    @property
    def patient(self) -> Patient | None:
        if self.appointment is not None:
            return self.appointment.patient
        return self.patients[0] if len(self.patients) == 1 else None


def find_party(db: Session, to_number: str, from_number: str, now: datetime) -> Party:
    clinic = db.scalar(select(Clinic).where(Clinic.twilio_number == to_number, Clinic.active.is_(True)).limit(1))
    office = db.get(Office, clinic.office_id) if clinic else None
    party = Party(office=office or the_office(db), clinic=clinic)
    party.patients = list(
        db.scalars(
            select(Patient)
            .join(PatientPhone, PatientPhone.patient_id == Patient.id)
            .where(PatientPhone.office_id == party.office.id, PatientPhone.number == from_number)
            .options(selectinload(Patient.phones))
            .distinct()
        )
    )
    if not party.patients:
        return party
    ids = [p.id for p in party.patients]
    upcoming = (
        (Appointment.patient_id.in_(ids)) & Appointment.status.in_(ANSWERABLE) & (Appointment.starts_at > now - GRACE)
    )
    # The appointment the last reminder was about, if it is still ahead.
    party.appointment = db.scalar(
        select(Appointment)
        .join(Reminder, Reminder.appointment_id == Appointment.id)
        .where(upcoming, Reminder.status == ReminderStatus.SENT)
        .order_by(Reminder.updated_at.desc())
        .limit(1)
    )
    if party.appointment is None:
        candidates = list(db.scalars(select(Appointment).where(upcoming).order_by(Appointment.starts_at).limit(5)))
        if len(candidates) == 1:
            party.appointment = candidates[0]
        else:
            party.candidates = candidates
    return party
