"""An outbox event as destinations receive it (`transports.Payload`, version 1).

The event's own facts win: an appointment's status is the one the event tells of, so a retry days later still
says "confirmed" after the visit was completed. The identifiers the receiver matches on (its own appointment and
patient ids, the clinic and provider) come from the rows as they are now.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from .. import pms_codes
from ..models import Appointment, Event, Patient
from .transports import AppointmentData, PatientData, Payload

VERSION = 1
_APPOINTMENT_STATUS_EVENT = "appointment."


def build(db: Session, event: Event) -> Payload:
    appointment = db.get(Appointment, event.appointment_id) if event.appointment_id is not None else None
    patient_id = event.patient_id if event.patient_id is not None else getattr(appointment, "patient_id", None)
    patient = db.get(Patient, patient_id) if patient_id is not None else None
    return {
        "id": event_id(event.id),
        "type": event.type,
        "version": VERSION,
        "created_at": iso(event.created_at),
        "office_id": event.office_id,
        "data": {
            "appointment": _appointment(db, appointment, event) if appointment is not None else None,
            "patient": _patient(patient) if patient is not None else None,
            "reminder_id": event.reminder_id,
            "message_id": event.message_id,
            "details": dict(event.payload),
        },
    }


def prefetch(db: Session, events: list[Event]) -> list[object]:
    """Load the rows `build` reads for these events in two queries, rather than a few for each event. The
    session holds rows weakly: keep what this returns while building."""
    appointment_ids = {e.appointment_id for e in events if e.appointment_id is not None}
    appointments = db.scalars(
        select(Appointment)
        .where(Appointment.id.in_(appointment_ids))
        .options(joinedload(Appointment.clinic), joinedload(Appointment.provider))
    ).all()
    patient_ids = {e.patient_id for e in events if e.patient_id is not None} | {a.patient_id for a in appointments}
    patients = db.scalars(select(Patient).where(Patient.id.in_(patient_ids))).all()
    return [*appointments, *patients]


def event_id(event_pk: int) -> str:
    """The id receivers de-duplicate on (`webhook-id`, HL7 MSH-10, FHIR meta tag): one per event, every retry."""
    return f"evt_{event_pk}"


def _appointment(db: Session, appointment: Appointment, event: Event) -> AppointmentData:
    status = appointment.status
    if event.type.startswith(_APPOINTMENT_STATUS_EVENT):
        told = event.type.removeprefix(_APPOINTMENT_STATUS_EVENT)
        if told not in {"created", "moved", "updated"}:
            status = told
    provider, clinic_id = appointment.provider, appointment.clinic_id
    code_of = partial(pms_codes.code_of, db, appointment.office_id)
    return {
        "id": appointment.id,
        "external_id": appointment.external_id,
        "status": status,
        "starts_at": iso(appointment.starts_at),
        "duration_minutes": appointment.duration_minutes,
        "kind": appointment.kind,
        "clinic": {"id": appointment.clinic.id, "name": appointment.clinic.name, "code": code_of(clinic_id=clinic_id)},
        "provider": (
            {"id": provider.id, "name": provider.name, "code": code_of(provider_id=provider.id)}
            if provider is not None
            else None
        ),
    }


def _patient(patient: Patient) -> PatientData:
    return {
        "id": patient.id,
        "external_id": patient.external_id,
        "family_name": patient.last_name,
        "given_name": patient.first_name,
        "sms_opted_out": patient.sms_opted_out_at is not None,
        "voice_opted_out": patient.voice_opted_out_at is not None,
    }


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
