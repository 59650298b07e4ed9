"""The after-hours auto-reply with the dispatcher and the simulator: a text that reaches the inbox while the
clinic is closed gets one "we are closed" at most every 12 hours, none inside the opening hours, a public holiday
or the office's own closed day counts as closed, an answer the system handles (1, 2, 3, STOP) gets none, and the
text is in the inbox all the same. SQLite and PostgreSQL; the clock is fixed."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import count

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.afterhours import config
from clinic_reminders.conversations import inbound_sms
from clinic_reminders.db import transaction
from clinic_reminders.models import AutoReply, Clinic, Direction, Message, Office, Patient
from clinic_reminders.settings import Settings
from tests.factories import make_office, make_patient
from tests.fixtures.simulator import CLINIC_NUMBER, SimulatorClient
from tests.integration.dispatch_support import make_dispatch_clinic, run_worker, worker_settings

_sids = count(1)
WEDNESDAY_NIGHT = datetime(2030, 6, 13, 2, 0, tzinfo=UTC)  # Wednesday June 12, 22:00 in New York
WEEKDAYS_9_TO_5 = {day: (time(9), time(17)) for day in range(5)}
CLOSED = "Riverside Family Medicine: We are closed now. We got your text and will call you when we open."


@pytest.fixture
def settings(database_url: str, simulator: SimulatorClient) -> Settings:
    return worker_settings(database_url, simulator)


def _new_york(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour)).replace(tzinfo=UTC) + timedelta(hours=4)  # EDT in summer


def _office(session: Session, *, closed_dates: tuple[date, ...] = ()) -> tuple[Office, Clinic, Patient]:
    office = make_office(session)
    clinic = make_dispatch_clinic(session, office)
    patient = make_patient(session, office, "Ana", "Asks")
    change = config.Change(
        enabled=True,
        texts={},
        holiday_country="US",
        holiday_subdivision="NY",
        closed_dates=closed_dates,
        hours={clinic.id: WEEKDAYS_9_TO_5},
    )
    config.change(session, office, change, "test")
    session.commit()
    return office, clinic, patient


def _texts(sessions: sessionmaker[Session], patient: Patient, body: str, at: datetime, settings: Settings) -> None:
    """The patient texts `body` at `at`, and the dispatcher runs right after."""
    params = {"MessageSid": f"SM{next(_sids):032d}", "From": patient.phones[0].number, "To": CLINIC_NUMBER}
    with transaction(sessions) as db:
        inbound_sms.handle(db, patient.office_id, {**params, "Body": body}, at)
    run_worker(settings, sessions, clock=lambda: at)


def _replies(simulator: SimulatorClient, patient: Patient) -> list[str]:
    return [m["body"] for m in simulator.messages(to=patient.phones[0].number) if m["body"].startswith(CLOSED)]


def test_a_text_after_hours_gets_one_reply_in_12_hours_and_still_reaches_the_inbox(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, simulator: SimulatorClient
) -> None:
    _, _, patient = _office(session)
    _texts(session_factory, patient, "Can I bring my son along tomorrow?", WEDNESDAY_NIGHT, settings)
    assert _replies(simulator, patient) == [f"{CLOSED} In an emergency call 911."]
    _texts(session_factory, patient, "Also, where do I park?", WEDNESDAY_NIGHT + timedelta(hours=1), settings)
    assert len(_replies(simulator, patient)) == 1  # within 12 hours: no second reply
    saturday_night = datetime(2030, 6, 16, 1, 0, tzinfo=UTC)  # Saturday 21:00, three days on
    _texts(session_factory, patient, "Never mind, see you Monday", saturday_night, settings)
    assert len(_replies(simulator, patient)) == 2

    session.expire_all()
    inbound = session.scalars(
        select(Message).where(Message.patient_id == patient.id, Message.direction == Direction.INBOUND)
    ).all()
    assert [(m.unread, m.needs_person) for m in inbound] == [(True, True)] * 3  # in the inbox, for a person
    outcomes = [r.outcome for r in session.scalars(select(AutoReply).order_by(AutoReply.id))]
    assert outcomes == ["replied", "recent", "replied"]


def test_no_reply_inside_the_opening_hours_nor_to_an_answer_the_system_handles(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, simulator: SimulatorClient
) -> None:
    _, _, patient = _office(session)
    _texts(session_factory, patient, "Can I bring my son along tomorrow?", _new_york(date(2030, 6, 12), 10), settings)
    _texts(session_factory, patient, "STOP", WEDNESDAY_NIGHT, settings)
    assert _replies(simulator, patient) == []
    session.expire_all()
    assert [r.outcome for r in session.scalars(select(AutoReply))] == ["open"]  # STOP was not looked at


def test_a_public_holiday_and_the_offices_own_closed_day_count_as_closed(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, simulator: SimulatorClient
) -> None:
    _, _, patient = _office(session, closed_dates=(date(2030, 6, 21),))
    ordinary = _new_york(date(2030, 6, 20), 11)  # a Thursday inside the usual hours: open
    _texts(session_factory, patient, "Are you open today?", ordinary, settings)
    assert _replies(simulator, patient) == []
    staff_day = _new_york(date(2030, 6, 21), 11)  # the Friday after, which the office closed itself
    _texts(session_factory, patient, "And today?", staff_day, settings)
    assert len(_replies(simulator, patient)) == 1
    independence_day = _new_york(date(2030, 7, 4), 11)  # a Thursday, inside the usual hours
    _texts(session_factory, patient, "Are you open today?", independence_day, settings)
    assert len(_replies(simulator, patient)) == 2
