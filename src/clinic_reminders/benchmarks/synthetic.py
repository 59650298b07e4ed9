"""A synthetic office for load tests and benchmarks: thousands of patients, each with a reminder due now.

Patients get non-geographic US numbers (+1 5XX 555 xxxx, "personal communications" codes), which name no time
zone, so the clinic's zone applies; the clinic sits in a fixed-offset zone where it is now about noon. Quiet
hours therefore never hold a run back, whatever time the machine's clock says.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from .. import planning
from ..models import Appointment, Clinic, Office, Patient, PatientPhone, ReminderRule

# Personal-communications area codes; 500-555-000x and 500-555-3xxx are the simulator's magic numbers.
AREA_CODES = ("533", "544", "566", "577", "588", "521", "522")
MAX_PATIENTS = 50_000


def noon_somewhere(now: datetime | None = None) -> str:
    """A fixed-offset zone (Etc/GMT±N, signs inverted by convention) where it is about noon now."""
    hour = (now or datetime.now(UTC)).hour
    offset = (12 - hour) % 24
    offset = offset - 24 if offset > 12 else offset
    return "Etc/GMT" + (f"-{offset}" if offset > 0 else f"+{-offset}" if offset < 0 else "")


def numbers(count: int) -> Iterator[str]:
    if count > len(AREA_CODES) * 10_000:
        raise ValueError("too many synthetic patients")
    for i in range(count):
        yield f"+1{AREA_CODES[i // 10_000]}555{i % 10_000:04d}"


def seed_due_reminders(
    sessions: sessionmaker[Session], count: int, starts_in: timedelta = timedelta(hours=24), plan: bool = True
) -> None:
    """`count` appointments with one SMS reminder due now each (one rule, 36 h before), one patient each up to
    MAX_PATIENTS, then shared. With `plan` False they are left unplanned (to time planning on its own)."""
    with sessions() as db, db.begin():
        office = Office(name="Synthetic office")
        db.add(office)
        db.flush()
        db.add(ReminderRule(office_id=office.id, name="SMS", channel="sms", minutes_before=36 * 60))
        clinic = Clinic(office_id=office.id, name="Synthetic clinic", phone="+12125550100", timezone=noon_somewhere())
        db.add(clinic)
        db.flush()
        office_id, clinic_id = office.id, clinic.id
        insert_patients(db, office_id, min(count, MAX_PATIENTS))
        patient_ids = list(db.scalars(select(Patient.id).where(Patient.office_id == office_id).order_by(Patient.id)))
        starts = datetime.now(UTC) + starts_in
        db.execute(
            insert(Appointment),
            [
                {
                    "office_id": office_id,
                    "clinic_id": clinic_id,
                    "patient_id": patient_ids[i % len(patient_ids)],
                    "starts_at": starts + timedelta(minutes=i // len(patient_ids)),
                }
                for i in range(count)
            ],
        )
        if plan:
            plan_all(db, office)


def insert_patients(db: Session, office_id: int, count: int) -> None:
    db.execute(
        insert(Patient),
        [{"office_id": office_id, "first_name": f"Pat{i}", "last_name": "Synthetic"} for i in range(count)],
    )
    ids = db.scalars(select(Patient.id).where(Patient.office_id == office_id).order_by(Patient.id))
    db.execute(
        insert(PatientPhone),
        [
            {"office_id": office_id, "patient_id": pid, "number": number, "kind": "mobile", "position": 0}
            for pid, number in zip(ids, numbers(count), strict=True)
        ],
    )


def plan_all(db: Session, office: Office, chunk: int = 2_000) -> int:
    """Plan every appointment of the office, in chunks (the bulk path imports and benchmarks use)."""
    ids = list(db.scalars(select(Appointment.id).where(Appointment.office_id == office.id).order_by(Appointment.id)))
    planned = 0
    for start in range(0, len(ids), chunk):
        batch = list(
            db.scalars(
                select(Appointment)
                .where(Appointment.id.in_(ids[start : start + chunk]))
                .options(
                    selectinload(Appointment.clinic), selectinload(Appointment.patient).selectinload(Patient.phones)
                )
            )
        )
        planned += planning.plan_many(db, office, batch)
        db.flush()
        db.expunge_all()
        office = db.merge(office)
    return planned
