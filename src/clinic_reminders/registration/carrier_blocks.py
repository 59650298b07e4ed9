"""Carriers refused texts from one of our senders (Twilio 30034: unregistered 10DLC, 30032: unverified toll-free)
although we thought it could send: mark the sender so that its later texts wait instead of being sent into the
same block. The mark is lifted when a registration covering it is approved again (registration refresh) or when
`reminders setup twilio` has put the sender right."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit
from ..models import Registration, RegistrationKind, RegistrationState

REGISTRATION_BLOCKS = frozenset({30032, 30034})


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
