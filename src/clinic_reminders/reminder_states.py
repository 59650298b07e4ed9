"""The one path by which a reminder changes state (planning, the dispatcher, status callbacks), and the moves allowed.

`move` refuses a move `ALLOWED` does not list, writes the status with its reason (and, into PLANNED, its new due
time), hands the lease back when the reminder leaves a worker's hands, and records one event when the status
changes (events.py), all in the caller's transaction. The one write that is not a call of `move` is a worker's
claim (dispatcher/leases.py): a single UPDATE of many rows into SENDING, from a state `check` allows. A claim is a
lease, not news: it writes no event, and what became of the reminder (sent, failed, planned again) does.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from . import events
from .models import EventType, Reminder, ReminderStatus

_S = ReminderStatus
# Retired before it was sent: planned again when the appointment or the rules change back.
_RETIRED = frozenset({_S.CANCELLED, _S.SKIPPED, _S.MISSED})

ALLOWED: dict[ReminderStatus, frozenset[ReminderStatus]] = {
    # Claimed by a worker; planned again for a new time; retired by a re-plan.
    _S.PLANNED: frozenset({_S.SENDING, _S.PLANNED, *_RETIRED}),
    # Taken over from a dead worker; sent or failed; deferred (quiet hours, pacing, a sender on hold) or tried
    # again; retired by the dispatcher's re-check.
    _S.SENDING: frozenset({_S.SENDING, _S.SENT, _S.FAILED, _S.PLANNED, *_RETIRED}),
    # A status callback: one more try (an unreachable handset, a sender carriers refused) or the end. Or the
    # appointment moved: a reminder for the new time.
    _S.SENT: frozenset({_S.PLANNED, _S.FAILED}),
    _S.FAILED: frozenset({_S.PLANNED}),  # the appointment moved
    **{retired: frozenset({_S.PLANNED, *_RETIRED}) for retired in _RETIRED},
}


class ReminderStateError(ValueError):
    """A move the table does not allow; nothing was changed."""


def check(current: ReminderStatus, to: ReminderStatus) -> None:
    if to not in ALLOWED[current]:
        raise ReminderStateError(f"a reminder that is {current} cannot become {to}")


def move(
    db: Session,
    reminder: Reminder,
    to: ReminderStatus,
    reason: str | None,
    *,
    due_at: datetime | None = None,
    message_id: int | None = None,
) -> None:
    """`due_at` is required into PLANNED and refused otherwise; `message_id` names the message the move is
    about (the one sent, or the one that failed), for the event."""
    current = ReminderStatus(reminder.status)
    check(current, to)
    if (to == _S.PLANNED) != (due_at is not None):
        raise ReminderStateError("a reminder planned again needs its due time, and only then")
    reminder.status = to
    reminder.reason = reason
    if due_at is not None:
        reminder.due_at = due_at
    if to != _S.SENDING:
        reminder.lease_owner = None
        reminder.lease_expires_at = None
    if to != current:
        events.record(
            db,
            reminder.office_id,
            EventType(f"reminder.{to}"),
            appointment_id=reminder.appointment_id,
            reminder_id=reminder.id,
            message_id=message_id,
            previous=str(current),
            channel=reminder.channel,
            reason=reason,
            due_at=due_at.isoformat() if due_at is not None else None,
        )
