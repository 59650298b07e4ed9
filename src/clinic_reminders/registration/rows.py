"""The office's Registration rows: finding them, and recording what Twilio says of each, in one place.

`record` is the one transition of a registration: Twilio's status word -> our state (states.py), its problems,
when it was checked and when its state last changed. It returns the change, if any, so that callers can alert
admins and release held texts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Registration, RegistrationKind, RegistrationState
from .states import state_of


@dataclass(frozen=True)
class Change:
    """A registration whose state moved (a new row starts as draft)."""

    kind: str
    subject: str
    old_state: str
    new_state: str
    problems: list[dict[str, Any]] = field(default_factory=list)


def find(db: Session, office_id: int, kind: RegistrationKind, subject: str = "") -> Registration | None:
    return db.scalar(
        select(Registration).where(
            Registration.office_id == office_id, Registration.kind == kind, Registration.subject == subject
        )
    )


def of_office(db: Session, office_id: int) -> list[Registration]:
    query = select(Registration).where(Registration.office_id == office_id).order_by(Registration.id)
    return list(db.scalars(query))


def get_or_create(db: Session, office_id: int, kind: RegistrationKind, subject: str = "") -> Registration:
    row = find(db, office_id, kind, subject)
    if row is None:
        row = Registration(office_id=office_id, kind=kind, subject=subject, problems=[], parts={})
        db.add(row)
        db.flush()
    return row


def save_part(row: Registration, name: str, sid: str) -> None:
    """Keep the SID of a part created on the way (JSON column: assign a new dict so the change is seen)."""
    row.parts = {**(row.parts or {}), name: sid}


def record(
    row: Registration,
    twilio_status: str | None,
    problems: Sequence[dict[str, Any]] = (),
    *,
    sid: str | None = None,
    submitted: bool = False,
    now: datetime | None = None,
) -> Change | None:
    """Write Twilio's word for the resource into its row; the change of our state, if any."""
    now = now or datetime.now(UTC)
    old_state = row.state or RegistrationState.DRAFT
    if sid:
        row.twilio_sid = sid
    if submitted and row.submitted_at is None:
        row.submitted_at = now
    state = state_of(row.kind, twilio_status)
    row.twilio_status = twilio_status
    row.checked_at = now
    row.problems = [] if state is RegistrationState.APPROVED else list(problems)
    if state == old_state:
        return None
    row.state = state
    row.state_changed_at = now
    return Change(row.kind, row.subject, old_state, state, list(row.problems))


def lift_blocks(db: Session, office_id: int, numbers: Sequence[str], now: datetime | None = None) -> list[Change]:
    """Carriers' refusals of these senders are over (their registration is approved again, or the number was put
    into the office's Messaging Service): their texts may go out."""
    now = now or datetime.now(UTC)
    changes = []
    for number in numbers:
        block = find(db, office_id, RegistrationKind.CARRIER_BLOCK, number)
        if block is not None and block.state == RegistrationState.FAILED:
            block.state, block.state_changed_at, block.problems = RegistrationState.APPROVED, now, []
            changes.append(Change(block.kind, number, RegistrationState.FAILED, RegistrationState.APPROVED))
    return changes
