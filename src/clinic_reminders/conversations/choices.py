"""A patient answering "which appointment?" with one of the letters we offered."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, aliased, joinedload

from ..messaging.replies import Intent
from ..messaging.reply_texts import CHOICE_LETTERS
from ..models import Appointment, Direction, Message
from .lookup import ANSWERABLE, GRACE, Party

WINDOW = timedelta(hours=24)  # a letter later than this after the question is no longer an answer to it

# Built once: the hot path of /app_confirm (and run only for single-letter texts).
_PENDING = (
    select(Message.id, Message.patient_id, Message.pending_choice)
    .where(
        Message.office_id == bindparam("office_id"),
        Message.direction == Direction.OUTBOUND,
        Message.to_number == bindparam("number"),
        Message.pending_choice.is_not(None),
        Message.created_at >= bindparam("since"),
    )
    .order_by(Message.created_at.desc(), Message.id.desc())
    .limit(1)
)
_APPOINTMENT = (
    select(Appointment)
    .where(Appointment.id == bindparam("id"), Appointment.office_id == bindparam("office_id"))
    .options(joinedload(Appointment.clinic), joinedload(Appointment.patient))
)
_PLAIN = {"synchronize_session": False}  # plain UPDATEs: no loaded message needs refreshing


@dataclass(frozen=True)
class Choice:
    office_id: int
    number: str  # the patient's phone
    question_id: int  # the outbound reply that asked
    patient_id: int | None  # as recorded on the question (None for a phone shared by a family)
    intent: Intent
    appointment: Appointment


def letter_index(body: str) -> int | None:
    """0 for "A", 1 for "b." or " B) "...: when the whole text is one choice letter (case, spaces and punctuation
    ignored), its position; None for anything else."""
    kept = [ch for ch in body.upper() if unicodedata.category(ch)[0] not in "PZC"]
    if len(kept) != 1 or kept[0] not in CHOICE_LETTERS:
        return None
    return CHOICE_LETTERS.index(kept[0])


def find(db: Session, party: Party, number: str, index: int, now: datetime) -> Choice | None:
    """The appointment picked by the `index`th letter in the latest open question to `number`, if it can still
    be answered; None otherwise (no question, a letter not offered, an appointment past or cancelled)."""
    row = db.execute(_PENDING, {"office_id": party.office.id, "number": number, "since": now - WINDOW}).first()
    if row is None:
        return None
    pending: dict[str, Any] = row.pending_choice
    ids: list[int] = pending["appointment_ids"]
    if index >= len(ids):
        return None
    appointment = db.scalars(_APPOINTMENT, {"id": ids[index], "office_id": party.office.id}).first()
    if appointment is None or appointment.status not in ANSWERABLE or appointment.starts_at <= now - GRACE:
        return None
    return Choice(party.office.id, number, row.id, row.patient_id, Intent(pending["intent"]), appointment)


def settle(db: Session, choice: Choice) -> None:
    """Close the question and take the text that led to it (just before it, same patient) off the staff's list."""
    asked = aliased(Message)  # not correlated with the UPDATE's own `messages`
    asked_id = (
        select(asked.id)
        .where(
            asked.office_id == choice.office_id,
            asked.direction == Direction.INBOUND,
            asked.from_number == choice.number,
            asked.patient_id.is_not_distinct_from(choice.patient_id),
            asked.id < choice.question_id,
        )
        .order_by(asked.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    db.execute(update(Message).where(Message.id == asked_id).values(needs_person=False), execution_options=_PLAIN)
    db.execute(
        update(Message).where(Message.id == choice.question_id).values(pending_choice=None),
        execution_options=_PLAIN,
    )
