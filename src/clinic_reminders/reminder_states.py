"""The one path by which a reminder changes state (planning, the dispatcher, status callbacks), and the moves allowed.

`move` refuses a move `ALLOWED` does not list, writes the status with its reason (and, into PLANNED, its new due
time), hands the lease back, and records one event when the status changes (events.py), all in the caller's
transaction. The one way into SENDING is a worker's claim (dispatcher/leases.py): a single UPDATE of many rows,
from a state `check` allows. A claim is a lease, not news: it writes no event, and the outbox reads SENDING as
the PLANNED it was claimed from. So what became of a claimed reminder is told (sent, failed, skipped...), and a
reminder handed back for later (quiet hours, pacing, a sender on hold, a transient error) is not: it was planned
and still is. Held after it was sent (a status callback), it is planned again, and told.

`retire` is `move` for the reminders an appointment's status change retires (planning.retire): one UPDATE for
all of them and one INSERT for their events, on the hot path of a patient's answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, cast

from sqlalchemy import Table, bindparam, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from . import events
from .models import EventType, Reminder, ReminderStatus, utcnow

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


# Built once: run on most answers a patient texts. Plain values, as `move` writes them into a retired state.
_REMINDERS = cast(Table, Reminder.__table__)
_RETIRE = (  # a plain UPDATE: `retire` expires the reminders the session has loaded, a lookup each
    update(_REMINDERS)
    .where(_REMINDERS.c.id.in_(bindparam("ids", expanding=True)))
    .values(status=bindparam("to"), reason=bindparam("why"), lease_owner=None, lease_expires_at=None)
)


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
    if to == _S.SENDING:
        raise ReminderStateError("only a worker's claim takes a reminder into sending (dispatcher/leases.py)")
    if (to == _S.PLANNED) != (due_at is not None):
        raise ReminderStateError("a reminder planned again needs its due time, and only then")
    reminder.status = to
    reminder.reason = reason
    if due_at is not None:
        reminder.due_at = due_at
    reminder.lease_owner = None  # out of a worker's hands
    reminder.lease_expires_at = None
    told = _S.PLANNED if current == _S.SENDING else current  # the status the outbox last told of
    if to != told:
        events.record(
            db,
            reminder.office_id,
            EventType(f"reminder.{to}"),
            appointment_id=reminder.appointment_id,
            reminder_id=reminder.id,
            message_id=message_id,
            previous=str(told),
            channel=reminder.channel,
            reason=reason,
            due_at=due_at.isoformat() if due_at is not None else None,
        )


class Retirable(Protocol):
    """What `retire` reads of a reminder: a loaded one, or a narrow row of these columns."""

    @property
    def id(self) -> int: ...
    @property
    def office_id(self) -> int: ...
    @property
    def appointment_id(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def channel(self) -> str: ...


def retire(db: Session, reminders: Sequence[Retirable], to: ReminderStatus, reason: str) -> None:
    """`move` of each of `reminders` into the retired state `to`, in one statement, with their events in one
    more; reminders loaded in the session are read again when next used. The caller has flushed, so that the
    events follow those of the change that retired them."""
    if to not in _RETIRED:
        raise ReminderStateError(f"{to} is not a retired state")
    for reminder in reminders:
        check(ReminderStatus(reminder.status), to)
    if not reminders:
        return
    db.execute(_RETIRE, {"ids": [r.id for r in reminders], "to": to, "why": reason})
    for reminder in reminders:
        if (loaded := db.identity_map.get(identity_key(Reminder, reminder.id))) is not None:
            db.expire(loaded)
    told = [(r, _S.PLANNED if r.status == _S.SENDING else ReminderStatus(r.status)) for r in reminders]
    entries = [
        events.entry(
            r.office_id,
            EventType(f"reminder.{to}"),
            appointment_id=r.appointment_id,
            reminder_id=r.id,
            message_id=None,
            previous=str(previous),
            channel=r.channel,
            reason=reason,
            due_at=None,
        )
        for r, previous in told
        if previous != to
    ]
    events.record_all(db, entries, at=utcnow())
