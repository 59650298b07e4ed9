"""Claiming due reminders, taking over those of dead workers, and proving a claim still holds (fencing).

A claim is a lease: rows move from planned to sending with an owner, an expiry that the owner renews with its
heartbeat, and a generation that every claim raises. On PostgreSQL concurrent workers skip each other's rows
(FOR UPDATE SKIP LOCKED); SQLite has a single writer, so the one UPDATE statement is atomic by itself.

Owner and generation together name one claim: a worker that was paused past its lease, and whose row another
worker took over (or that it claimed again itself since), finds its old claim gone in `prove`, and must neither
send nor write anything for it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists, select, tuple_, update
from sqlalchemy.orm import Session

from .. import reminder_states
from ..models import Office, Reminder, ReminderStatus
from .offices import sending


@dataclass(frozen=True, order=True)
class Lease:
    """One claim on one reminder."""

    reminder_id: int
    generation: int


def _claim(
    db: Session,
    worker_id: str,
    now: datetime,
    lease: timedelta,
    source: ReminderStatus,
    condition: ColumnElement[bool],
    limit: int,
) -> list[Lease]:
    """Move up to `limit` rows in `source` that meet `condition` into SENDING, in one statement (no event: a
    claim is a lease, see reminder_states)."""
    reminder_states.check(source, ReminderStatus.SENDING)
    candidates = (
        select(Reminder.id)
        .where(Reminder.status == source, condition)
        .order_by(Reminder.due_at, Reminder.id)
        .limit(limit)
    )
    if db.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    claimed = db.execute(
        update(Reminder)
        .where(Reminder.id.in_(candidates.scalar_subquery()))
        .values(
            status=ReminderStatus.SENDING,
            lease_owner=worker_id,
            lease_expires_at=now + lease,
            lease_generation=Reminder.lease_generation + 1,
        )
        .returning(Reminder.id, Reminder.lease_generation)
        .execution_options(synchronize_session=False)
    )
    return sorted(Lease(reminder_id, generation) for reminder_id, generation in claimed)


def claim_due(
    db: Session, worker_id: str, now: datetime, lease: timedelta, limit: int, offices: Collection[int] | None = None
) -> list[Lease]:
    """Up to `limit` due reminders of `offices` (None: of every office that sends), shared fairly: each office
    with reminders due gets an equal share of the batch, and what one leaves unused goes to the others in a next
    pass. So a few reminders of one office due now are in this batch, however many of another's are due before.

    One statement finds the offices with reminders due (an index seek each), then one claim per office and pass,
    oldest first within the office: the same statements whatever the number of offices, and no ranking of the
    whole backlog."""
    due = (Reminder.status == ReminderStatus.PLANNED) & (Reminder.due_at <= now)
    waiting = list(
        db.scalars(
            select(Office.id)
            .where(
                sending(Office.id) if offices is None else Office.id.in_(offices),
                exists().where(Reminder.office_id == Office.id, due),
            )
            .order_by(Office.id)
        )
    )
    claimed: list[Lease] = []
    while waiting and len(claimed) < limit:
        share = -(-(limit - len(claimed)) // len(waiting))  # rounded up: the last offices may get less
        full = []
        for office_id in waiting:
            if (wanted := min(share, limit - len(claimed))) == 0:
                break
            ours = (Reminder.office_id == office_id) & (Reminder.due_at <= now)
            got = _claim(db, worker_id, now, lease, ReminderStatus.PLANNED, ours, wanted)
            claimed += got
            if len(got) == wanted:
                full.append(office_id)  # it may have more
        waiting = full
    return sorted(claimed)


def take_over_abandoned(
    db: Session,
    worker_id: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    in_flight: timedelta,
    offices: Collection[int],
) -> list[Lease]:
    """Rows of `offices` left `sending` by a worker whose lease ran out (it died or hung): they need reconciling.

    A row is taken only when its lease has been over for longer than `in_flight`, the longest a request to
    Twilio may last: a paused owner may have started one just before its lease ran out (see `prove`), and
    reconciliation must find that message at Twilio rather than conclude it never got there."""
    abandoned = (Reminder.lease_expires_at < now - in_flight) & Reminder.office_id.in_(offices)
    return _claim(db, worker_id, now, lease, ReminderStatus.SENDING, abandoned, limit)


def prove(db: Session, worker_id: str, leases: Collection[Lease], now: datetime, lease: timedelta) -> set[int]:
    """The fence: which of these claims this worker still holds, checked and extended in one statement.

    Returns the ids of the reminders still held (their leases now run until `now + lease`); any other was taken
    over or handed back meanwhile. On PostgreSQL the rows stay locked until the transaction ends, so what the
    caller writes next in it is written under the lease just proven."""
    if not leases:
        return set()
    held = db.execute(
        update(Reminder)
        .where(
            Reminder.lease_owner == worker_id,
            Reminder.status == ReminderStatus.SENDING,
            tuple_(Reminder.id, Reminder.lease_generation).in_([(le.reminder_id, le.generation) for le in leases]),
        )
        .values(lease_expires_at=now + lease)
        .returning(Reminder.id)
        .execution_options(synchronize_session=False)
    )
    return set(held.scalars())


def unfinished(db: Session, now: datetime) -> bool:
    """Is anything due or in some worker's hands? (`worker --once` waits for abandoned rows to be reconciled.)"""
    due = (Reminder.status == ReminderStatus.PLANNED) & (Reminder.due_at <= now)
    ours = sending(Reminder.office_id)
    return (
        db.scalar(select(Reminder.id).where(due | (Reminder.status == ReminderStatus.SENDING), ours).limit(1))
        is not None
    )
