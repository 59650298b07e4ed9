"""No-shows read from the events outbox become follow-ups due a set time later; whether one still applies when it
is due. Nothing here hooks into a write path: a visit marked no-show on the schedule, by HL7 S26 or by FHIR
`noshow` goes through `booking`, which writes `appointment.no-show`, and that event is all this reads.

The cursor is each office's `event_cursor`, read as `waitlist.freed` reads its own: `REREAD` ids behind it again
for PostgreSQL's out-of-order commits, a follow-up made once per event (looked for first, a unique `event_id`
behind that), and readers of one office taking turns on the office's settings row.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .. import booking
from ..models import (
    Appointment,
    AppointmentStatus,
    Event,
    EventType,
    FollowupSettings,
    FollowupStatus,
    NoshowFollowup,
    Office,
    utcnow,
)

REREAD = 500  # ids read again behind the cursor
SETTLED = timedelta(minutes=1)  # after the cursor last moved, re-read even when nothing new came
BATCH = 1000
# A "we missed you" later than this after the visit reads as out of the blue.
GIVE_UP_AFTER = timedelta(days=3)


def read(db: Session, office: Office) -> None:
    """Follow-ups for the office's new no-shows."""
    seen = db.get(FollowupSettings, office.id)
    if seen is None:
        return
    newest = db.scalar(select(func.max(Event.id)).where(Event.office_id == office.id)) or 0
    if newest <= seen.event_cursor and seen.updated_at < utcnow() - SETTLED:
        return  # nothing new, and the last new events are too old for a late commit to be behind them
    db.execute(  # readers of one office take turns; `updated_at` tells when the cursor last moved
        update(FollowupSettings)
        .where(FollowupSettings.office_id == office.id)
        .values(event_cursor=FollowupSettings.event_cursor, updated_at=FollowupSettings.updated_at)
        .execution_options(synchronize_session=False)
    )
    row = db.get(FollowupSettings, office.id, populate_existing=True)
    assert row is not None
    low = max(row.events_from, row.event_cursor - REREAD)
    found = list(
        db.scalars(
            select(Event)
            .where(
                Event.office_id == office.id,
                Event.id > low,
                Event.id <= newest,
                Event.type == EventType.APPOINTMENT_NO_SHOW,
            )
            .order_by(Event.id)
            .limit(BATCH)
        )
    )
    if row.noshow_enabled:
        _follow_up_all(db, row, found)
    # The cursor passes every event up to `newest` (no-shows are rare: it must not wait at the last one), or
    # only the last one read when the page was full.
    cursor = found[-1].id if len(found) == BATCH else newest
    row.event_cursor = max(row.event_cursor, cursor)


def _follow_up_all(db: Session, row: FollowupSettings, found: list[Event]) -> None:
    made = set(db.scalars(select(NoshowFollowup.event_id).where(NoshowFollowup.event_id.in_([e.id for e in found]))))
    for event in found:
        if event.id in made or event.appointment_id is None:
            continue
        appointment = db.get(Appointment, event.appointment_id)
        if appointment is None:
            continue  # deleted since
        db.add(
            NoshowFollowup(
                office_id=row.office_id,
                event_id=event.id,
                appointment_id=appointment.id,
                patient_id=appointment.patient_id,
                marked_at=event.created_at,
                due_at=event.created_at + timedelta(minutes=row.noshow_delay_minutes),
                status=FollowupStatus.WAITING,
            )
        )
    db.flush()


def not_wanted(db: Session, followup: NoshowFollowup, now: datetime) -> str | None:
    """Why the follow-up no longer applies (words for staff, no PHI), or None."""
    appointment = db.get(Appointment, followup.appointment_id)
    if appointment is None or appointment.status != AppointmentStatus.NO_SHOW:
        return "the visit is no longer marked as a no-show"
    if now - appointment.starts_at > GIVE_UP_AFTER:  # marked late, or the dispatcher was down
        return "too long after the visit"
    rebooked = db.scalar(
        select(Appointment.id).where(
            Appointment.patient_id == followup.patient_id,
            Appointment.id != appointment.id,
            Appointment.status.in_(booking.HOLDS_ITS_TIME),
            (Appointment.starts_at > appointment.starts_at) | (Appointment.created_at >= followup.marked_at),
        )
    )
    return "the patient has booked again" if rebooked is not None else None
