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
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ...models import Appointment, ConsentAction, ConsentEvent, Direction, Message, Reminder, ReminderStatus

DELIVERED = {"delivered", "read"}
UNDELIVERED = {"undelivered", "failed"}
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


def _bounds(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    lo = datetime.combine(start, time(0), tzinfo=zone).astimezone(UTC)
    return lo, datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)


def compute(
    db: Session, office_id: int, start: date, end: date, zone_name: str, clinic_id: int | None, price: Decimal
) -> Figures:
    zone = ZoneInfo(zone_name)
    lo, hi = _bounds(start, end, zone)
    days = {start + timedelta(days=i): Day(start + timedelta(days=i)) for i in range((end - start).days + 1)}

    def day_of(at: datetime) -> Day | None:
        return days.get(at.astimezone(zone).date())

    appts: Select[Any] = select(Appointment.id).where(
        Appointment.office_id == office_id, Appointment.starts_at >= lo, Appointment.starts_at < hi
    )
    if clinic_id is not None:
        appts = appts.where(Appointment.clinic_id == clinic_id)
    statuses: Counter[str] = Counter()
    start_of: dict[int, datetime] = {}
    rows = db.execute(appts.with_only_columns(Appointment.id, Appointment.starts_at, Appointment.status))
    for appt_id, starts_at, status in rows:
        start_of[appt_id] = starts_at
        statuses[str(status)] += 1
        if (d := day_of(starts_at)) is not None:
            d.appointments += 1
    reminded = select(Reminder.appointment_id).where(
        Reminder.appointment_id.in_(appts), Reminder.status == ReminderStatus.SENT
    )
    for appt_id in set(db.scalars(reminded)):
        if (d := day_of(start_of[appt_id])) is not None:
            d.reminded += 1
    answers = select(Message.appointment_id, Message.interpretation).where(
        Message.appointment_id.in_(appts), Message.direction == Direction.INBOUND
    )
    meaning: dict[int, set[str]] = defaultdict(set)
    for answered_id, interpretation in db.execute(answers):
        if answered_id is not None:
            meaning[answered_id].add(interpretation or "unknown")
    for answered_id, seen in meaning.items():
        if (d := day_of(start_of[answered_id])) is not None:
            d.confirmed_by_patient += "confirm" in seen
            d.cancellations_caught += bool(seen & CAUGHT)

    messages = select(
        Message.created_at, Message.direction, Message.channel, Message.status, Message.num_segments, Message.price
    ).where(Message.office_id == office_id, Message.created_at >= lo, Message.created_at < hi)
    if clinic_id is not None:
        of_clinic = select(Appointment.id).where(Appointment.clinic_id == clinic_id)
        messages = messages.where(Message.appointment_id.in_(of_clinic))
    for created_at, direction, channel, status, segments, msg_price in db.execute(messages):
        d = day_of(created_at)
        if d is None:
            continue
        if direction == Direction.INBOUND:
            d.answers_received += 1
            continue
        if msg_price is not None:
            d.cost_usd += abs(Decimal(msg_price))
        if channel != "sms":
            continue
        d.texts_sent += 1
        d.segments += segments or 0
        d.texts_delivered += status in DELIVERED
        d.texts_failed += status in UNDELIVERED
        if msg_price is None:
            d.cost_usd += price * (segments or 1)

    opt_outs = select(ConsentEvent.at).where(
        ConsentEvent.office_id == office_id,
        ConsentEvent.action == ConsentAction.OPT_OUT,
        ConsentEvent.at >= lo,
        ConsentEvent.at < hi,
    )
    for (at,) in db.execute(opt_outs):
        if (d := day_of(at)) is not None:
            d.opt_outs += 1

    total = Day(start)
    for d in days.values():
        total.add(d)
    return Figures(start, end, list(days.values()), total, statuses)


def to_csv(figures: Figures) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for d in [*figures.days, figures.total]:
        label = d.day.isoformat() if d is not figures.total else "total"
        writer.writerow([label, *(f"{getattr(d, c):.4f}" if c == "cost_usd" else getattr(d, c) for c in COLUMNS[1:])])
    return out.getvalue()
