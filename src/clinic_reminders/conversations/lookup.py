"""Who is texting or calling, and which appointment they mean; and, for a number of no patient, whose it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, joinedload

from .. import audit
from ..models import (
    Appointment,
    AppointmentStatus,
    Clinic,
    Direction,
    Message,
    Office,
    Patient,
    PatientPhone,
    PhoneKind,
    Reminder,
    ReminderStatus,
)

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


# Built once: constructing a statement costs more than running it on the webhook's hot path.
_OFFICE_AND_CLINIC = (  # the webhook's office, and its clinic with this number if one has it
    select(Office, Clinic)
    .outerjoin(
        Clinic,
        (Clinic.office_id == Office.id) & (Clinic.twilio_number == bindparam("to")) & Clinic.active.is_(True),
    )
    .where(Office.id == bindparam("office_id"))
    .order_by(Clinic.id)
    .limit(1)
)
_PATIENTS = (
    select(Patient)
    .join(PatientPhone, PatientPhone.patient_id == Patient.id)
    .where(PatientPhone.office_id == bindparam("office_id"), PatientPhone.number == bindparam("number"))
    .options(joinedload(Patient.phones))
)
_LAST_SENT = (
    select(Reminder.appointment_id, func.max(Reminder.updated_at).label("at"))
    .join(Appointment, Appointment.id == Reminder.appointment_id)
    .where(Appointment.patient_id.in_(bindparam("ids", expanding=True)), Reminder.status == ReminderStatus.SENT)
    .group_by(Reminder.appointment_id)
    .subquery()
)
# The upcoming appointments, the one the last reminder was about first (if any was sent).
_UPCOMING = (
    select(Appointment, _LAST_SENT.c.at)
    .outerjoin(_LAST_SENT, _LAST_SENT.c.appointment_id == Appointment.id)
    .where(
        Appointment.patient_id.in_(bindparam("ids", expanding=True)),
        Appointment.status.in_(ANSWERABLE),
        Appointment.starts_at > bindparam("after"),
    )
    .options(joinedload(Appointment.clinic))
    .order_by(_LAST_SENT.c.at.is_(None), _LAST_SENT.c.at.desc(), Appointment.starts_at)
    .limit(5)
)


def find_party(db: Session, office_id: int, to_number: str, from_number: str, now: datetime) -> Party:
    """`office_id`: the office the webhook is for (web/webhooks/signed.py found it by its account and number)."""
    found = db.execute(_OFFICE_AND_CLINIC, {"office_id": office_id, "to": to_number}).one()
    party = Party(office=found.Office, clinic=found.Clinic)
    patients = db.scalars(_PATIENTS, {"office_id": party.office.id, "number": from_number}).unique()
    party.patients = list(patients)
    if not party.patients:
        return party
    ids = [p.id for p in party.patients]
    rows = db.execute(_UPCOMING, {"ids": ids, "after": now - GRACE}).all()
    if rows and (rows[0].at is not None or len(rows) == 1):
        party.appointment = rows[0].Appointment
    else:
        party.candidates = [row.Appointment for row in rows]
    return party


def link_number(db: Session, patient: Patient, number: str, actor: str, how: str) -> int:
    """Staff say whose number texted: it becomes one of `patient`'s phones (unless it already is), and the texts
    to and from it that belonged to no patient join the patient's conversation. Returns how many moved; audited
    with `how` (an "existing" patient or a "new" one).

    Later texts from the number find the patient as any patient's do."""
    if not any(phone.number == number for phone in patient.phones):
        position = max((phone.position for phone in patient.phones), default=-1) + 1
        patient.phones.append(
            PatientPhone(office_id=patient.office_id, number=number, kind=PhoneKind.MOBILE, position=position)
        )
    inbound = (Message.direction == Direction.INBOUND) & (Message.from_number == number)
    outbound = (Message.direction == Direction.OUTBOUND) & (Message.to_number == number)
    result = db.execute(
        update(Message)
        .where(Message.office_id == patient.office_id, Message.patient_id.is_(None), inbound | outbound)
        .values(patient_id=patient.id)
        .execution_options(synchronize_session=False)
    )
    moved = int(result.rowcount or 0)  # type: ignore[attr-defined]
    audit.record(db, patient.office_id, actor, "link_number", "patient", patient.id, how=how, texts=moved)
    return moved
