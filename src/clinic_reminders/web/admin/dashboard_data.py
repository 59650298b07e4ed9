"""The dashboard's figures for a period and clinic: a few narrow queries, then counting by day in Python.

- Confirmation rate: appointments whose patient answered "confirm", out of those that got a reminder.
- Cancellations caught: appointments the patient cancelled or asked to move by answering (a slot freed early).
- Delivery rate: delivered texts out of those with a final status (delivered, undelivered, failed).
- Opt-outs: STOP and the like, from the consent history (office-wide: patients are not per clinic).
- Cost: Twilio's price when it reported one, else segments times the office's price per segment.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session

from ...messaging.delivery import FAILED, REACHED
from ...models import Appointment, ConsentAction, ConsentEvent, Direction, Message, Reminder, ReminderStatus

CAUGHT = {"cancel", "reschedule"}
COLUMNS = (
    "day",
    "appointments",
    "reminded",
    "confirmed_by_patient",
    "cancellations_caught",
    "texts_sent",
    "texts_delivered",
    "texts_failed",
    "answers_received",
    "opt_outs",
    "segments",
    "cost_usd",
)


@dataclass
class Day:
    day: date
    appointments: int = 0
    reminded: int = 0
    confirmed_by_patient: int = 0
    cancellations_caught: int = 0
    texts_sent: int = 0
    texts_delivered: int = 0
    texts_failed: int = 0
    answers_received: int = 0
    opt_outs: int = 0
    segments: int = 0
    cost_usd: Decimal = Decimal(0)

    def add(self, other: Day) -> None:
        for name in COLUMNS[1:]:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Figures:
    start: date
    end: date
    days: list[Day]
    total: Day
    statuses: Counter[str] = field(default_factory=Counter)

    @staticmethod
    def rate(part: int, whole: int) -> float | None:
        return round(100 * part / whole, 1) if whole else None

    @property
    def confirmation_rate(self) -> float | None:
        return self.rate(self.total.confirmed_by_patient, self.total.reminded)

    @property
    def delivery_rate(self) -> float | None:
        return self.rate(self.total.texts_delivered, self.total.texts_delivered + self.total.texts_failed)


def _midnights(start: date, end: date, zone: ZoneInfo) -> list[datetime]:
    """Each day's start in UTC, and the end of the last day: local days, whatever DST does in between."""
    days = (end - start).days + 1
    return [datetime.combine(start + timedelta(days=i), time(0), tzinfo=zone).astimezone(UTC) for i in range(days + 1)]


def _day_index(column: Any, midnights: list[datetime]) -> Any:
    """SQL for "which day of the period" (0, 1, ...): the database groups by local day, with no time zone
    support needed (SQLite has none), and only one row per day and kind comes back."""
    return case(*((column < edge, i) for i, edge in enumerate(midnights[1:])), else_=None)


def compute(
    db: Session, office_id: int, start: date, end: date, zone_name: str, clinic_id: int | None, price: Decimal
) -> Figures:
    midnights = _midnights(start, end, ZoneInfo(zone_name))
    lo, hi = midnights[0], midnights[-1]
    days = [Day(start + timedelta(days=i)) for i in range(len(midnights) - 1)]
    in_period = (Appointment.office_id == office_id, Appointment.starts_at >= lo, Appointment.starts_at < hi)
    of_clinic = (Appointment.clinic_id == clinic_id,) if clinic_id is not None else ()
    appt_day = _day_index(Appointment.starts_at, midnights).label("day")

    statuses: Counter[str] = Counter()
    for index, status, n in db.execute(
        select(appt_day, Appointment.status, func.count())
        .where(*in_period, *of_clinic)
        .group_by(appt_day, Appointment.status)
    ):
        days[index].appointments += n
        statuses[str(status)] += n
    # IN, not a correlated EXISTS: SQLite would pick the (status, due_at) index and scan it per appointment
    sent = Appointment.id.in_(
        select(Reminder.appointment_id).where(Reminder.office_id == office_id, Reminder.status == ReminderStatus.SENT)
    )
    for index, n in db.execute(select(appt_day, func.count()).where(*in_period, *of_clinic, sent).group_by(appt_day)):
        days[index].reminded = n
    confirmed = func.count(distinct(case((Message.interpretation == "confirm", Appointment.id))))
    caught = func.count(distinct(case((Message.interpretation.in_(CAUGHT), Appointment.id))))
    answers = (
        select(appt_day, confirmed, caught)
        .join(Message, Message.appointment_id == Appointment.id)
        .where(*in_period, *of_clinic, Message.direction == Direction.INBOUND)
        .group_by(appt_day)
    )
    for index, n_confirmed, n_caught in db.execute(answers):
        days[index].confirmed_by_patient, days[index].cancellations_caught = n_confirmed, n_caught

    msg_day = _day_index(Message.created_at, midnights).label("day")
    unpriced = func.sum(case((Message.price.is_(None), func.coalesce(Message.num_segments, 1)), else_=0))
    messages = (
        select(
            msg_day,
            Message.direction,
            Message.channel,
            Message.status,
            func.count(),
            func.sum(Message.num_segments),
            func.sum(func.abs(Message.price)),
            unpriced,
        )
        .where(Message.office_id == office_id, Message.created_at >= lo, Message.created_at < hi)
        .group_by(msg_day, Message.direction, Message.channel, Message.status)
    )
    if clinic_id is not None:
        messages = messages.where(
            Message.appointment_id.in_(select(Appointment.id).where(Appointment.clinic_id == clinic_id))
        )
    for index, direction, channel, status, n, segments, cost, unpriced_segments in db.execute(messages):
        d = days[index]
        if direction == Direction.INBOUND:
            d.answers_received += n
            continue
        d.cost_usd += Decimal(cost or 0)
        if channel != "sms":
            continue
        d.texts_sent += n
        d.segments += segments or 0
        d.texts_delivered += n if status in REACHED else 0
        d.texts_failed += n if status in FAILED else 0
        d.cost_usd += price * (unpriced_segments or 0)

    opt_day = _day_index(ConsentEvent.at, midnights)
    opt_outs = (
        select(opt_day, func.count())
        .where(
            ConsentEvent.office_id == office_id,
            ConsentEvent.action == ConsentAction.OPT_OUT,
            ConsentEvent.at >= lo,
            ConsentEvent.at < hi,
        )
        .group_by(opt_day)
    )
    for index, n in db.execute(opt_outs):
        days[index].opt_outs = n

    total = Day(start)
    for d in days:
        total.add(d)
    return Figures(start, end, days, total, statuses)


def to_csv(figures: Figures) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for d in [*figures.days, figures.total]:
        label = d.day.isoformat() if d is not figures.total else "total"
        writer.writerow([label, *(f"{getattr(d, c):.4f}" if c == "cost_usd" else getattr(d, c) for c in COLUMNS[1:])])
    return out.getvalue()
