"""Each patient's one conversation (reminders, answers, staff texts, in order) and the inbox over them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from ..models import Direction, Message, Patient


@dataclass(frozen=True)
class ThreadSummary:
    patient_id: int
    patient_name: str
    last_at: datetime
    unread: int
    needs_person: int


def inbox(
    db: Session,
    office_id: int,
    *,
    only_unread: bool = False,
    only_needs_person: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ThreadSummary], int]:
    """Conversations with something for staff first (needs a person, then unread), then the most recent."""
    inbound = Message.direction == Direction.INBOUND
    unread = func.sum(case((inbound & Message.unread, 1), else_=0))
    needs = func.sum(case((inbound & Message.needs_person, 1), else_=0))
    grouped = (
        select(
            Message.patient_id,
            func.max(Message.created_at).label("last_at"),
            unread.label("unread"),
            needs.label("needs"),
        )
        .where(Message.office_id == office_id, Message.patient_id.is_not(None))
        .group_by(Message.patient_id)
    )
    if only_unread:
        grouped = grouped.having(unread > 0)
    if only_needs_person:
        grouped = grouped.having(needs > 0)
    sub = grouped.subquery()
    total = db.scalar(select(func.count()).select_from(sub)) or 0
    rows = db.execute(
        select(sub.c.patient_id, sub.c.last_at, sub.c.unread, sub.c.needs, Patient.first_name, Patient.last_name)
        .join(Patient, Patient.id == sub.c.patient_id)
        .order_by((sub.c.needs > 0).desc(), (sub.c.unread > 0).desc(), sub.c.last_at.desc(), sub.c.patient_id)
        .limit(limit)
        .offset(offset)
    )
    summaries = [
        ThreadSummary(r.patient_id, f"{r.first_name} {r.last_name}", r.last_at, int(r.unread or 0), int(r.needs or 0))
        for r in rows
    ]
    return summaries, total


def messages_of(db: Session, patient_id: int, limit: int = 200) -> list[Message]:
    rows = db.scalars(
        select(Message)
        .where(Message.patient_id == patient_id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(limit)
    )
    return list(reversed(list(rows)))


def mark_read(db: Session, patient_id: int) -> int:
    result = db.execute(
        update(Message)
        .where(Message.patient_id == patient_id, Message.direction == Direction.INBOUND, Message.unread.is_(True))
        .values(unread=False)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
