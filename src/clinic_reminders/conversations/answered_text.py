"""Which of our texts a patient's "1", "3" or YES answers: the newest of their reminder texts, waitlist offers,
no-show follow-ups and recall texts of the last week, found in one statement (it runs on every such answer to
/app_confirm). A reminder newest means the answer is about an appointment, as before any outreach existed; on the
same instant, a follow-up or recall text wins over an offer, and an offer over a reminder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Integer, Subquery, bindparam, literal, null, select, union_all
from sqlalchemy.orm import QueryableAttribute, Session

from ..models import (
    Direction,
    FollowupStatus,
    Message,
    NoshowFollowup,
    OfferStatus,
    Patient,
    RecallSeries,
    RecallText,
    WaitlistOffer,
)
from ..models.messages import REMINDER_TEXT

_Column = ColumnElement[Any] | QueryableAttribute[Any]
ANSWERABLE_FOR = timedelta(days=7)  # an answer later than this after the text is about something else


class Kind(StrEnum):
    REMINDER = "reminder"
    OFFER = "offer"  # a waitlist offer: the id is the offer's
    FOLLOWUP = "followup"  # a no-show follow-up: the id is the follow-up's
    RECALL = "recall"  # a recall text: the id is its series'


@dataclass(frozen=True)
class Answered:
    kind: Kind
    id: int | None
    at: datetime


def _newest(kind: Kind, rank: int, id_column: _Column, at_column: _Column, *where: ColumnElement[bool]) -> Subquery:
    """One candidate row, (kind, id, at, rank): the newest of its kind."""
    return (
        select(
            literal(str(kind)).label("kind"), id_column.label("id"), at_column.label("at"), literal(rank).label("rank")
        )
        .where(*where)
        .order_by(at_column.desc())
        .limit(1)
        .subquery()
    )


_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_SINCE: BindParameter[Any] = bindparam("since")
_CANDIDATES = [
    _newest(
        Kind.REMINDER,
        0,
        null().cast(Integer),
        Message.created_at,
        Message.patient_id.in_(_IDS),
        Message.direction == Direction.OUTBOUND,
        REMINDER_TEXT,
        Message.created_at >= _SINCE,
    ),
    _newest(
        Kind.OFFER,
        1,
        WaitlistOffer.id,
        WaitlistOffer.created_at,
        WaitlistOffer.patient_id.in_(_IDS),
        WaitlistOffer.created_at >= _SINCE,
        WaitlistOffer.status != OfferStatus.FAILED,
    ),
    _newest(
        Kind.FOLLOWUP,
        2,
        NoshowFollowup.id,
        NoshowFollowup.sent_at,
        NoshowFollowup.patient_id.in_(_IDS),
        NoshowFollowup.status == FollowupStatus.SENT,
        NoshowFollowup.sent_at >= _SINCE,
    ),
    _newest(
        Kind.RECALL,
        2,
        RecallText.series_id,
        RecallText.created_at,
        RecallText.series_id == RecallSeries.id,
        RecallSeries.patient_id.in_(_IDS),
        RecallText.created_at >= _SINCE,
    ),
]
_UNION = union_all(*(select(c) for c in _CANDIDATES)).subquery()
# Built once: the newest candidate, a later rank first on the same instant.
_NEWEST = select(_UNION.c.kind, _UNION.c.id, _UNION.c.at).order_by(_UNION.c.at.desc(), _UNION.c.rank.desc()).limit(1)


def newest(db: Session, patients: Sequence[Patient], now: datetime) -> Answered | None:
    """The newest text of the last week to these patients (those of one phone), or None when there was none."""
    if not patients:
        return None
    row = db.execute(_NEWEST, {"ids": [p.id for p in patients], "since": now - ANSWERABLE_FOR}).first()
    return None if row is None else Answered(Kind(row.kind), row.id, row.at)
