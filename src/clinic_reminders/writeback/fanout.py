"""Fan-out: every outbox event of an office becomes one delivery per destination that wants it.

Each enabled, unpaused destination reads its office's events after its `cursor` (those of `settings
["event_types"]`, when it names some) and inserts a pending delivery for each that has none yet; the insert
ignores a delivery another worker made meanwhile (unique destination and event). A paused or disabled
destination's cursor stays where it was, so it gets what happened meanwhile once it is resumed or enabled.

The cursor says "every event up to here has its delivery". It is read before the events are, and may only pass
events that can no longer appear below it:
- SQLite has one writer at a time, and ids are given out inside its write lock: whatever id is visible, every
  lower one is committed (or rolled back and never seen).
- PostgreSQL hands out ids when rows are inserted, and a transaction that started earlier may commit later, so a
  lower id can become visible after a higher one. Events are fanned out at once all the same (the read after the
  cursor sees them), but the cursor moves only past events older than the settle time (`writeback_settle_seconds`,
  60 s), by which any transaction that wrote an event has ended (it must last less than half of it). Events in
  that stretch are read again each round and skipped when their delivery exists. One worker at a time fans out
  (an advisory lock); the others skip the step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..db import upsert
from ..models import Delivery, DeliveryStatus, Destination, Event

BATCH = 2000  # events read per destination and round
_LOCK = 0x57424B464F5554  # pg_try_advisory_xact_lock: one fan-out at a time


def active(db: Session) -> list[Destination]:
    """The destinations deliveries are made and sent for: enabled and not paused."""
    query = select(Destination).where(Destination.enabled.is_(True), Destination.paused_at.is_(None))
    return list(db.scalars(query.order_by(Destination.id)))


@dataclass(frozen=True)
class Plan:
    """What one destination's fan-out writes: its new deliveries and how far its cursor moves."""

    destination_id: int
    cursor: int
    rows: list[dict[str, Any]]
    settled: int | None


def fan_out(db: Session, now: datetime, settle: timedelta, batch: int = BATCH) -> int:
    """One round for every active destination; returns how many deliveries it made."""
    return write(db, read(db, now, settle, batch))


def read(db: Session, now: datetime, settle: timedelta, batch: int = BATCH) -> list[Plan]:
    """The reads of a round, all before its writes: on SQLite they then take no write lock (and hold none long)."""
    postgres = db.get_bind().dialect.name == "postgresql"
    if postgres and not db.scalar(select(func.pg_try_advisory_xact_lock(_LOCK))):
        return []  # another worker is at it
    return [_read(db, destination, now, settle if postgres else None, batch) for destination in active(db)]


def write(db: Session, plans: list[Plan]) -> int:
    made = 0
    for plan in plans:
        if plan.rows:
            _insert(db, plan.rows)
            made += len(plan.rows)
        if plan.settled is not None and plan.settled > plan.cursor:
            db.execute(
                update(Destination)
                .where(Destination.id == plan.destination_id, Destination.cursor < plan.settled)
                .values(cursor=plan.settled)
                .execution_options(synchronize_session=False)
            )
    return made


def _read(db: Session, destination: Destination, now: datetime, settle: timedelta | None, batch: int) -> Plan:
    office_id, cursor = destination.office_id, destination.cursor
    horizon = select(func.max(Event.id)).where(Event.office_id == office_id, Event.id > cursor)
    if settle is not None:
        horizon = horizon.where(Event.created_at <= now - settle)
    settled = db.scalar(horizon)  # first: every event up to it is visible to the read below

    has_delivery = select(Delivery.id).where(Delivery.destination_id == destination.id, Delivery.event_id == Event.id)
    fresh = select(Event.id, Event.appointment_id, Event.patient_id).where(
        Event.office_id == office_id, Event.id > cursor, ~has_delivery.exists()
    )
    types = destination.settings.get("event_types")
    if types is not None:
        fresh = fresh.where(Event.type.in_(list(types)))
    rows = db.execute(fresh.order_by(Event.id).limit(batch)).all()
    if len(rows) == batch and settled is not None:
        settled = min(settled, rows[-1].id)  # the events after the batch are read next round
    made = [_row(destination, event_id, appointment, patient, now) for event_id, appointment, patient in rows]
    return Plan(destination.id, cursor, made, settled)


def _row(
    destination: Destination, event_id: int, appointment_id: int | None, patient_id: int | None, now: datetime
) -> dict[str, Any]:
    return {
        "office_id": destination.office_id,
        "destination_id": destination.id,
        "event_id": event_id,
        "appointment_id": appointment_id,
        "patient_id": patient_id,
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def _insert(db: Session, rows: list[dict[str, Any]]) -> None:
    table: Any = Delivery.__table__
    db.execute(upsert(db, table).on_conflict_do_nothing(index_elements=["destination_id", "event_id"]), rows)
