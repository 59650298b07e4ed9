"""The one path by which staff add, change and delete patients: the JSON API and the staff pages both call it.

A new patient's consent starts withheld and is then given through `patient_changes`, so that the consent taken
at the desk is a consent event that says who recorded it, like every later consent or opt-out change. A number
Twilio refused is used again only when the change asks for it (`retry`); the patient's upcoming reminders are
then re-planned. Nothing is committed here: the caller commits, or rolls back on `PatientError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from . import audit
from .models import Appointment, Patient, StaffUser
from .patient_changes import apply_consents, retry_refused, set_phones, why_not_retry
from .refusals import Refusal, Refused

if TYPE_CHECKING:  # the API's schemas validate what staff type; importing them at run time would be circular
    from .web.api.schemas.patients import PatientCreate, PatientUpdate

CONSENT_FIELDS = frozenset({"sms_consent", "voice_consent", "sms_opted_out", "voice_opted_out"})
NULLABLE = frozenset({"date_of_birth", "external_id"})


class PatientError(Refused):
    """The change cannot be made; `field` names the input at fault."""


def _actor(user: StaffUser) -> str:
    return f"user:{user.id}"


def _consent_source(user: StaffUser) -> str:
    return f"staff:{user.id}"


def _check_external_id(db: Session, office_id: int, external_id: str | None, patient_id: int | None) -> None:
    if external_id is None:
        return
    stmt = select(Patient.id).where(Patient.office_id == office_id, Patient.external_id == external_id)
    other = db.scalar(stmt)
    if other is not None and other != patient_id:
        raise PatientError("external_id", f"patient {other} already has this external id", Refusal.CONFLICT)


def add(db: Session, office_id: int, body: PatientCreate, user: StaffUser) -> Patient:
    _check_external_id(db, office_id, body.external_id, None)
    values = body.model_dump(exclude=set(CONSENT_FIELDS | {"phones"}))
    patient = Patient(office_id=office_id, sms_consent=False, voice_consent=False, **values)
    set_phones(patient, body.phones)
    db.add(patient)
    db.flush()
    apply_consents(db, patient, body.model_dump(include=set(CONSENT_FIELDS)), _consent_source(user))
    audit.record(db, office_id, _actor(user), "create", "patient", patient.id)
    return patient


def change(db: Session, patient: Patient, body: PatientUpdate, user: StaffUser) -> Patient:
    """Only the fields `body` sets change; `phones`, when set, replaces the list (see PatientUpdate)."""
    values = body.model_dump(exclude_unset=True)
    for name, value in values.items():
        if value is None and name not in NULLABLE:
            raise PatientError(name, "may not be null; leave the field out to keep it")
    if "external_id" in values:
        _check_external_id(db, patient.office_id, values["external_id"], patient.id)
    retries: list[str] = []
    for position, phone in enumerate(body.phones or ()):
        if phone.retry:
            if problem := why_not_retry(patient, phone.number):
                raise PatientError(f"phones.{position}.retry", problem)
            retries.append(phone.number)
    consents = {name: values.pop(name) for name in CONSENT_FIELDS & values.keys()}
    values.pop("phones", None)
    changed = sorted(name for name, value in values.items() if getattr(patient, name) != value)
    for name in changed:
        setattr(patient, name, values[name])
    if body.phones is not None and set_phones(patient, body.phones):
        changed.append("phones")
    changed += apply_consents(db, patient, consents, _consent_source(user))
    if changed:
        audit.record(db, patient.office_id, _actor(user), "update", "patient", patient.id, fields=sorted(changed))
    retry_refused(db, patient, retries, _actor(user))
    return patient


def delete(db: Session, patient: Patient, user: StaffUser) -> None:
    """Only a patient without any appointment (a mistaken entry) can go; others keep their history."""
    if db.scalar(select(exists().where(Appointment.patient_id == patient.id))):
        message = f"patient {patient.id} has appointments and cannot be deleted; cancel them instead"
        raise PatientError("patient", message, Refusal.CONFLICT)
    db.delete(patient)
    audit.record(db, patient.office_id, _actor(user), "delete", "patient", patient.id)
