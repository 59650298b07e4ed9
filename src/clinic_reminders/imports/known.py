"""What a batch of import records is checked against, loaded in a few queries for the whole batch.

The office's clinics and providers with its mapping of PMS codes to them, and the patients (with their phones)
and appointments that the records name by external id. The upsert adds what it creates, so that a later record
of the batch finds a patient or an appointment an earlier one made, as it would in the database. The codes that
nothing stands for are counted as the records meet them, and written with the batch (`saw`).

The patients and appointments are read as plain rows (`StoredPatient`, `StoredAppointment`: the attributes the
upsert compares, under the names of the models), since most records of a nightly export change nothing and an
ORM object costs several times a row; those that some record of the batch may change are then loaded as ORM
objects (`load_for_change`), in one query per kind, and replace their rows.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..models import Appointment, Clinic, Office, Patient, PatientPhone, PmsCode, PmsCodeKind, Provider
from .new_patients import NewPatient
from .records import AppointmentRecord, Record, RecordError

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
        self.office = office
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
        self._provider_ids: dict[int, Provider] = {}
        for provider in db.scalars(select(Provider).where(Provider.office_id == office.id).order_by(Provider.id)):
            self._provider_ids[provider.id] = provider
            for name in {provider.name.casefold(), provider.display_name.casefold()}:
                self._providers[name].append(provider)
        self._codes = {(c.kind, c.code): c for c in db.scalars(select(PmsCode).where(PmsCode.office_id == office.id))}
        self._sightings: Counter[tuple[str, str]] = Counter()
        self._sent_names: dict[tuple[str, str], tuple[str, str]] = {}
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
        """By the PMS code's mapping, else by name (case does not matter), else by id; a deactivated clinic only
        for an appointment already there."""
        found = self.find_clinic(ref, current_id)
        if found is None:
            raise RecordError("clinic", f"no clinic named {ref!r}")
        return found

    def find_clinic(self, ref: str, current_id: int | None) -> Clinic | None:
        """As `clinic`, None when nothing has that code, name or id."""
        mapped = self._codes.get((PmsCodeKind.LOCATION, ref))
        if mapped is not None and mapped.clinic_id is not None:
            return _the_one("clinic", ref, [self._clinic_ids[str(mapped.clinic_id)]], current_id)
        by_id = self._clinic_ids.get(ref)
        found = self._clinics.get(ref.casefold()) or ([by_id] if by_id else [])
        return _the_one("clinic", ref, found, current_id, hint="; use the clinic's id") if found else None

    def only_clinic(self) -> Clinic | None:
        """The office's clinic when it has one active clinic only."""
        active = [clinic for clinic in self._clinic_ids.values() if clinic.active]
        return active[0] if len(active) == 1 else None

    def provider(self, ref: str, current_id: int | None) -> Provider:
        """By the PMS code's mapping, else by name, with or without title ("Maria Chen", "Dr. Maria Chen");
        active ones first."""
        found = self.find_provider(ref, current_id)
        if found is None:
            raise RecordError("provider", f"no provider named {ref!r}")
        return found

    def find_provider(self, ref: str, current_id: int | None) -> Provider | None:
        mapped = self._codes.get((PmsCodeKind.PROVIDER, ref))
        if mapped is not None and mapped.provider_id is not None:
            return _the_one("provider", ref, [self._provider_ids[mapped.provider_id]], current_id)
        found = self._providers.get(ref.casefold(), [])
        return _the_one("provider", ref, found, current_id) if found else None

    def saw(self, record: AppointmentRecord) -> None:
        """Counts the record's location and provider codes (or CSV and FHIR names) that nothing stands for: the
        configuration page lists them to be mapped. Whether or not the record is then imported."""
        location = record.location.value if record.location else record.clinic
        if location and not self._knows(PmsCodeKind.LOCATION, location):
            self._count(PmsCodeKind.LOCATION, location, record.location.name if record.location else "", "")
        code = record.provider_code
        provider = code.value if code else record.provider
        names = [provider, record.provider]
        if provider and not any(n and self._knows(PmsCodeKind.PROVIDER, n) for n in names):
            self._count(PmsCodeKind.PROVIDER, provider, code.name if code else provider, code.title if code else "")

    def _knows(self, kind: PmsCodeKind, ref: str) -> bool:
        mapped = self._codes.get((kind, ref))
        if mapped is not None and mapped.mapped:
            return True
        if kind is PmsCodeKind.LOCATION:
            return ref in self._clinic_ids or ref.casefold() in self._clinics
        return ref.casefold() in self._providers

    def _count(self, kind: PmsCodeKind, code: str, name: str, title: str) -> None:
        self._sightings[kind, code] += 1
        if name:
            self._sent_names[kind, code] = (name, title)

    def write_sightings(self, now: datetime) -> None:
        """The codes counted by `saw`, added to the office's list of codes to map (in the batch's transaction)."""
        for (kind, code), times in self._sightings.items():
            row = self._codes.get((kind, code))
            if row is None:
                row = self._codes[kind, code] = PmsCode(office_id=self.office.id, kind=kind, code=code, seen_count=0)
                self.db.add(row)
            row.seen_count += times
            row.last_seen_at = now
            if (kind, code) in self._sent_names:
                name, title = self._sent_names[kind, code]
                row.name, row.title = name[:200], title[:50]
        self._sightings.clear()


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
