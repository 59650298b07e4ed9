"""Joining and leaving the waitlist: from the staff pages, the JSON API, and a patient's "3" (reschedule) answer.

An entry with an appointment moves that appointment when an offer is taken; while the appointment is still
wanted (scheduled or confirmed) only an earlier time is offered, and after a reschedule request any time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .. import audit, booking
from ..models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    Clinic,
    EntrySource,
    EntryStatus,
    Office,
    Patient,
    Provider,
    SlotStatus,
    WaitlistEntry,
    WaitlistSlot,
    utcnow,
)
from ..refusals import Refusal, Refused, referenced
from .config import settings_of
from .matching import Wish


@dataclass(frozen=True)
class Join:
    """What a patient waits for; None (or no weekdays) means any."""

    patient_id: int
    clinic_id: int | None = None
    provider_id: int | None = None
    kind: str | None = None
    earliest_date: date | None = None
    latest_date: date | None = None
    weekdays: tuple[int, ...] = field(default_factory=tuple)
    day_starts: time | None = None
    day_ends: time | None = None
    appointment_id: int | None = None  # the patient's appointment to move when an offer is taken


def _check(db: Session, office: Office, wish: Join) -> dict[str, Any]:
    """The entry's values, its patient, clinic, provider and appointment checked to be the office's."""
    patient = referenced(db, Patient, wish.patient_id, office.id, "patient_id", "patient")
    if wish.clinic_id is not None:
        clinic = referenced(db, Clinic, wish.clinic_id, office.id, "clinic_id", "clinic")
        if not clinic.active:
            raise Refused("clinic_id", f"clinic {clinic.id} is deactivated")
    if wish.provider_id is not None:
        provider = referenced(db, Provider, wish.provider_id, office.id, "provider_id", "provider")
        if not provider.active:
            raise Refused("provider_id", f"provider {provider.id} is deactivated")
    if wish.kind is not None and wish.kind not in set(AppointmentKind):
        raise Refused("kind", "must be in-person or telehealth")
    if wish.earliest_date and wish.latest_date and wish.latest_date < wish.earliest_date:
        raise Refused("latest_date", "must not be before earliest_date")
    if any(not 0 <= day <= 6 for day in wish.weekdays):
        raise Refused("weekdays", "days are 0 (Monday) to 6 (Sunday)")
    if wish.day_starts and wish.day_ends and wish.day_ends <= wish.day_starts:
        raise Refused("day_ends", "must be after day_starts")
    if wish.appointment_id is not None:
        appointment = referenced(db, Appointment, wish.appointment_id, office.id, "appointment_id", "appointment")
        if appointment.patient_id != patient.id:
            raise Refused("appointment_id", f"appointment {appointment.id} is another patient's")
        if appointment.status not in booking.HOLDS_ITS_TIME:
            raise Refused("appointment_id", f"appointment {appointment.id} is {appointment.status}", Refusal.CONFLICT)
    values = dict(vars(wish))
    values["weekdays"] = sorted(set(wish.weekdays))
    return values


def join(
    db: Session, office: Office, wish: Join, actor: str, source: EntrySource, event_id: int | None = None
) -> WaitlistEntry:
    """`event_id`: the outbox event it was made for (a "3" answer), at most one entry each."""
    values = _check(db, office, wish)
    settings_of(db, office)  # the outbox is read for this office from now on
    entry = WaitlistEntry(
        office_id=office.id, source=source, status=EntryStatus.WAITING, created_by=actor, event_id=event_id, **values
    )
    db.add(entry)
    db.flush()
    wake_slots(db, office)
    audit.record(db, office.id, actor, "waitlist_join", "patient", entry.patient_id, entry_id=entry.id, source=source)
    return entry


def wake_slots(db: Session, office: Office) -> None:
    """Open slots waiting for someone new (waves.prepare) get a wave at once: the new entry may suit them."""
    now = utcnow()
    db.execute(
        update(WaitlistSlot)
        .where(
            WaitlistSlot.office_id == office.id,
            WaitlistSlot.status == SlotStatus.OPEN,
            WaitlistSlot.next_wave_at > now,
            WaitlistSlot.closes_at > now,
        )
        .values(next_wave_at=now)
        .execution_options(synchronize_session=False)
    )


def waiting_for(db: Session, appointment: Appointment) -> WaitlistEntry | None:
    return db.scalar(
        select(WaitlistEntry).where(
            WaitlistEntry.appointment_id == appointment.id, WaitlistEntry.status == EntryStatus.WAITING
        )
    )


def for_appointment(
    db: Session,
    office: Office,
    appointment: Appointment,
    actor: str,
    source: EntrySource,
    event_id: int | None = None,
) -> WaitlistEntry:
    """One click on the schedule: the patient waits for another time with the same clinic, provider and kind,
    from today on, and their appointment moves when they take one. Joining twice gives the same entry."""
    found = waiting_for(db, appointment)
    if found is not None:
        return found
    today = datetime.now(ZoneInfo(appointment.clinic.timezone)).date()
    wish = Join(
        patient_id=appointment.patient_id,
        clinic_id=appointment.clinic_id,
        provider_id=appointment.provider_id,
        kind=appointment.kind,
        earliest_date=today,
        appointment_id=appointment.id,
    )
    return join(db, office, wish, actor, source, event_id)


def remove(db: Session, office: Office, entry: WaitlistEntry, actor: str) -> WaitlistEntry:
    if entry.office_id != office.id:
        raise Refused("", f"no waitlist entry {entry.id}", Refusal.NOT_FOUND)
    if entry.status == EntryStatus.WAITING:
        entry.status = EntryStatus.REMOVED
        audit.record(db, office.id, actor, "waitlist_leave", "patient", entry.patient_id, entry_id=entry.id)
    return entry


def wish_of(entry: WaitlistEntry, appointment: Appointment | None) -> Wish:
    """The entry as matching reads it; `appointment` is the one it would move (loaded by the caller)."""
    keeps = appointment is not None and appointment.status in (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED)
    return Wish(
        clinic_id=entry.clinic_id,
        provider_id=entry.provider_id,
        kind=entry.kind,
        earliest=entry.earliest_date,
        latest=entry.latest_date,
        weekdays=tuple(entry.weekdays or ()),
        day_starts=entry.day_starts,
        day_ends=entry.day_ends,
        current_start=appointment.starts_at if keeps and appointment is not None else None,
    )
