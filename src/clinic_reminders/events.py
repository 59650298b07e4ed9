"""The outbox: one event per change, written in the change's own transaction, and read back in id order.

Each aggregate records its events from its one transition function (booking for appointments, reminder_states
for reminders, conversations.consent for opt-outs, conversations.delivery for delivery outcomes, the answer
handlers for what patients said), so a change and its event commit together or not at all. Write-back to the
practice-management system, waitlist offers and live pages read the outbox through `page` (`GET /api/events`);
nothing else hooks into the write paths.

The cursor is the event id. On PostgreSQL two transactions can commit their events out of id order, so a reader
that must see every event re-reads a short stretch behind its cursor, or waits until the writers it may overtake
are done; SQLite has one writer at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import BindParameter, Table, insert, literal, select
from sqlalchemy.orm import Session

from .models import Appointment, Event, EventType, Message

_EVENTS = cast(Table, Event.__table__)  # for one INSERT of many rows, Core costs less than the ORM
_APPOINTMENTS = cast(Table, Appointment.__table__)
_INSERT = insert(_EVENTS)  # built once: the hot path of every answer
_IDS_PER_STATEMENT = 900  # ids in one IN (...): within every database's limit on bound parameters


def entry(
    office_id: int,
    type: EventType,
    *,
    appointment_id: int | None = None,
    patient_id: int | None = None,
    reminder_id: int | None = None,
    message_id: int | None = None,
    **payload: Any,
) -> dict[str, Any]:
    """One event as a row, its time left to the column's default (or to `record_all`). `payload`: statuses,
    field names and reasons, never patient data."""
    return {
        "office_id": office_id,
        "type": str(type),
        "appointment_id": appointment_id,
        "patient_id": patient_id,
        "reminder_id": reminder_id,
        "message_id": message_id,
        "payload": payload,
    }


def record(
    db: Session,
    office_id: int,
    type: EventType,
    *,
    appointment_id: int | None = None,
    patient_id: int | None = None,
    reminder_id: int | None = None,
    message_id: int | None = None,
    message: Message | None = None,
    **payload: Any,
) -> None:
    """Write one event in the caller's transaction, now: its id tells its place among the transaction's events,
    and a plain INSERT costs a fraction of an ORM object's flush (most answers a patient texts write two).
    `message`: the message it is about, flushed first when it has no id yet."""
    if message is not None:
        if message.id is None:
            db.flush()
        message_id = message.id
    row = entry(
        office_id,
        type,
        appointment_id=appointment_id,
        patient_id=patient_id,
        reminder_id=reminder_id,
        message_id=message_id,
        **payload,
    )
    db.execute(_INSERT, row)


def record_all(db: Session, entries: Sequence[dict[str, Any]], *, at: datetime) -> None:
    """Many events (`entry`) of one instant (an import batch's) in one statement: an import changes thousands of
    appointments."""
    if entries:
        db.execute(insert(_EVENTS).values(created_at=at), list(entries))


def record_for_appointments(db: Session, type: EventType, ids: Sequence[int], *, at: datetime, **payload: Any) -> None:
    """The event `type` (as `entry` makes it, with this payload) of each appointment with these ids, about it and
    its patient, made at `at`. The database writes them from the appointments' rows, in id order: an import
    creates thousands of appointments, and an event sent row by row costs more than the row it is about."""
    columns = ["office_id", "type", "appointment_id", "patient_id", "created_at", "payload"]
    appointments = _APPOINTMENTS.c
    for start in range(0, len(ids), _IDS_PER_STATEMENT):
        rows = select(
            appointments.office_id,
            _value("type", str(type)),
            appointments.id,
            appointments.patient_id,
            _value("created_at", at),
            _value("payload", payload),
        ).where(appointments.id.in_(ids[start : start + _IDS_PER_STATEMENT]))
        db.execute(insert(_EVENTS).from_select(columns, rows.order_by(appointments.id)))


def _value(column: str, value: Any) -> BindParameter[Any]:
    """`value` as a constant of the statement, typed as the column (a JSON payload, a UTC time)."""
    return literal(value, _EVENTS.c[column].type)


def page(db: Session, office_id: int, after: int, limit: int) -> list[Event]:
    """The office's events with an id above `after`, oldest first."""
    stmt = select(Event).where(Event.office_id == office_id, Event.id > after).order_by(Event.id).limit(limit)
    return list(db.scalars(stmt))
