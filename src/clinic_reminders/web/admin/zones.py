"""Which clinic's clock a time on the staff pages is read on (the text itself is `local_time.display`'s).

An appointment, and every reminder, text or answer about it, is on its clinic's clock. What concerns the patient
rather than one visit (a consent change, a text from staff, the inbox's last message) is on the clock of the
patient's clinic: that of their next visit, else of their latest one, else the office's first clinic.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import ACTIVE_STATUSES, Appointment, Clinic, Message, utcnow


def office_zone(db: Session, office_id: int) -> str:
    """The zone of the office's first clinic, for a patient who has no appointment yet."""
    stmt = select(Clinic.timezone).where(Clinic.office_id == office_id).order_by(Clinic.active.desc(), Clinic.id)
    return db.scalar(stmt.limit(1)) or "UTC"


@dataclass(frozen=True)
class Zones:
    office: str
    patients: Mapping[int, str] = field(default_factory=dict)
    appointments: Mapping[int, str] = field(default_factory=dict)

    def of_patient(self, patient_id: int | None) -> str:
        return self.patients.get(patient_id, self.office) if patient_id is not None else self.office

    def of_message(self, message: Message) -> str:
        """A message about an appointment is on that clinic's clock, any other on the patient's."""
        if message.appointment_id is not None and message.appointment_id in self.appointments:
            return self.appointments[message.appointment_id]
        return self.of_patient(message.patient_id)


def zones_for(db: Session, office_id: int, patient_ids: Collection[int], now: datetime | None = None) -> Zones:
    """The zones of these patients and of all their appointments, in one query."""
    office = office_zone(db, office_id)
    if not patient_ids:
        return Zones(office)
    now = now or utcnow()
    rows = db.execute(
        select(Appointment.id, Appointment.patient_id, Appointment.starts_at, Appointment.status, Clinic.timezone)
        .join(Clinic, Clinic.id == Appointment.clinic_id)
        .where(Appointment.office_id == office_id, Appointment.patient_id.in_(list(patient_ids)))
    ).all()
    appointments = {row.id: row.timezone for row in rows}
    patients: dict[int, str] = {}
    ranked: dict[int, tuple[int, float]] = {}  # next active visit first (soonest), else the latest visit
    for row in rows:
        upcoming = row.starts_at > now and row.status in ACTIVE_STATUSES
        rank = (0, row.starts_at.timestamp()) if upcoming else (1, -row.starts_at.timestamp())
        if row.patient_id not in ranked or rank < ranked[row.patient_id]:
            ranked[row.patient_id], patients[row.patient_id] = rank, row.timezone
    return Zones(office, patients, appointments)
