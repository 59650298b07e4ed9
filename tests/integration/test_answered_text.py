"""Which text a patient's answer is about: the newest of their reminder texts, no-show follow-ups and recall texts
of the last week (waitlist offers take part too: tests/integration/test_waitlist.py answers them)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from clinic_reminders.conversations.answered_text import Answered, Kind, newest
from clinic_reminders.models import (
    Appointment,
    FollowupStatus,
    NoshowFollowup,
    Office,
    Patient,
    RecallSeries,
    RecallText,
    StaffUser,
    utcnow,
)
from tests.factories import make_appointment, make_clinic, make_message, make_office, make_patient, make_user

NOW = utcnow()


def _setting(session: Session) -> tuple[Office, Patient, Appointment, StaffUser]:
    office = make_office(session)
    patient = make_patient(session, office)
    visit = make_appointment(session, make_clinic(session, office), patient)
    return office, patient, visit, make_user(session, office)


def _reminded(session: Session, office: Office, visit: Appointment, user: StaffUser, ago: timedelta) -> None:
    """A reminder text sent by staff about the visit (REMINDER_TEXT counts those as reminders)."""
    make_message(session, office, appointment=visit, sent_by_user_id=user.id, created_at=NOW - ago)


def _followed_up(session: Session, office: Office, visit: Appointment, ago: timedelta) -> NoshowFollowup:
    followup = NoshowFollowup(
        office_id=office.id,
        event_id=visit.id,
        appointment_id=visit.id,
        patient_id=visit.patient_id,
        marked_at=NOW - ago - timedelta(hours=2),
        due_at=NOW - ago,
        status=FollowupStatus.SENT,
        sent_at=NOW - ago,
    )
    session.add(followup)
    session.flush()
    return followup


def _recalled(session: Session, office: Office, patient: Patient, ago: timedelta) -> RecallSeries:
    series = RecallSeries(office_id=office.id, patient_id=patient.id, key="check-up", due_on=date.today(), next_at=NOW)
    session.add(series)
    session.flush()
    session.add(RecallText(office_id=office.id, series_id=series.id, number=1, created_at=NOW - ago))
    session.flush()
    return series


def test_nothing_sent_is_nothing_answered(session: Session) -> None:
    _, patient, _, _ = _setting(session)
    assert newest(session, [patient], NOW) is None
    assert newest(session, [], NOW) is None


def test_the_newest_text_is_the_one_answered(session: Session) -> None:
    office, patient, visit, user = _setting(session)
    _reminded(session, office, visit, user, timedelta(days=2))
    followup = _followed_up(session, office, visit, timedelta(days=1))
    assert newest(session, [patient], NOW) == Answered(Kind.FOLLOWUP, followup.id, NOW - timedelta(days=1))
    series = _recalled(session, office, patient, timedelta(hours=3))
    assert newest(session, [patient], NOW) == Answered(Kind.RECALL, series.id, NOW - timedelta(hours=3))
    _reminded(session, office, visit, user, timedelta(hours=1))  # a "1" now confirms the visit
    found = newest(session, [patient], NOW)
    assert found is not None and found.kind == Kind.REMINDER


def test_on_the_same_instant_the_follow_up_wins_over_the_reminder(session: Session) -> None:
    office, patient, visit, user = _setting(session)
    _reminded(session, office, visit, user, timedelta(hours=1))
    followup = _followed_up(session, office, visit, timedelta(hours=1))
    assert newest(session, [patient], NOW) == Answered(Kind.FOLLOWUP, followup.id, NOW - timedelta(hours=1))


def test_texts_older_than_a_week_and_other_patients_texts_are_not_answered(session: Session) -> None:
    office, patient, visit, _ = _setting(session)
    _followed_up(session, office, visit, timedelta(days=8))
    other = make_patient(session, office)
    _recalled(session, office, other, timedelta(hours=1))
    assert newest(session, [patient], NOW) is None
    found = newest(session, [patient, other], NOW)  # two patients on one phone: either's text
    assert found is not None and found.kind == Kind.RECALL
