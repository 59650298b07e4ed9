"""Who is texting or calling, and which appointment they mean."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

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
            .distinct()
        )
    )
    if not party.patients:
        return party
    ids = [p.id for p in party.patients]
    # One query: the upcoming appointments, the one the last reminder was about first (if any was sent).
    last_reminder = (
        select(Reminder.appointment_id, func.max(Reminder.updated_at).label("at"))
        .join(Appointment, Appointment.id == Reminder.appointment_id)
        .where(Appointment.patient_id.in_(ids), Reminder.status == ReminderStatus.SENT)
        .group_by(Reminder.appointment_id)
        .subquery()
    )
    rows = db.execute(
        select(Appointment, last_reminder.c.at)
        .outerjoin(last_reminder, last_reminder.c.appointment_id == Appointment.id)
        .where(
            Appointment.patient_id.in_(ids),
            Appointment.status.in_(ANSWERABLE),
            Appointment.starts_at > now - GRACE,
        )
        .options(joinedload(Appointment.clinic))
        .order_by(last_reminder.c.at.is_(None), last_reminder.c.at.desc(), Appointment.starts_at)
        .limit(5)
    ).all()
    if rows and (rows[0].at is not None or len(rows) == 1):
        party.appointment = rows[0].Appointment
    else:
        party.candidates = [row.Appointment for row in rows]
    return party
