"""What a batch of import records is checked against, loaded in a few queries for the whole batch.

The office's clinics and providers, and the patients (with their phones) and appointments that the records name
by external id. The upsert adds what it creates, so that a later record of the batch finds a patient or an
appointment an earlier one made, as it would in the database.

The patients and appointments are read as plain rows (`StoredPatient`, `StoredAppointment`: the attributes the
upsert compares, under the names of the models), since most records of a nightly export change nothing and an
ORM object costs several times a row; those that some record of the batch may change are then loaded as ORM
objects (`load_for_change`), in one query per kind, and replace their rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..models import Appointment, Clinic, Office, Patient, PatientPhone, Provider
from .new_patients import NewPatient
from .records import Record, RecordError

_CHUNK = 500  # external ids per IN (...): well within every database's limit on bound parameters


@dataclass(slots=True)
class StoredPhone:
    number: str
    kind: str
    position: int
    invalid_at: datetime | None


@dataclass(slots=True)
class StoredPatient:
    id: int
    external_id: str
    first_name: str
    last_name: str
    date_of_birth: date | None
    language: str
    phones: list[StoredPhone]


@dataclass(slots=True)
class StoredAppointment:
    id: int
    external_id: str
    clinic_id: int
    clinic: Clinic
    provider_id: int | None
    patient_id: int
    starts_at: datetime
    duration_minutes: int
    kind: str
    status: str
    status_changed_by: str


class Known:
    def __init__(self, db: Session, office: Office, records: Iterable[Record]) -> None:
        self.db = db
        patient_ids: set[str] = set()
        appointment_ids: set[str] = set()
        for record in records:
            if record.patient is not None:
                patient_ids.add(record.patient.external_id)
            if record.appointment is not None:
                patient_ids.add(record.appointment.patient_external_id)
                appointment_ids.add(record.appointment.external_id)
        self._clinics: dict[str, list[Clinic]] = defaultdict(list)
        self._clinic_ids: dict[str, Clinic] = {}
        for clinic in db.scalars(select(Clinic).where(Clinic.office_id == office.id).order_by(Clinic.id)):
            self._clinics[clinic.name.casefold()].append(clinic)
            self._clinic_ids[str(clinic.id)] = clinic
        self._providers: dict[str, list[Provider]] = defaultdict(list)
        for provider in db.scalars(select(Provider).where(Provider.office_id == office.id).order_by(Provider.id)):
            for name in {provider.name.casefold(), provider.display_name.casefold()}:
                self._providers[name].append(provider)
        self.patients: dict[str, Patient | StoredPatient | NewPatient] = {}
        for chunk in _chunks(patient_ids):
            self.patients.update(_stored_patients(db, office, chunk))
        self.appointments: dict[str, Appointment | StoredAppointment] = {}
        for chunk in _chunks(appointment_ids):
            rows = db.execute(
                select(*_APPOINTMENT_COLUMNS).where(
                    Appointment.office_id == office.id, Appointment.external_id.in_(chunk)
                )
            )
            for row in rows:
                clinic = self._clinic_ids.get(str(row.clinic_id)) or db.get_one(Clinic, row.clinic_id)
                self.appointments[row.external_id] = StoredAppointment(clinic=clinic, **row._asdict())

    def load_for_change(self, patient_ids: Collection[str], appointment_ids: Collection[str]) -> None:
        """The stored patients (with their phones) and appointments of these external ids as ORM objects."""
        ids = [p.id for key in patient_ids if isinstance(p := self.patients[key], StoredPatient)]
        for chunk in _chunks(ids):
            patients = select(Patient).where(Patient.id.in_(chunk)).options(selectinload(Patient.phones))
            self.patients.update((p.external_id, p) for p in self.db.scalars(patients) if p.external_id)
        ids = [a.id for key in appointment_ids if isinstance(a := self.appointments[key], StoredAppointment)]
        for chunk in _chunks(ids):
            appointments = select(Appointment).where(Appointment.id.in_(chunk))
            self.appointments.update((a.external_id, a) for a in self.db.scalars(appointments) if a.external_id)

    def clinic(self, ref: str, current_id: int | None) -> Clinic:
        """By name (case does not matter), else by id; a deactivated clinic only for an appointment already there."""
        by_id = self._clinic_ids.get(ref)
        found = self._clinics.get(ref.casefold()) or ([by_id] if by_id else [])
        return _the_one("clinic", ref, found, current_id, hint="; use the clinic's id")

    def provider(self, ref: str, current_id: int | None) -> Provider:
        """By name, with or without title ("Maria Chen", "Dr. Maria Chen"); active ones first."""
        return _the_one("provider", ref, self._providers.get(ref.casefold(), []), current_id)


_Id = TypeVar("_Id", str, int)


def _chunks(ids: Collection[_Id]) -> Iterable[list[_Id]]:
    ordered = sorted(ids)
    return (ordered[start : start + _CHUNK] for start in range(0, len(ordered), _CHUNK))


_PATIENT_COLUMNS = (
    Patient.id,
    Patient.external_id,
    Patient.first_name,
    Patient.last_name,
    Patient.date_of_birth,
    Patient.language,
)
_PHONE_COLUMNS = (PatientPhone.number, PatientPhone.kind, PatientPhone.position, PatientPhone.invalid_at)
_APPOINTMENT_COLUMNS = (
    Appointment.id,
    Appointment.external_id,
    Appointment.clinic_id,
    Appointment.provider_id,
    Appointment.patient_id,
    Appointment.starts_at,
    Appointment.duration_minutes,
    Appointment.kind,
    Appointment.status,
    Appointment.status_changed_by,
)


def _stored_patients(db: Session, office: Office, external_ids: list[str]) -> Iterable[tuple[str, StoredPatient]]:
    """The patients of these external ids, each with its phones in order (as `Patient.phones`)."""
    found = {
        row.id: StoredPatient(phones=[], **row._asdict())
        for row in db.execute(
            select(*_PATIENT_COLUMNS).where(Patient.office_id == office.id, Patient.external_id.in_(external_ids))
        )
    }
    if found:
        phones = select(PatientPhone.patient_id, *_PHONE_COLUMNS).where(PatientPhone.patient_id.in_(found))
        for row in db.execute(phones.order_by(PatientPhone.patient_id, PatientPhone.position)):
            found[row.patient_id].phones.append(StoredPhone(row.number, row.kind, row.position, row.invalid_at))
    return ((patient.external_id, patient) for patient in found.values())


_Named = TypeVar("_Named", Clinic, Provider)


def _the_one(field: str, ref: str, found: list[_Named], current_id: int | None, hint: str = "") -> _Named:
    """The one match, active ones first; a deactivated one only when the appointment already has it."""
    if len(found) > 1:
        found = [x for x in found if x.active]
    if not found:
        raise RecordError(field, f"no {field} named {ref!r}")
    if len(found) > 1:
        raise RecordError(field, f"several {field}s are named {ref!r}{hint}")
    match = found[0]
    if not match.active and match.id != current_id:
        raise RecordError(field, f"{field} {match.id} is deactivated")
    return match
