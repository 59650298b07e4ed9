"""Who is due for a visit: their last completed visit of an interval's kind plus its months ("check-up: 12
months"), or the due date the practice-management system gave (`RecallDue`). Each due date becomes one series
(unique per patient and key), texted by the dispatcher until the patient books.

A patient who already holds a future appointment is not due. A due date more than `MOST_OVERDUE` ago starts no
series: turning recall on texts the recently lapsed, not everyone who ever came.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import booking
from ..models import (
    Appointment,
    AppointmentStatus,
    Clinic,
    Office,
    RecallDue,
    RecallInterval,
    RecallSeries,
    RecallSource,
    RecallStatus,
)

MOST_OVERDUE = timedelta(days=365)


def add_months(day: date, months: int) -> date:
    """The same day `months` later; the month's last day when it has no such day (Jan 31 + 1 = Feb 28/29)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Due:
    patient_id: int
    key: str
    due_on: date
    source: RecallSource
    booked_after: datetime  # an appointment holding its time after this means the patient is booked
    interval_id: int | None = None
    visit_id: int | None = None


def is_due(due_on: date, today: date) -> bool:
    return today - MOST_OVERDUE <= due_on <= today


def _last_visits(db: Session, office: Office, interval: RecallInterval) -> list[tuple[int, int, datetime, str]]:
    """(patient, visit, start, clinic zone) of each patient's last completed visit the interval counts."""
    wanted = [Appointment.office_id == office.id, Appointment.status == AppointmentStatus.COMPLETED]
    if interval.kind is not None:
        wanted.append(Appointment.kind == interval.kind)
    if interval.matches:
        wanted.append(func.lower(Appointment.reason).contains(interval.matches.lower(), autoescape=True))
    order = func.row_number().over(
        partition_by=Appointment.patient_id, order_by=(Appointment.starts_at.desc(), Appointment.id.desc())
    )
    ranked = (
        select(Appointment.patient_id, Appointment.id, Appointment.starts_at, Clinic.timezone, order.label("n"))
        .join(Clinic, Clinic.id == Appointment.clinic_id)
        .where(*wanted)
        .subquery()
    )
    rows = db.execute(
        select(ranked.c.patient_id, ranked.c.id, ranked.c.starts_at, ranked.c.timezone).where(ranked.c.n == 1)
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def due(db: Session, office: Office, now: datetime) -> list[Due]:
    """Every due date of the office's patients that has come (and is not too old)."""
    found = []
    for interval in db.scalars(select(RecallInterval).where(RecallInterval.office_id == office.id)):
        for patient_id, visit_id, starts_at, zone in _last_visits(db, office, interval):
            where = ZoneInfo(zone)
            due_on = add_months(starts_at.astimezone(where).date(), interval.months)
            if is_due(due_on, now.astimezone(where).date()):
                key = f"visit:{visit_id}:{interval.id}"
                found.append(Due(patient_id, key, due_on, RecallSource.VISIT, starts_at, interval.id, visit_id))
    today = now.date()  # a date the system gave has no clock: the day it names, in UTC
    for row in db.scalars(select(RecallDue).where(RecallDue.office_id == office.id, RecallDue.due_on <= today)):
        if is_due(row.due_on, today):
            key = f"import:{row.due_on.isoformat()}"
            found.append(Due(row.patient_id, key, row.due_on, RecallSource.IMPORT, now))
    return found


def start(db: Session, office: Office, now: datetime) -> int:
    """A series for each due date that has none, unless the patient is booked already (an appointment holding its
    time after the visit counted from, even one whose day has passed unmarked, or in the future); returns how
    many."""
    found = due(db, office, now)
    if not found:
        return 0
    patients = {d.patient_id for d in found}
    keys = select(RecallSeries.patient_id, RecallSeries.key).where(RecallSeries.patient_id.in_(patients))
    started = {(patient_id, key) for patient_id, key in db.execute(keys)}
    latest = (
        select(Appointment.patient_id, func.max(Appointment.starts_at))
        .where(Appointment.patient_id.in_(patients), Appointment.status.in_(booking.HOLDS_ITS_TIME))
        .group_by(Appointment.patient_id)
    )
    holds = {patient_id: starts_at for patient_id, starts_at in db.execute(latest)}
    made = 0
    for one in found:
        held = holds.get(one.patient_id)
        if (one.patient_id, one.key) in started or (held is not None and held > min(one.booked_after, now)):
            continue
        started.add((one.patient_id, one.key))
        db.add(
            RecallSeries(
                office_id=office.id,
                patient_id=one.patient_id,
                key=one.key,
                source=one.source,
                interval_id=one.interval_id,
                visit_id=one.visit_id,
                due_on=one.due_on,
                status=RecallStatus.ACTIVE,
                texts_sent=0,
                next_at=now,
            )
        )
        made += 1
    db.flush()
    return made


def booked_since(db: Session, series: RecallSeries, now: datetime) -> int | None:
    """The appointment the patient booked since the series began (or holds in the future), if any."""
    return db.scalar(
        select(Appointment.id)
        .where(
            Appointment.patient_id == series.patient_id,
            ((Appointment.status.in_(booking.HOLDS_ITS_TIME)) & (Appointment.starts_at > now))
            | (
                (Appointment.created_at >= series.created_at)
                & Appointment.status.in_((*booking.HOLDS_ITS_TIME, AppointmentStatus.COMPLETED))
            ),
        )
        .order_by(Appointment.id)
        .limit(1)
    )


def set_due(db: Session, office: Office, patient_id: int, due_on: date | None) -> None:
    """The practice-management system's recall due date for a patient (None clears it)."""
    row = db.scalar(select(RecallDue).where(RecallDue.office_id == office.id, RecallDue.patient_id == patient_id))
    if due_on is None:
        if row is not None:
            db.delete(row)
    elif row is None:
        db.add(RecallDue(office_id=office.id, patient_id=patient_id, due_on=due_on))
    else:
        row.due_on = due_on
