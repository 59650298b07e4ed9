"""Reading the events outbox for the waitlist: a cancellation frees a slot, a reinstated appointment takes it back,
and a patient's "3" joins the waitlist when the office wants it. Nothing here hooks into a write path.

The cursor is each office's `event_cursor`. On PostgreSQL two transactions can commit their events out of id
order, so every read goes `REREAD` ids behind the cursor again; a slot or an entry is made once per event (it
is looked for first, and a unique index on its `event_id` stands behind that). Readers of one office take turns:
the first statement of a read writes the office's settings row, which holds it until the read commits. An
office with no new event, whose cursor last moved more than `SETTLED` ago, costs one indexed read a round.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..models import (
    Appointment,
    AppointmentStatus,
    EntrySource,
    Event,
    EventType,
    OfferStatus,
    Office,
    SlotStatus,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistSettings,
    WaitlistSlot,
    utcnow,
)
from . import entries
from .matching import closes_at

REREAD = 500  # ids read again behind the cursor
SETTLED = timedelta(minutes=1)  # after the cursor last moved, re-read even when nothing new came
BATCH = 1000  # new events per read
ACTOR = "waitlist"
_FREES = EventType.APPOINTMENT_CANCELLED
_TAKES_BACK = (EventType.APPOINTMENT_SCHEDULED, EventType.APPOINTMENT_CONFIRMED)
_JOINS = EventType.APPOINTMENT_RESCHEDULE_REQUESTED
_TYPES = (_FREES, *_TAKES_BACK, _JOINS)


def read(db: Session, office: Office, now: datetime) -> int:
    """Act on the office's new events; returns how many new ones were read."""
    seen = db.get(WaitlistSettings, office.id)
    if seen is None:
        return 0  # the office has not used the waitlist
    newest = db.scalar(select(func.max(Event.id)).where(Event.office_id == office.id)) or 0
    if newest <= seen.event_cursor and seen.updated_at < utcnow() - SETTLED:
        return 0  # nothing new, and the last new events are too old for a late commit to be behind them
    db.execute(  # readers of one office take turns; `updated_at` tells when the cursor last moved
        update(WaitlistSettings)
        .where(WaitlistSettings.office_id == office.id)
        .values(event_cursor=WaitlistSettings.event_cursor, updated_at=WaitlistSettings.updated_at)
        .execution_options(synchronize_session=False)
    )
    row = db.get(WaitlistSettings, office.id, populate_existing=True)
    assert row is not None
    low = max(row.events_from, row.event_cursor - REREAD)
    found = list(
        db.scalars(
            select(Event)
            .where(Event.office_id == office.id, Event.id > low, Event.type.in_(_TYPES))
            .order_by(Event.id)
            .limit(REREAD + BATCH)  # the stretch re-read holds at most REREAD: each read gets further
        )
    )
    new = [e for e in found if e.id > row.event_cursor]
    about = [e for e in found if e.appointment_id is not None]
    if row.enabled:
        _free_all(db, office, [e for e in about if e.type == _FREES], row.cutoff_hours, now)
    _take_back_all(db, [e for e in about if e.type in _TAKES_BACK], now)
    if row.join_on_reschedule:
        _join_all(db, office, [e for e in about if e.type == _JOINS])
    if new:
        row.event_cursor = new[-1].id
    return len(new)


def _free_all(db: Session, office: Office, found: list[Event], cutoff_hours: int, now: datetime) -> None:
    """One slot per cancellation not yet made one (the stretch re-read holds many that are)."""
    made = set(db.scalars(select(WaitlistSlot.event_id).where(WaitlistSlot.event_id.in_([e.id for e in found]))))
    for event in found:
        if event.id in made:
            continue
        appointment = db.get(Appointment, event.appointment_id)
        if appointment is None or appointment.status != AppointmentStatus.CANCELLED:
            continue  # deleted, or reinstated since (its own event says so)
        closes = closes_at(appointment.starts_at, cutoff_hours)
        if closes <= now:
            continue  # too late to offer
        db.add(
            WaitlistSlot(
                office_id=office.id,
                event_id=event.id,
                appointment_id=appointment.id,
                clinic_id=appointment.clinic_id,
                provider_id=appointment.provider_id,
                kind=appointment.kind,
                starts_at=appointment.starts_at,
                duration_minutes=appointment.duration_minutes,
                status=SlotStatus.OPEN,
                closes_at=closes,
                next_wave_at=now,
                waves=0,
            )
        )
    db.flush()


def _take_back_all(db: Session, found: list[Event], now: datetime) -> None:
    """A cancelled appointment that holds its time again: its slot is no longer free, and its offers close."""
    if not found:
        return
    latest: dict[int, int] = {}
    for event in found:
        assert event.appointment_id is not None
        latest[event.appointment_id] = max(event.id, latest.get(event.appointment_id, 0))
    slots = db.scalars(
        select(WaitlistSlot).where(
            WaitlistSlot.appointment_id.in_(list(latest)), WaitlistSlot.status == SlotStatus.OPEN
        )
    )
    for slot in slots:
        if slot.event_id < latest[slot.appointment_id]:
            close(db, slot, SlotStatus.TAKEN, "the appointment was reinstated", now)


def close(db: Session, slot: WaitlistSlot, status: SlotStatus, reason: str, now: datetime) -> None:
    """The slot is no longer offered; offers still open are closed with it, and the patients they kept busy may
    be offered other slots at once."""
    slot.status, slot.reason = status, reason
    closed = db.execute(
        update(WaitlistOffer)
        .where(WaitlistOffer.slot_id == slot.id, WaitlistOffer.status == OfferStatus.OPEN)
        .values(status=OfferStatus.CLOSED)
        .returning(WaitlistOffer.id)
        .execution_options(synchronize_session=False)
    )
    if closed.first() is not None:
        _wake_waiting_on_busy(db, slot.office_id, now)


def _wake_waiting_on_busy(db: Session, office_id: int, now: datetime) -> None:
    """Slots whose next wave is further off than one wave's pace wait for a busy patient's offer to close (or for
    the allowed hours, which their wave looks up again): they get a wave now. Paced slots keep their pace."""
    row = db.get(WaitlistSettings, office_id)
    pace = timedelta(minutes=row.wave_minutes if row else 0)
    db.execute(
        update(WaitlistSlot)
        .where(
            WaitlistSlot.office_id == office_id,
            WaitlistSlot.status == SlotStatus.OPEN,
            WaitlistSlot.next_wave_at > now + pace,
            WaitlistSlot.closes_at > now,
        )
        .values(next_wave_at=now)
        .execution_options(synchronize_session=False)
    )


def _join_all(db: Session, office: Office, found: list[Event]) -> None:
    made = set(db.scalars(select(WaitlistEntry.event_id).where(WaitlistEntry.event_id.in_([e.id for e in found]))))
    for event in found:
        if event.id in made:
            continue
        appointment = db.get(Appointment, event.appointment_id)
        if appointment is not None and appointment.status == AppointmentStatus.RESCHEDULE_REQUESTED:
            entries.for_appointment(db, office, appointment, ACTOR, EntrySource.RESCHEDULE, event.id)
