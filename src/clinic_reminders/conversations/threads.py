"""Each patient's one conversation (reminders, answers, staff texts, in order), the conversations of numbers that
belong to no patient, the inbox over both, and marking answers read or dealt with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, case, func, literal, null, or_, select, union_all, update
from sqlalchemy.orm import Session

from .. import audit
from ..models import Direction, Message, Patient


@dataclass(frozen=True)
class ThreadSummary:
    """One row of the inbox: a patient's conversation, or (`patient_id` None) an unknown number's."""

    patient_id: int | None
    number: str | None  # the unknown number; None for a patient's conversation
    patient_name: str
    last_at: datetime
    unread: int
    needs_person: int
    last_words: Message | None = None  # what the other side last said (else the last message)

    @property
    def url(self) -> str:
        return f"/inbox/{self.patient_id}" if self.patient_id is not None else f"/inbox/number/{self.number}"


UNKNOWN_NUMBER = "Unknown number"


def _other_party() -> ColumnElement[str]:
    """The phone at the other end of a message: who texted us, or whom we texted."""
    return case((Message.direction == Direction.INBOUND, Message.from_number), else_=Message.to_number)


def inbox(
    db: Session,
    office_id: int,
    *,
    only_unread: bool = False,
    only_needs_person: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ThreadSummary], int]:
    """Conversations with something for staff first (needs a person, then unread), then the most recent.

    Texts from a number of no patient are grouped by that number, so that a person sees them and can say whose
    number it is (`link_number`)."""
    inbound = Message.direction == Direction.INBOUND
    unread = func.sum(case((inbound & Message.unread, 1), else_=0))
    needs = func.sum(case((inbound & Message.needs_person, 1), else_=0))
    party = _other_party()
    patients = (
        select(
            Message.patient_id.label("patient_id"),
            null().label("number"),
            func.max(Message.created_at).label("last_at"),
            unread.label("unread"),
            needs.label("needs"),
        )
        .where(Message.office_id == office_id, Message.patient_id.is_not(None))
        .group_by(Message.patient_id)
    )
    unknown = (
        select(
            null().label("patient_id"),
            party.label("number"),
            func.max(Message.created_at).label("last_at"),
            unread.label("unread"),
            needs.label("needs"),
        )
        .where(Message.office_id == office_id, Message.patient_id.is_(None))
        .group_by(party)
        .having(func.sum(case((inbound, 1), else_=0)) > 0)  # not the admins' alert texts: nobody wrote those
    )
    if only_unread:
        patients, unknown = patients.having(unread > 0), unknown.having(unread > 0)
    if only_needs_person:
        patients, unknown = patients.having(needs > 0), unknown.having(needs > 0)
    sub = union_all(patients, unknown).subquery()
    total = db.scalar(select(func.count()).select_from(sub)) or 0
    rows = db.execute(
        select(sub, Patient.first_name, Patient.last_name)
        .outerjoin(Patient, Patient.id == sub.c.patient_id)
        .order_by(
            (sub.c.needs > 0).desc(),
            (sub.c.unread > 0).desc(),
            sub.c.last_at.desc(),
            sub.c.patient_id,
            sub.c.number,
        )
        .limit(limit)
        .offset(offset)
    ).all()
    ids, numbers = [r.patient_id for r in rows if r.patient_id is not None], [r.number for r in rows if r.number]
    words = _last_words(db, office_id, ids, numbers)
    return [
        ThreadSummary(
            r.patient_id,
            r.number,
            f"{r.first_name} {r.last_name}" if r.patient_id is not None else UNKNOWN_NUMBER,
            r.last_at,
            int(r.unread or 0),
            int(r.needs or 0),
            words.get(r.patient_id if r.patient_id is not None else r.number),
        )
        for r in rows
    ], total


def _last_words(db: Session, office_id: int, patient_ids: list[int], numbers: list[str]) -> dict[int | str, Message]:
    """For each conversation (by patient id, or by unknown number), the other side's latest message, or the
    latest of all when the other side never wrote (a reminder nobody answered)."""
    party = _other_party()
    conversation = case((Message.patient_id.is_(None), party), else_=literal(""))
    found: dict[int | str, Message] = {}
    for inbound_only in (True, False):
        ids = [p for p in patient_ids if p not in found]
        phones = [n for n in numbers if n not in found]
        wanted: list[ColumnElement[bool]] = [Message.patient_id.in_(ids)] if ids else []
        wanted += [Message.patient_id.is_(None) & party.in_(phones)] if phones else []
        if not wanted:
            break
        conditions = [Message.office_id == office_id, or_(*wanted)]
        if inbound_only:
            conditions.append(Message.direction == Direction.INBOUND)
        latest = select(func.max(Message.id)).where(*conditions).group_by(Message.patient_id, conversation)
        for message in db.scalars(select(Message).where(Message.id.in_(latest))):
            found[message.patient_id if message.patient_id is not None else _party_of(message)] = message
    return found


def _party_of(message: Message) -> str:
    return message.from_number if message.direction == Direction.INBOUND else message.to_number


def messages_of(db: Session, patient_id: int, limit: int = 200) -> list[Message]:
    rows = db.scalars(
        select(Message)
        .where(Message.patient_id == patient_id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(limit)
    )
    return list(reversed(list(rows)))


def messages_of_number(db: Session, office_id: int, number: str, limit: int = 200) -> list[Message]:
    """The conversation of a number that belongs to no patient (messages not yet linked to anyone)."""
    rows = db.scalars(
        select(Message)
        .where(Message.office_id == office_id, Message.patient_id.is_(None), _other_party() == number)
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


def mark_number_read(db: Session, office_id: int, number: str) -> int:
    result = db.execute(
        update(Message)
        .where(
            Message.office_id == office_id,
            Message.patient_id.is_(None),
            Message.direction == Direction.INBOUND,
            Message.from_number == number,
            Message.unread.is_(True),
        )
        .values(unread=False)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def resolve(db: Session, message: Message, actor: str) -> None:
    """A person has dealt with this answer: no longer flagged, nor unread."""
    message.needs_person = False
    message.unread = False
    audit.record(db, message.office_id, actor, "resolve", "message", message.id)


def resolve_patient(db: Session, patient: Patient, actor: str) -> None:
    """A person has dealt with every flagged answer of this patient's conversation."""
    db.execute(
        update(Message)
        .where(Message.patient_id == patient.id, Message.needs_person.is_(True))
        .values(needs_person=False, unread=False)
        .execution_options(synchronize_session=False)
    )
    audit.record(db, patient.office_id, actor, "resolve", "patient", patient.id)
