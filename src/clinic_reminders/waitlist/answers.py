"""A patient's YES to a waitlist offer (when `conversations.answered_text` finds the offer their newest text): the
first YES books the slot through `booking`, later ones are told kindly that it was just taken.

Two YESes at the same instant never both win: one conditional UPDATE moves the slot from open to filled, and the
database lets exactly one transaction do it (on PostgreSQL the second waits for the first to commit and then
finds the slot filled; SQLite has one writer). A partial unique index on accepted offers stands behind it. The
patient's old appointment, if their entry has one that still holds its time, is moved, not duplicated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from .. import booking
from ..models import (
    Appointment,
    AppointmentStatus,
    EntryStatus,
    OfferStatus,
    SlotStatus,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistSlot,
)
from ..phones import display
from .freed import close
from .texts import Answer, answer_text

ACTOR = "patient:waitlist"
_ENDS_THE_SLOT = {booking.PROVIDER_BUSY, booking.PAST}  # booked another way, or too late


@dataclass(frozen=True)
class Taken:
    text: str
    appointment_id: int | None  # the appointment booked (or moved), when this YES won


def take(db: Session, offer: WaitlistOffer, now: datetime) -> Taken:
    slot = offer.slot
    if offer.status == OfferStatus.ACCEPTED:  # the same YES again: the same answer
        return Taken(_text(Answer.BOOKED, offer), slot.filled_appointment_id)
    if offer.status != OfferStatus.OPEN or offer.expires_at <= now or not _fill(db, slot, now):
        return _too_late(db, offer, now)
    try:
        appointment = _book(db, offer, slot)
    except booking.NeedsConfirmation as exc:  # raised before booking writes anything
        kinds = {concern.kind for concern in exc.concerns}
        if kinds & _ENDS_THE_SLOT:
            close(db, slot, SlotStatus.TAKEN, "the provider was booked then another way", now)
        else:
            slot.status = SlotStatus.OPEN  # this patient cannot come then; others still may
        return _too_late(db, offer, now)
    offer.status, offer.answered_at = OfferStatus.ACCEPTED, now
    db.flush()  # before the other offers of the slot are closed
    close(db, slot, SlotStatus.FILLED, "taken from the waitlist", now)
    slot.filled_appointment_id = appointment.id
    _booked(db, offer.entry, appointment)
    return Taken(_text(Answer.BOOKED, offer), appointment.id)


def _fill(db: Session, slot: WaitlistSlot, now: datetime) -> bool:
    """The one statement that decides: open -> filled, for one transaction only."""
    won = db.execute(
        update(WaitlistSlot)
        .where(WaitlistSlot.id == slot.id, WaitlistSlot.status == SlotStatus.OPEN, WaitlistSlot.closes_at > now)
        .values(status=SlotStatus.FILLED)
        .returning(WaitlistSlot.id)
        .execution_options(synchronize_session=False)
    )
    if won.first() is None:
        return False
    slot.status = SlotStatus.FILLED
    return True


def _book(db: Session, offer: WaitlistOffer, slot: WaitlistSlot) -> Appointment:
    entry = offer.entry
    changes = {
        "starts_at": slot.starts_at,
        "duration_minutes": slot.duration_minutes,
        "clinic": slot.clinic,
        "provider": slot.provider,
        "kind": slot.kind,
    }
    old = db.get(Appointment, entry.appointment_id) if entry.appointment_id is not None else None
    if old is not None and old.patient_id == offer.patient_id and old.status in booking.HOLDS_ITS_TIME:
        booking.move(db, old, changes, ACTOR)
        booking.set_status(db, old, AppointmentStatus.CONFIRMED, ACTOR)  # they said YES to this time
        return old
    new = Appointment(
        office_id=offer.office_id,
        patient=offer.patient,
        status=AppointmentStatus.CONFIRMED,
        status_changed_by=ACTOR,
        **changes,
    )
    return booking.book(db, new, ACTOR)


def _booked(db: Session, entry: WaitlistEntry, appointment: Appointment) -> None:
    """The entry is done, and so are the patient's other entries for the same appointment (or for none)."""
    same = (
        WaitlistEntry.appointment_id.is_(None)
        if entry.appointment_id is None
        else WaitlistEntry.appointment_id == entry.appointment_id
    )
    db.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.patient_id == entry.patient_id, WaitlistEntry.status == EntryStatus.WAITING, same)
        .values(status=EntryStatus.BOOKED, booked_appointment_id=appointment.id)
        .execution_options(synchronize_session=False)
    )
    entry.status, entry.booked_appointment_id = EntryStatus.BOOKED, appointment.id


def _too_late(db: Session, offer: WaitlistOffer, now: datetime) -> Taken:
    """Told kindly; an offer another YES of the same patient has just won keeps its status."""
    db.execute(
        update(WaitlistOffer)
        .where(WaitlistOffer.id == offer.id, WaitlistOffer.status != OfferStatus.ACCEPTED)
        .values(status=OfferStatus.TOO_LATE, answered_at=now)
        .execution_options(synchronize_session=False)
    )
    return Taken(_text(Answer.TOO_LATE, offer), None)


def _text(kind: Answer, offer: WaitlistOffer) -> str:
    slot = offer.slot
    return answer_text(
        kind,
        offer.patient.language,
        starts_at=slot.starts_at,
        zone=slot.clinic.timezone,
        clinic=slot.clinic.name,
        provider=slot.provider.display_name if slot.provider else "",
        phone=display(slot.clinic.phone),
    )
