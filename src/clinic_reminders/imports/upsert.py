"""The one path from imported records into the office: patients and appointments found by their external id.

Each record is its own transaction, so a rejected record leaves the others in place, and appointments change
only through `booking`, which audits the change and re-plans the reminders in that transaction. Re-importing a
file changes nothing. The rules, the same for every format:

- A new patient consents to texts and calls, recorded as consent events from `import:<format>` (as a patient
  added through the API); an existing patient's consent and opt-outs are never touched by an import.
- A value the record does not give keeps what is stored; phones, when any is given, replace the patient's list
  (a number kept keeps its history and its kind once known, such as a landline mark learned from Twilio).
- A scheduled record does not undo a patient's answer: a confirmed appointment stays confirmed, and a cancelled
  or reschedule-requested one is booked again only when the record moves it (the office found a new time) or
  when it was an import that had cancelled it.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .. import accounts, audit, booking
from ..db import transaction
from ..models import Appointment, AppointmentKind, AppointmentStatus, Clinic, Office, Patient, PhoneKind, Provider
from ..patient_changes import apply_consents, set_phones
from .records import AppointmentRecord, ImportStatus, Items, PatientRecord, Record, RecordError, Rejection

logger = logging.getLogger(__name__)

_STATUSES = {
    ImportStatus.SCHEDULED: AppointmentStatus.SCHEDULED,
    ImportStatus.CANCELLED: AppointmentStatus.CANCELLED,
    ImportStatus.NO_SHOW: AppointmentStatus.NO_SHOW,
}


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    CANCELLED = "cancelled"


_STRONGER = [Outcome.CREATED, Outcome.UPDATED, Outcome.UNCHANGED]


@dataclass
class Summary:
    appointments: Counter[Outcome] = field(default_factory=Counter)
    patients: dict[str, Outcome] = field(default_factory=dict)  # by external id: a patient on ten lines is one
    rejections: list[Rejection] = field(default_factory=list)

    def count_patient(self, external_id: str, outcome: Outcome) -> None:
        earlier = self.patients.get(external_id, Outcome.UNCHANGED)
        self.patients[external_id] = min(earlier, outcome, key=_STRONGER.index)

    def lines(self) -> list[str]:
        appointments = ", ".join(f"{self.appointments[o]} {o}" for o in Outcome)
        patients = Counter(self.patients.values())
        return [
            f"appointments: {appointments}",
            f"patients: {', '.join(f'{patients[o]} {o}' for o in _STRONGER)}",
            f"rejected: {len(self.rejections)} record{'' if len(self.rejections) == 1 else 's'}",
        ]


def run(sessions: sessionmaker[Session], items: Items, source: str, default_clinic: str | None = None) -> Summary:
    """Import every record that can be; `source` ("csv", "hl7", "fhir") names the import in the audit trail."""
    actor = f"import:{source}"
    summary = Summary()
    for item in items:
        rejection = item if isinstance(item, Rejection) else None
        if isinstance(item, Record):
            try:
                with transaction(sessions) as db:
                    patient, appointment = _import(db, item, actor, default_clinic)
            except (RecordError, booking.BookingError) as exc:
                rejection = Rejection(item.where, exc.field, exc.message)
            except (IntegrityError, DataError):  # e.g. the same id created meanwhile by another import
                rejection = Rejection(item.where, "record", "the database refused it; import it again")
            else:
                if patient is not None:
                    summary.count_patient(*patient)
                if appointment is not None:
                    summary.appointments[appointment] += 1
        if rejection is not None:
            logger.warning("import %s: %s rejected (field %s)", source, rejection.where, rejection.field)
            summary.rejections.append(rejection)
    logger.info("import %s: %s", source, "; ".join(summary.lines()))
    return summary


def _import(
    db: Session, item: Record, actor: str, default_clinic: str | None
) -> tuple[tuple[str, Outcome] | None, Outcome | None]:
    """The patient's (external id, outcome) and the appointment's outcome, each None if the record has none."""
    office = accounts.the_office(db)
    patient: Patient | None = None
    counted: tuple[str, Outcome] | None = None
    if item.patient is not None:
        patient, outcome = _upsert_patient(db, office, item.patient, actor)
        counted = (item.patient.external_id, outcome)
    if item.appointment is None:
        return counted, None
    if patient is None:
        patient = _by_external_id(db, Patient, office, item.appointment.patient_external_id)
        if patient is None:
            raise RecordError("patient", "no patient with this id in the file or in the office")
    return counted, _upsert_appointment(db, office, item.appointment, patient, actor, default_clinic)


_Row = TypeVar("_Row", Patient, Appointment)


def _by_external_id(db: Session, model: type[_Row], office: Office, external_id: str) -> _Row | None:
    return db.scalar(select(model).where(model.office_id == office.id, model.external_id == external_id))


def _upsert_patient(db: Session, office: Office, record: PatientRecord, actor: str) -> tuple[Patient, Outcome]:
    given = {
        "first_name": record.first_name,
        "last_name": record.last_name,
        "date_of_birth": record.date_of_birth,
        "language": record.language,
    }
    values = {k: v for k, v in given.items() if v is not None}
    patient = _by_external_id(db, Patient, office, record.external_id)
    if patient is None:
        # Consent starts withheld so that the consent given now is recorded as an event, as the API does.
        patient = Patient(office_id=office.id, external_id=record.external_id, sms_consent=False, voice_consent=False)
        for key, value in values.items():
            setattr(patient, key, value)
        set_phones(patient, _phones(patient, record))
        db.add(patient)
        db.flush()
        apply_consents(db, patient, {"sms_consent": True, "voice_consent": True}, actor)
        audit.record(db, office.id, actor, "create", "patient", patient.id)
        return patient, Outcome.CREATED
    changed = sorted(k for k, v in values.items() if getattr(patient, k) != v)
    for key in changed:
        setattr(patient, key, values[key])
    if record.phones and set_phones(patient, _phones(patient, record)):
        changed.append("phones")
    if not changed:
        return patient, Outcome.UNCHANGED
    audit.record(db, office.id, actor, "update", "patient", patient.id, fields=changed)
    return patient, Outcome.UPDATED


@dataclass(frozen=True)
class _Phone:
    number: str
    kind: PhoneKind | None


def _phones(patient: Patient, record: PatientRecord) -> list[_Phone]:
    """The record's phones for `set_phones`; a kind already known (a landline learned from Twilio) is kept."""
    known = {phone.number for phone in patient.phones if phone.kind != PhoneKind.UNKNOWN}
    return [_Phone(phone.number, None if phone.number in known else phone.kind) for phone in record.phones]


def _upsert_appointment(
    db: Session, office: Office, record: AppointmentRecord, patient: Patient, actor: str, default_clinic: str | None
) -> Outcome:
    appointment = _by_external_id(db, Appointment, office, record.external_id)
    clinic_ref = record.clinic or (None if appointment else default_clinic)
    if clinic_ref:
        clinic = _clinic(db, office, clinic_ref, appointment.clinic_id if appointment else None)
    elif appointment is not None:
        clinic = appointment.clinic
    else:
        raise RecordError("clinic", "missing; name it in the file, or give the import a default clinic")
    provider = None
    if record.provider:
        provider = _provider(db, office, record.provider, appointment.provider_id if appointment else None)
    starts_at = _utc(record.starts_at, clinic)
    if appointment is None:
        appointment = Appointment(
            office_id=office.id,
            external_id=record.external_id,
            clinic=clinic,
            provider=provider,
            patient=patient,
            starts_at=starts_at,
            duration_minutes=record.duration_minutes or 30,
            kind=record.kind or AppointmentKind.IN_PERSON,
            status=_STATUSES[record.status],
            status_changed_by=actor,
        )
        booking.create(db, appointment, actor)
        return Outcome.CREATED
    given = {
        "clinic_id": clinic.id,
        "patient_id": patient.id,
        "starts_at": starts_at,
        "provider_id": provider.id if provider else None,
        "duration_minutes": record.duration_minutes,
        "kind": record.kind,
    }
    changes = {k: v for k, v in given.items() if v is not None and getattr(appointment, k) != v}
    booking.update(db, appointment, changes, actor)
    status = _new_status(appointment, record.status, moved="starts_at" in changes)
    if status is not None:
        booking.set_status(db, appointment, status, actor)
    if status == AppointmentStatus.CANCELLED:
        return Outcome.CANCELLED
    return Outcome.UPDATED if changes or status else Outcome.UNCHANGED


def _new_status(appointment: Appointment, status: ImportStatus, moved: bool) -> AppointmentStatus | None:
    """The status to set, or None to keep it (see the module's rules)."""
    wanted = _STATUSES[status]
    if status is ImportStatus.SCHEDULED:
        rebook = appointment.status in (AppointmentStatus.CANCELLED, AppointmentStatus.RESCHEDULE_REQUESTED) and (
            moved or appointment.status_changed_by.startswith("import:")
        )
        return wanted if rebook else None
    return wanted if appointment.status != wanted else None


def _utc(starts_at: datetime, clinic: Clinic) -> datetime:
    if starts_at.tzinfo is None:
        starts_at = starts_at.replace(tzinfo=ZoneInfo(clinic.timezone))
    return starts_at.astimezone(UTC)


def _clinic(db: Session, office: Office, ref: str, current_id: int | None) -> Clinic:
    """By name (case does not matter), else by id; a deactivated clinic only for an appointment already there."""
    clinics = db.scalars(select(Clinic).where(Clinic.office_id == office.id)).all()
    found = [c for c in clinics if c.name.casefold() == ref.casefold()] or [c for c in clinics if str(c.id) == ref]
    return _the_one("clinic", ref, found, current_id, hint="; use the clinic's id")


def _provider(db: Session, office: Office, ref: str, current_id: int | None) -> Provider:
    """By name, with or without title ("Maria Chen", "Dr. Maria Chen"); active ones first."""
    key = ref.casefold()
    providers = db.scalars(select(Provider).where(Provider.office_id == office.id)).all()
    found = [p for p in providers if key in (p.name.casefold(), p.display_name.casefold())]
    return _the_one("provider", ref, found, current_id)


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
