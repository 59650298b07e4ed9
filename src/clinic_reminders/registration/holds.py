"""Texts held for carrier registration: marking a sender carriers refused, counting and releasing what waits.

Carriers refused texts from one of our senders (`gateways.errors.REGISTRATION_BLOCKS`: an unregistered 10DLC or
unverified toll-free number) although we thought it could send: `mark_blocked` marks it so that its later texts
wait instead of being sent into the same block. The mark is lifted when a registration covering it is approved
again (registration refresh) or when `reminders setup twilio` has put the sender right. Held reminders carry
`WAITING_FOR_REGISTRATION` as the start of their reason (dispatcher/prepare.py); once a registration is approved
`release_waiting` makes them due at once, and the dispatcher's usual re-checks (quiet hours, the appointment still
ahead) decide what goes out."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from .. import audit
from ..models import Registration, RegistrationKind, RegistrationState, Reminder, ReminderStatus
from .senders import WAITING_FOR_REGISTRATION, hold_reason


def mark_blocked(db: Session, office_id: int, sender: str, code: int, reason: str, now: datetime) -> None:
    """Idempotent: a burst of callbacks for one sender leaves one mark (and one audit entry)."""
    mark = db.scalar(
        select(Registration).where(
            Registration.office_id == office_id,
            Registration.kind == RegistrationKind.CARRIER_BLOCK,
            Registration.subject == sender,
        )
    )
    if mark is None:
        mark = Registration(office_id=office_id, kind=RegistrationKind.CARRIER_BLOCK, subject=sender)
        db.add(mark)
    elif mark.state == RegistrationState.FAILED:
        return
    mark.state, mark.state_changed_at = RegistrationState.FAILED, now
    mark.problems = [{"code": code, "description": reason}]
    audit.record(db, office_id, f"twilio:{code}", "carrier_block", "sender", None, sender=sender)


def _waiting(office_id: int) -> ColumnElement[bool]:
    return (
        (Reminder.office_id == office_id)
        & (Reminder.status == ReminderStatus.PLANNED)
        & Reminder.reason.startswith(WAITING_FOR_REGISTRATION, autoescape=True)
    )


def waiting(db: Session, office_id: int) -> Counter[str]:
    """How many reminders wait, by reason ("texts wait for carrier registration: campaign in review since...")."""
    rows = db.execute(select(Reminder.reason, func.count()).where(_waiting(office_id)).group_by(Reminder.reason))
    return Counter({str(reason): int(count) for reason, count in rows})


def release_waiting(db: Session, office_id: int, now: datetime) -> int:
    """Make every held reminder of the office due now; returns how many."""
    result = db.execute(
        update(Reminder).where(_waiting(office_id)).values(due_at=now).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def text_hold(db: Session, office_id: int, sender: str) -> str | None:
    """Why a text from `sender` must not go now (senders.hold_reason over the office's registrations), or None.
    For one text at a time (staff texts, "send reminder now"); the dispatcher reads the rows once per batch."""
    return hold_reason(sender, db.scalars(select(Registration).where(Registration.office_id == office_id)))
