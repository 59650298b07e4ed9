"""Recall with the dispatcher and the simulator: a patient whose last visit of an interval's kind is that many
months ago (or whose PMS gave a due date) gets up to N texts, spaced, until they book; a booking stops the series;
the office's daily cap on healthcare texts holds a recall text back; a "1" reaches the inbox. SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.followup import config, recall
from clinic_reminders.imports import csv_file, upsert
from clinic_reminders.models import (
    AppointmentStatus,
    Message,
    MessageStatus,
    RecallDue,
    RecallSeries,
    RecallStatus,
    Reminder,
    ReminderStatus,
)
from tests.factories import make_appointment, make_message, make_patient, make_rule
from tests.fixtures.simulator import SimulatorClient
from tests.integration.dispatch_support import NOW
from tests.integration.followup_support import Place, answer, dispatch, last_inbound, make_place, past_visit, texts_to

DUE = (
    "Riverside: you are due for your next visit. Reply 1 to have us call you to book, or 3 to get the next opening. "
    "STOP=opt out"
)
A_YEAR_AGO = NOW - timedelta(days=366)


def series(db: Session) -> list[RecallSeries]:
    db.expire_all()
    return list(db.scalars(select(RecallSeries).order_by(RecallSeries.id)))


def checkups(db: Session, **settings: object) -> Place:
    place = make_place(db, **settings)
    config.add_interval(db, place.office, "Check-up", 12, "check-up", None, "test")
    db.commit()
    return place


def test_a_patient_due_gets_n_spaced_texts_and_then_no_more(
    session: Session, session_factory: sessionmaker[Session], database_url: str, simulator: SimulatorClient
) -> None:
    place = checkups(session, recall_texts=2, recall_spacing_days=7)
    due = make_patient(session, place.office, "Due")
    past_visit(session, place, due, A_YEAR_AGO, AppointmentStatus.COMPLETED, reason="Annual Check-up")
    not_yet = make_patient(session, place.office, "Recent")
    past_visit(session, place, not_yet, NOW - timedelta(days=300), AppointmentStatus.COMPLETED, reason="check-up")
    other_kind = make_patient(session, place.office, "Flu")
    past_visit(session, place, other_kind, A_YEAR_AGO, AppointmentStatus.COMPLETED, reason="flu")
    booked = make_patient(session, place.office, "Booked")
    past_visit(session, place, booked, A_YEAR_AGO, AppointmentStatus.COMPLETED, reason="check-up")
    make_appointment(session, place.clinic, booked, place.chen, starts_at=NOW + timedelta(days=10))
    session.commit()

    dispatch(database_url, simulator, session_factory, NOW)
    assert texts_to(simulator, due) == [DUE]
    assert len(simulator.messages()) == 1
    dispatch(database_url, simulator, session_factory, NOW + timedelta(days=6))
    assert len(simulator.messages()) == 1  # spaced
    dispatch(database_url, simulator, session_factory, NOW + timedelta(days=7))
    assert texts_to(simulator, due) == [DUE, DUE]
    dispatch(database_url, simulator, session_factory, NOW + timedelta(days=14))
    dispatch(database_url, simulator, session_factory, NOW + timedelta(days=21))
    assert len(texts_to(simulator, due)) == 2  # N texts at most, and the same due date starts no new series
    assert [(s.patient_id, s.status, s.texts_sent) for s in series(session)] == [(due.id, RecallStatus.DONE, 2)]


def test_a_booking_stops_the_series(
    session: Session, session_factory: sessionmaker[Session], database_url: str, simulator: SimulatorClient
) -> None:
    place = checkups(session, recall_texts=3, recall_spacing_days=7)
    patient = make_patient(session, place.office, "Due")
    past_visit(session, place, patient, A_YEAR_AGO, AppointmentStatus.COMPLETED, reason="check-up")
    dispatch(database_url, simulator, session_factory, NOW)
    assert len(texts_to(simulator, patient)) == 1
    visit = make_appointment(session, place.clinic, patient, place.chen, starts_at=NOW + timedelta(days=30))
    session.commit()
    dispatch(database_url, simulator, session_factory, NOW + timedelta(days=7))
    assert len(texts_to(simulator, patient)) == 1
    (only,) = series(session)
    assert (only.status, only.booked_appointment_id) == (RecallStatus.BOOKED, visit.id)


def test_a_due_date_from_the_practice_management_system_starts_a_series(
    session: Session, session_factory: sessionmaker[Session], database_url: str, simulator: SimulatorClient
) -> None:
    place = make_place(session)
    patient = make_patient(session, place.office, "Imported")
    past_visit(session, place, patient, NOW - timedelta(days=40), AppointmentStatus.COMPLETED)
    recall.set_due(session, place.office, patient.id, (NOW + timedelta(days=1)).date())
    session.commit()
    dispatch(database_url, simulator, session_factory, NOW)
    assert texts_to(simulator, patient) == []  # not due yet
    dispatch(database_url, simulator, session_factory, NOW + timedelta(days=1))
    assert texts_to(simulator, patient) == [DUE]
    assert [(s.source, s.due_on) for s in series(session)] == [("import", (NOW + timedelta(days=1)).date())]


def test_a_csv_import_gives_the_due_date_and_a_re_import_changes_nothing(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    place = make_place(session)
    session.commit()
    lines = [
        "patient_id,first_name,last_name,mobile_phone,recall_due",
        "P1,Ana,Lopez,+12125550181,2031-01-15",
        "P2,Ben,Ray,+12125550182,",  # empty: nothing given, nothing stored
        "",
    ]
    data = "\n".join(lines).encode()
    for _ in range(2):
        summary = upsert.run(session_factory, csv_file.read(data, "US"), "csv")
        assert not summary.rejections
    session.expire_all()
    dues = [(d.office_id, d.due_on.isoformat()) for d in session.scalars(select(RecallDue))]
    assert dues == [(place.office.id, "2031-01-15")]
    bad = upsert.run(session_factory, csv_file.read(data.replace(b"2031-01-15", b"15/01/2031"), "US"), "csv")
    assert [(r.field, r.message) for r in bad.rejections] == [("recall_due", "not a date; use YYYY-MM-DD")]


def test_the_daily_cap_on_healthcare_texts_holds_a_recall_text_back(
    session: Session, session_factory: sessionmaker[Session], database_url: str, simulator: SimulatorClient
) -> None:
    place = checkups(session)  # the office's cap: one healthcare text a day (Office.max_reminders_per_day)
    patient = make_patient(session, place.office, "Reminded")
    visit = past_visit(session, place, patient, A_YEAR_AGO, AppointmentStatus.COMPLETED, reason="check-up")
    reminder = Reminder(
        office_id=place.office.id,
        appointment_id=visit.id,
        rule_id=make_rule(session, place.office).id,
        channel="sms",
        due_at=NOW - timedelta(hours=2),
        planned_for=NOW - timedelta(hours=2),
        status=ReminderStatus.SENT,
    )
    session.add(reminder)
    session.flush()
    make_message(session, place.office, patient, reminder_id=reminder.id, created_at=NOW - timedelta(hours=2))
    session.commit()
    dispatch(database_url, simulator, session_factory, NOW)
    assert texts_to(simulator, patient) == []
    (held,) = series(session)
    assert (held.status, held.texts_sent, held.next_at) == (RecallStatus.ACTIVE, 0, NOW + timedelta(hours=1))
    dispatch(database_url, simulator, session_factory, NOW + timedelta(hours=20))  # the reminder's day is over
    assert texts_to(simulator, patient) == [DUE]


def test_a_1_to_a_recall_text_reaches_the_inbox_and_ends_the_series(
    session: Session, session_factory: sessionmaker[Session], database_url: str, simulator: SimulatorClient
) -> None:
    place = checkups(session, recall_spacing_days=7)
    patient = make_patient(session, place.office, "Due")
    past_visit(session, place, patient, A_YEAR_AGO, AppointmentStatus.COMPLETED, reason="check-up")
    dispatch(database_url, simulator, session_factory, NOW)
    assert answer(session_factory, patient, "1", NOW + timedelta(hours=1)).startswith("Thank you, Riverside will call")
    inbound = last_inbound(session, patient)
    assert (inbound.needs_person, inbound.unread) == (True, True)
    dispatch(database_url, simulator, session_factory, NOW + timedelta(days=7))
    assert len(texts_to(simulator, patient)) == 1
    assert series(session)[0].status == RecallStatus.ANSWERED
    statuses = set(session.scalars(select(Message.status).where(Message.patient_id == patient.id)))
    assert MessageStatus.PENDING not in statuses
