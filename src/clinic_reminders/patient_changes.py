"""Writing a patient's phones and consent: the parts of a patient change that need more than setattr.

Shared by the JSON API and the schedule imports. Consent and opt-out changes are kept as `ConsentEvent` rows
(who, when, which channel) because a carrier or a regulator may ask why a patient was or was not texted.

A number Twilio refused (not a valid number, or a region the account may not reach) is marked invalid by
`conversations.delivery.act_on_error`, and reminders skip it. Staff lift the mark with `retry_refused` once the
cause is fixed (geo permissions enabled at Twilio, or the mark was wrong): the number keeps its row and history.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, booking
from .conversations import consent as consent_log
from .models import (
    ACTIVE_STATUSES,
    Appointment,
    Channel,
    ConsentAction,
    Patient,
    PatientPhone,
    PhoneKind,
    utcnow,
)
from .phones import guess_kind


class PhoneEntry(Protocol):
    """A number in E.164 and its kind, when known (the API's `PhoneIn`, an import's phone)."""

    @property
    def number(self) -> str: ...

    @property
    def kind(self) -> PhoneKind | None: ...


def set_phones(patient: Patient, phones: Sequence[PhoneEntry]) -> bool:
    """Replaces the list in order; a number kept keeps its row (and its invalid mark). True if anything changed."""
    before = [(p.number, p.kind) for p in patient.phones]
    existing = {p.number: p for p in patient.phones}
    rows: list[PatientPhone] = []
    for position, phone in enumerate(phones):
        kind = str(phone.kind or guess_kind(phone.number))
        row = existing.get(phone.number) or PatientPhone(office_id=patient.office_id, number=phone.number)
        if phone.kind is not None or row.id is None:
            row.kind = kind
        row.position = position
        rows.append(row)
    patient.phones = rows
    return before != [(p.number, p.kind) for p in rows]


def why_not_retry(patient: Patient, number: str) -> str | None:
    """Why Twilio's refusal of `number` (E.164) cannot be lifted for `patient`, or None when it can.

    The messages name no number: they end up in API answers and next to a form field."""
    phone = next((p for p in patient.phones if p.number == number), None)
    if phone is None:
        return "not one of this patient's numbers yet; only a number Twilio refused can be tried again"
    if phone.invalid_at is None:
        return "Twilio has not refused this number; there is nothing to try again"
    return None


def retry_refused(db: Session, patient: Patient, numbers: Sequence[str], actor: str) -> list[int]:
    """Lifts Twilio's refusal of these numbers of `patient` (checked with `why_not_retry` first) and re-plans
    the patient's upcoming appointments, so that reminders skipped for want of a usable number are planned
    again. One audit entry per number, with the phone's id only. Returns the ids of the phones cleared."""
    cleared: list[int] = []
    for phone in patient.phones:
        if phone.number in numbers and phone.invalid_at is not None:
            phone.invalid_at, phone.invalid_reason = None, None
            audit.record(db, patient.office_id, actor, "retry_number", "patient", patient.id, phone_id=phone.id)
            cleared.append(phone.id)
    if cleared:
        replan_upcoming(db, patient)
    return cleared


def replan_upcoming(db: Session, patient: Patient) -> None:
    """Re-plans the reminders of the patient's appointments still to come, through `booking.replan`."""
    upcoming = db.scalars(
        select(Appointment)
        .where(
            Appointment.patient_id == patient.id,
            Appointment.status.in_(ACTIVE_STATUSES),
            Appointment.starts_at > utcnow(),
        )
        .order_by(Appointment.starts_at, Appointment.id)
    )
    for appointment in list(upcoming):
        booking.replan(db, appointment)


def set_consent(db: Session, patient: Patient, channel: Channel, consent: bool, source: str) -> bool:
    attr = f"{channel.value}_consent"
    if getattr(patient, attr) == consent:
        return False
    setattr(patient, attr, consent)
    consent_log.log_change(
        db, patient, channel, ConsentAction.CONSENT if consent else ConsentAction.WITHDRAW, source, utcnow()
    )
    return True


def set_opted_out(db: Session, patient: Patient, channel: Channel, opted_out: bool, source: str) -> bool:
    at_attr, source_attr = f"{channel.value}_opted_out_at", f"{channel.value}_opt_out_source"
    if (getattr(patient, at_attr) is not None) == opted_out:
        return False
    now = utcnow()
    setattr(patient, at_attr, now if opted_out else None)
    setattr(patient, source_attr, source if opted_out else None)
    consent_log.log_change(
        db, patient, channel, ConsentAction.OPT_OUT if opted_out else ConsentAction.OPT_IN, source, now
    )
    return True


def apply_consents(db: Session, patient: Patient, values: dict[str, object], source: str) -> list[str]:
    """Applies the consent/opt-out flags present in `values`; returns the names of those that changed."""
    changed: list[str] = []
    for channel in Channel:
        consent = values.get(f"{channel.value}_consent")
        if isinstance(consent, bool) and set_consent(db, patient, channel, consent, source):
            changed.append(f"{channel.value}_consent")
        opted_out = values.get(f"{channel.value}_opted_out")
        if isinstance(opted_out, bool) and set_opted_out(db, patient, channel, opted_out, source):
            changed.append(f"{channel.value}_opted_out")
    return changed
