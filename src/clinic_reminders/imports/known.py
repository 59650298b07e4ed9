"""What a batch of import records is checked against, loaded in a few queries for the whole batch.

The office's clinics and providers, and the patients (with their phones) and appointments that the records name
by external id. The upsert adds what it creates, so that a later record of the batch finds a patient or an
appointment an earlier one made, as it would in the database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..models import Appointment, Clinic, Office, Patient, Provider
from .new_patients import NewPatient
from .records import Record, RecordError

_CHUNK = 500  # external ids per IN (...): well within every database's limit on bound parameters


class Known:
    def __init__(self, db: Session, office: Office, records: Iterable[Record]) -> None:
        patient_ids: set[str] = set()
        appointment_ids: set[str] = set()
        for record in records:
            if record.patient is not None:
                patient_ids.add(record.patient.external_id)
            if record.appointment is not None:
                patient_ids.add(record.appointment.patient_external_id)
                appointment_ids.add(record.appointment.external_id)
        self.patients: dict[str, Patient | NewPatient] = {}
        for chunk in _chunks(patient_ids):
            patients = (
                select(Patient)
                .where(Patient.office_id == office.id, Patient.external_id.in_(chunk))
                .options(selectinload(Patient.phones))
            )
            self.patients.update((p.external_id, p) for p in db.scalars(patients) if p.external_id)
        self.appointments: dict[str, Appointment] = {}
        for chunk in _chunks(appointment_ids):
            appointments = select(Appointment).where(
                Appointment.office_id == office.id, Appointment.external_id.in_(chunk)
            )
            self.appointments.update((a.external_id, a) for a in db.scalars(appointments) if a.external_id)
        self._clinics: dict[str, list[Clinic]] = defaultdict(list)
        self._clinic_ids: dict[str, Clinic] = {}
        for clinic in db.scalars(select(Clinic).where(Clinic.office_id == office.id).order_by(Clinic.id)):
            self._clinics[clinic.name.casefold()].append(clinic)
            self._clinic_ids[str(clinic.id)] = clinic
        self._providers: dict[str, list[Provider]] = defaultdict(list)
        for provider in db.scalars(select(Provider).where(Provider.office_id == office.id).order_by(Provider.id)):
            for name in {provider.name.casefold(), provider.display_name.casefold()}:
                self._providers[name].append(provider)

    def clinic(self, ref: str, current_id: int | None) -> Clinic:
        """By name (case does not matter), else by id; a deactivated clinic only for an appointment already there."""
        by_id = self._clinic_ids.get(ref)
        found = self._clinics.get(ref.casefold()) or ([by_id] if by_id else [])
        return _the_one("clinic", ref, found, current_id, hint="; use the clinic's id")

    def provider(self, ref: str, current_id: int | None) -> Provider:
        """By name, with or without title ("Maria Chen", "Dr. Maria Chen"); active ones first."""
        return _the_one("provider", ref, self._providers.get(ref.casefold(), []), current_id)


def _chunks(ids: Collection[str]) -> Iterable[list[str]]:
    ordered = sorted(ids)
    return (ordered[start : start + _CHUNK] for start in range(0, len(ordered), _CHUNK))


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
