"""The dashboard's counts of no-show follow-ups and recall for a period.

- No-shows rebooked: follow-ups texted whose patient booked a visit after the no-show was marked.
- Recall texts sent: those that reached Twilio (or are on their way), not those it refused or that never went.
- Recalls booked: series texted at least once whose patient booked a visit, in the period, after it began.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from .. import booking
from ..messaging.delivery import CONTACTED
from ..models import (
    Appointment,
    AppointmentStatus,
    FollowupStatus,
    Message,
    NoshowFollowup,
    RecallSeries,
    RecallText,
)
from ..scheduling.timing import local_datetime

_BOOKED = (*booking.HOLDS_ITS_TIME, AppointmentStatus.COMPLETED)  # a visit booked, whether or not it came yet


@dataclass(frozen=True)
class Counts:
    noshows_followed_up: int
    noshows_rebooked: int
    recall_texts_sent: int
    recalls_booked: int


def counts_on_days(db: Session, office_id: int, first: date, last: date, zone: str) -> Counts:
    """`counts` from the start of `first` to the end of `last`, on the clock of `zone` (the dashboard's days)."""
    where = ZoneInfo(zone)
    start, end = local_datetime(first, time(0), where), local_datetime(last + timedelta(days=1), time(0), where)
    return counts(db, office_id, start, end)


def counts(db: Session, office_id: int, start: datetime, end: datetime) -> Counts:
    texted = (
        (NoshowFollowup.office_id == office_id)
        & (NoshowFollowup.status == FollowupStatus.SENT)
        & (NoshowFollowup.sent_at >= start)
        & (NoshowFollowup.sent_at < end)
    )
    rebooked = exists().where(
        Appointment.patient_id == NoshowFollowup.patient_id,
        Appointment.id != NoshowFollowup.appointment_id,
        Appointment.created_at >= NoshowFollowup.marked_at,
        Appointment.status.in_(_BOOKED),
    )
    followed_up = db.scalar(select(func.count()).select_from(NoshowFollowup).where(texted)) or 0
    noshows_rebooked = db.scalar(select(func.count()).select_from(NoshowFollowup).where(texted, rebooked)) or 0
    recall_sent = db.scalar(
        select(func.count())
        .select_from(RecallText)
        .join(Message, Message.id == RecallText.message_id)
        .where(
            RecallText.office_id == office_id,
            RecallText.created_at >= start,
            RecallText.created_at < end,
            Message.status.in_(CONTACTED),
        )
    )
    recalls_booked = db.scalar(
        select(func.count())
        .select_from(RecallSeries)
        .where(
            RecallSeries.office_id == office_id,
            RecallSeries.texts_sent > 0,
            exists().where(
                Appointment.patient_id == RecallSeries.patient_id,
                Appointment.created_at >= RecallSeries.created_at,
                Appointment.created_at >= start,
                Appointment.created_at < end,
                Appointment.status.in_(_BOOKED),
            ),
        )
    )
    return Counts(followed_up, noshows_rebooked, recall_sent or 0, recalls_booked or 0)
