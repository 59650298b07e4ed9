"""`reminders demo`'s office looks like a practice: a month of history for the dashboard, and today's visits
around the present moment with reminders planned, sent and answered."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clinic_reminders import accounts, demo
from clinic_reminders.db import make_engine, make_sessionmaker
from clinic_reminders.models import Appointment, Base, Message, Patient, Reminder, ReminderStatus
from clinic_reminders.web.admin.dashboard_data import compute

NOW = datetime(2030, 3, 13, 17, 30, tzinfo=UTC)  # a Wednesday, 10:30 AM in Denver


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    path: Path = tmp_path_factory.mktemp("demo") / "demo.db"
    engine = make_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    with make_sessionmaker(engine)() as db:
        office = accounts.the_office(db)
        assert demo.seed(db, office, now=NOW, history_days=demo.HISTORY_DAYS)
        db.commit()
        yield db
    engine.dispose()


def test_the_dashboard_has_a_month_of_trends(seeded: Session) -> None:
    office = accounts.the_office(seeded)
    end = date(2030, 3, 12)
    figures = compute(seeded, office.id, end - timedelta(days=29), end, "America/Denver", None, Decimal("0.0083"))
    weekdays = [d for d in figures.days if d.day.weekday() < 5]
    assert len(weekdays) >= 20 and all(d.appointments >= 10 and d.texts_sent > 0 for d in weekdays)
    assert len({d.confirmed_by_patient for d in weekdays}) > 5  # it varies: a trend, not one spike
    assert figures.total.cancellations_caught > 10 and figures.total.opt_outs >= 1
    assert 50 < (figures.confirmation_rate or 0) < 90 and 85 < (figures.delivery_rate or 0) < 100
    assert figures.statuses["no-show"] > 0 and figures.total.cost_usd > 0


def test_todays_visits_are_around_now_with_reminders_in_every_state(seeded: Session) -> None:
    today = seeded.scalars(
        select(Appointment).where(Appointment.starts_at.between(NOW - timedelta(hours=4), NOW + timedelta(hours=7)))
    ).all()
    assert sum(a.starts_at < NOW for a in today) >= 3 and sum(a.starts_at > NOW for a in today) >= 5
    ids = [a.id for a in today]
    states = set(seeded.scalars(select(Reminder.status).where(Reminder.appointment_id.in_(ids))))
    assert {ReminderStatus.SENT, ReminderStatus.PLANNED} <= states
    answered = seeded.scalar(
        select(func.count()).where(Message.appointment_id.in_(ids), Message.direction == "inbound")
    )
    assert answered and answered >= 3
    for_a_person = seeded.scalars(select(Message.body).where(Message.needs_person.is_(True))).all()
    assert len(for_a_person) >= 3  # a question, a request for a new time, a text from an unknown number


def test_nothing_is_left_due_for_the_dispatcher_to_send_late(seeded: Session) -> None:
    late = seeded.scalar(select(func.count()).where(Reminder.status == ReminderStatus.PLANNED, Reminder.due_at < NOW))
    assert late == 0


def test_no_two_patients_share_a_name(seeded: Session) -> None:
    names = seeded.execute(select(Patient.first_name, Patient.last_name)).all()
    assert len(names) == len(set(names)) == 60


@pytest.mark.parametrize("hour", [0, 6, 12, 19, 23])
def test_todays_visits_are_inside_opening_hours_at_any_hour(hour: int) -> None:
    zone = ZoneInfo("America/Chicago")
    now = datetime(2030, 3, 13, hour, 31, tzinfo=zone).astimezone(UTC)
    rng = random.Random(hour)
    for _ in range(200):
        local = demo._around(now, zone, rng).astimezone(zone)
        assert demo.OPENING_HOURS[0] <= local.time() <= demo.OPENING_HOURS[1], (hour, local)
        assert local.date() >= now.astimezone(zone).date()
