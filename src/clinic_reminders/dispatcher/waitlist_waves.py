"""A freed slot's next wave: which waiting patients are offered it, and their offers and texts, written in one
transaction that the sender commits before calling Twilio.

A wave is claimed by one conditional UPDATE (the slot's `next_wave_at` must still be due), so two dispatchers
never offer the same wave; a patient is offered a slot once at most (a unique index), so no text goes twice.
Before a patient is chosen, `booking.concerns` is asked as a booking would be: the provider booked then means
the slot went another way; the patient's own visit then, or this very booking, leaves them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from .. import booking
from ..conversations.staff_sms import Draft
from ..effective import TwilioConfig
from ..models import (
    Appointment,
    EntryStatus,
    OfferStatus,
    Office,
    Patient,
    SlotStatus,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistSettings,
    WaitlistSlot,
)
from ..planning import patient_zone, window_of
from ..waitlist.entries import wish_of
from ..waitlist.freed import close
from ..waitlist.matching import Candidate, Opening, next_wave_at, offer_expires, suits, wave
from ..waitlist.texts import offer_text
from . import outreach

DUE_PER_ROUND = 20
_LEAVES_OUT = {booking.PATIENT_BUSY, booking.DUPLICATE}  # the patient's own visit then


def due(db: Session, now: datetime) -> list[int]:
    return list(
        db.scalars(
            select(WaitlistSlot.id)
            .where(
                WaitlistSlot.status == SlotStatus.OPEN,
                WaitlistSlot.next_wave_at <= now,
                WaitlistSlot.closes_at > now,
            )
            .order_by(WaitlistSlot.next_wave_at, WaitlistSlot.id)
            .limit(DUE_PER_ROUND)
        )
    )


def claim(db: Session, slot_id: int, now: datetime, wave_minutes: int) -> bool:
    """This dispatcher offers the slot's wave that is due; False when another one took it."""
    claimed = db.execute(
        update(WaitlistSlot)
        .where(WaitlistSlot.id == slot_id, WaitlistSlot.status == SlotStatus.OPEN, WaitlistSlot.next_wave_at <= now)
        .values(next_wave_at=now + timedelta(minutes=wave_minutes))
        .returning(WaitlistSlot.id)
        .execution_options(synchronize_session=False)
    )
    return claimed.first() is not None


@dataclass(frozen=True)
class Found:
    """The waiting patients a slot suits, in the order they joined; how to text those who can be; and when the
    first open offer of another slot that keeps one of them busy closes."""

    candidates: list[Candidate]
    how: dict[int, tuple[WaitlistEntry, outreach.Reachable]]
    busy_until: datetime | None


def _candidates(db: Session, office: Office, config: TwilioConfig, slot: WaitlistSlot, now: datetime) -> Found:
    """The database leaves out those offered the slot already and those whose clinic, provider or kind differ;
    `suits` does the rest."""
    clinic = slot.clinic
    day = slot.starts_at.astimezone(ZoneInfo(clinic.timezone)).date()
    offered = select(WaitlistOffer.patient_id).where(WaitlistOffer.slot_id == slot.id)
    waiting = list(
        db.scalars(
            select(WaitlistEntry)
            .where(
                WaitlistEntry.office_id == office.id,
                WaitlistEntry.status == EntryStatus.WAITING,
                WaitlistEntry.patient_id.not_in(offered),
                or_(WaitlistEntry.clinic_id.is_(None), WaitlistEntry.clinic_id == slot.clinic_id),
                or_(WaitlistEntry.provider_id.is_(None), WaitlistEntry.provider_id == slot.provider_id),
                or_(WaitlistEntry.kind.is_(None), WaitlistEntry.kind == slot.kind),
                or_(WaitlistEntry.earliest_date.is_(None), WaitlistEntry.earliest_date <= day),
                or_(WaitlistEntry.latest_date.is_(None), WaitlistEntry.latest_date >= day),
            )
            .options(selectinload(WaitlistEntry.patient).selectinload(Patient.phones))
            .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
        )
    )
    moving = [e.appointment_id for e in waiting if e.appointment_id is not None]
    appointments = {a.id: a for a in db.scalars(select(Appointment).where(Appointment.id.in_(moving)))}
    freed_by = db.scalar(select(Appointment.patient_id).where(Appointment.id == slot.appointment_id))
    open_elsewhere: dict[int, datetime] = {
        patient_id: closes
        for patient_id, closes in db.execute(
            select(WaitlistOffer.patient_id, func.min(WaitlistOffer.expires_at))
            .where(WaitlistOffer.status == OfferStatus.OPEN, WaitlistOffer.expires_at > now)
            .group_by(WaitlistOffer.patient_id)
        )
    }
    texts_from = outreach.sender(db, office, config, clinic)
    opening = Opening(
        slot.clinic_id, slot.provider_id, slot.kind, slot.starts_at, slot.duration_minutes, ZoneInfo(clinic.timezone)
    )
    found: list[Candidate] = []
    how: dict[int, tuple[WaitlistEntry, outreach.Reachable]] = {}
    busy_until: list[datetime] = []
    for entry in waiting:
        patient = entry.patient
        if patient.id == freed_by:
            continue
        moved = appointments.get(entry.appointment_id) if entry.appointment_id is not None else None
        if not suits(wish_of(entry, moved), opening):
            continue
        reach = outreach.reachable(patient, texts_from) if isinstance(texts_from, outreach.Sender) else texts_from
        found.append(
            Candidate(
                entry.id,
                patient.id,
                patient_zone(patient, clinic),
                reachable=isinstance(reach, outreach.Reachable),
                busy=patient.id in open_elsewhere,
            )
        )
        if patient.id in open_elsewhere:
            busy_until.append(open_elsewhere[patient.id])
        if isinstance(reach, outreach.Reachable):
            how[entry.id] = (entry, reach)
    return Found(found, how, min(busy_until, default=None))


def prepare(
    db: Session, office: Office, row: WaitlistSettings, config: TwilioConfig, slot: WaitlistSlot, now: datetime
) -> list[Draft]:
    """The wave's offers and texts (flushed); the slot's next wave is set. Called on a claimed slot."""
    found = _candidates(db, office, config, slot, now)
    candidates, how = found.candidates, found.how
    if not candidates:  # everyone it suits has been offered it: it waits for someone new to join
        slot.next_wave_at = slot.closes_at
        return []
    window = window_of(office)
    left_out: set[int] = set()
    while True:
        chosen = wave([c for c in candidates if c.entry_id not in left_out], row.wave_size, now, window)
        warned = {c.entry_id: _concerns(db, slot, how[c.entry_id][0]) for c in chosen.chosen}
        if any(booking.PROVIDER_BUSY in kinds for kinds in warned.values()):
            close(db, slot, SlotStatus.TAKEN, "the provider was booked then another way", now)
            return []
        clashing = {entry_id for entry_id, kinds in warned.items() if kinds & _LEAVES_OUT}
        if not clashing:
            break
        left_out |= clashing
    slot.next_wave_at = next_wave_at(
        now, row.wave_minutes, chosen.opens_at, slot.closes_at, offered=bool(chosen.chosen), busy_until=found.busy_until
    )
    if not chosen.chosen:
        return []
    slot.waves += 1
    expires = offer_expires(now, slot.closes_at, row.offer_minutes)
    drafts = []
    for candidate in chosen.chosen:
        entry, reach = how[candidate.entry_id]
        patient = entry.patient
        body = offer_text(
            patient.language,
            starts_at=slot.starts_at,
            zone=slot.clinic.timezone,
            clinic=slot.clinic.name,
            provider=slot.provider.display_name if slot.provider else "",
        )
        draft = outreach.write(db, office, config, patient, reach, body)
        db.add(
            WaitlistOffer(
                office_id=office.id,
                slot_id=slot.id,
                entry_id=entry.id,
                patient_id=patient.id,
                message_id=draft.message_id,
                wave=slot.waves,
                status=OfferStatus.OPEN,
                expires_at=expires,
                created_at=now,  # the dispatcher's clock, as the expiry
            )
        )
        drafts.append(draft)
    db.flush()
    return drafts


def _concerns(db: Session, slot: WaitlistSlot, entry: WaitlistEntry) -> set[str]:
    """What booking the patient into the slot would be warned of (their own appointment moving is no clash)."""
    target = booking.Slot(
        office_id=slot.office_id,
        clinic=slot.clinic,
        patient_id=entry.patient_id,
        provider=slot.provider,
        starts_at=slot.starts_at,
        duration_minutes=slot.duration_minutes,
        appointment_id=entry.appointment_id,
    )
    return {concern.kind for concern in booking.concerns(db, target)}
