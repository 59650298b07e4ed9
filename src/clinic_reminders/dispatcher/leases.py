"""Claiming due reminders and taking over those of dead workers.

A claim is a lease: rows move from planned to sending with an owner and an expiry that the owner renews with
its heartbeat. On PostgreSQL concurrent workers skip each other's rows (FOR UPDATE SKIP LOCKED); SQLite has a
single writer, so the one UPDATE statement is atomic by itself.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..models import Reminder, ReminderStatus, WorkerHeartbeat


def _claim(db: Session, worker_id: str, now: datetime, lease: timedelta, condition: object, limit: int) -> list[int]:
    candidates = select(Reminder.id).where(condition).order_by(Reminder.due_at, Reminder.id).limit(limit)  # type: ignore[arg-type]
    if db.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    claimed = db.execute(
        update(Reminder)
        .where(Reminder.id.in_(candidates.scalar_subquery()))
        .values(status=ReminderStatus.SENDING, lease_owner=worker_id, lease_expires_at=now + lease)
        .returning(Reminder.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(claimed.scalars())


def claim_due(db: Session, worker_id: str, now: datetime, lease: timedelta, limit: int) -> list[int]:
    due = (Reminder.status == ReminderStatus.PLANNED) & (Reminder.due_at <= now)
    return _claim(db, worker_id, now, lease, due, limit)


def take_over_abandoned(db: Session, worker_id: str, now: datetime, lease: timedelta, limit: int) -> list[int]:
    """Rows left `sending` by a worker whose lease ran out (it died or hung): they need reconciling."""
    abandoned = (Reminder.status == ReminderStatus.SENDING) & (Reminder.lease_expires_at < now)
    return _claim(db, worker_id, now, lease, abandoned, limit)


def renew(db: Session, worker_id: str, now: datetime, lease: timedelta, started_at: datetime) -> None:
    """The heartbeat: extend this worker's leases and tell the set-up doctor it is alive."""
    db.execute(
        update(Reminder)
        .where(Reminder.lease_owner == worker_id, Reminder.status == ReminderStatus.SENDING)
        .values(lease_expires_at=now + lease)
        .execution_options(synchronize_session=False)
    )
    beat = db.get(WorkerHeartbeat, worker_id)
    if beat is None:
        db.add(
            WorkerHeartbeat(
                worker_id=worker_id, hostname=socket.gethostname(), pid=os.getpid(), started_at=started_at, seen_at=now
            )
        )
    else:
        beat.seen_at = now


def release(reminder: Reminder) -> None:
    reminder.lease_owner = None
    reminder.lease_expires_at = None


def unfinished(db: Session, now: datetime) -> bool:
    """Is anything due or in some worker's hands? (`worker --once` waits for abandoned rows to be reconciled.)"""
    due = (Reminder.status == ReminderStatus.PLANNED) & (Reminder.due_at <= now)
    return db.scalar(select(Reminder.id).where(due | (Reminder.status == ReminderStatus.SENDING)).limit(1)) is not None
