""" "Send reminder now" on the schedule: a text goes out at once (through the simulator), or the row says why not;
the reminders the office's rules planned stay planned, at their times, and still go out."""

from __future__ import annotations

import asyncio
import re
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders import planning
from clinic_reminders.dispatcher.worker import Worker
from clinic_reminders.models import (
    Appointment,
    AuditEntry,
    Message,
    Office,
    Reminder,
    ReminderStatus,
    StaffUser,
    utcnow,
)
from clinic_reminders.settings import Settings
from clinic_reminders.simulator import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from tests.conftest import TEST_SECRET_KEY
from tests.factories import make_appointment, make_clinic, make_message, make_patient
from tests.fixtures.simulator import CLINIC_NUMBER, SimulatorClient
from tests.web.pages import PageClient


@pytest.fixture
def settings(database_url: str, simulator: SimulatorClient) -> Settings:
    """Twilio is the simulator."""
    simulator.reset()
    return Settings(
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        embedded_worker=False,
        public_url="http://reminders.example.com",  # http: the test client keeps the cookie
        twilio_account_sid=DEFAULT_ACCOUNT_SID,
        twilio_auth_token=DEFAULT_AUTH_TOKEN,
        twilio_phone_number=CLINIC_NUMBER,
        twilio_api_base_url=simulator.base_url,
        sender_rate=1000.0,
    )


@pytest.fixture
def visit(session: Session, office: Office) -> Appointment:
    """In three days, with the default rules planned (text 2 days before, call the day before, text 2 hours
    before); texts allowed at any hour so that the test does not depend on the time it runs."""
    office.quiet_hours_start, office.quiet_hours_end = time(0, 0), time(23, 59)
    planning.ensure_default_rules(session, office)
    clinic = make_clinic(session, office, name="Riverside Family Medicine")
    patient = make_patient(session, office, "Ana", "Lopez")
    appointment = make_appointment(session, clinic, patient, starts_at=utcnow() + timedelta(days=3))
    session.commit()
    return appointment


def planned(session: Session, appointment: Appointment) -> list[tuple[int, str, object]]:
    session.expire_all()
    rows = session.scalars(select(Reminder).where(Reminder.appointment_id == appointment.id).order_by(Reminder.id))
    return [(r.rule_id, r.status, r.due_at) for r in rows]


def remind(staff_pages: PageClient, appointment: Appointment, **form: str) -> str:
    response = staff_pages.htmx(f"/schedule/appointments/{appointment.id}/remind", form)
    assert response.status_code == 200, response.text
    assert response.text.startswith(f'<tr id="appt-{appointment.id}"')  # the row, swapped in place
    return response.text


def sent_before(session: Session, appointment: Appointment, hours: float, *, reminder: bool = True) -> None:
    """A reminder that reached the patient `hours` ago (`reminder=False`: the answer texted back to an answer)."""
    planned = session.scalars(select(Reminder).where(Reminder.appointment_id == appointment.id)).first()
    assert planned is not None
    office = session.get(Office, appointment.office_id)
    assert office is not None
    reminder_id = planned.id if reminder else None
    make_message(
        session,
        office,
        appointment=appointment,
        body="an earlier reminder",
        reminder_id=reminder_id,
        created_at=utcnow() - timedelta(hours=hours),
    )
    session.commit()


def test_it_texts_the_patient_now_and_leaves_the_planned_reminders_as_they_were(
    staff_pages: PageClient, visit: Appointment, session: Session, simulator: SimulatorClient, staff_user: StaffUser
) -> None:
    before = planned(session, visit)
    assert [status for _, status, _ in before] == ["planned"] * 3
    row = remind(staff_pages, visit)
    assert "Reminder text sent. The planned reminders still go at their times." in row
    [text] = simulator.messages(to=visit.patient.phones[0].number)
    assert text["from"] == CLINIC_NUMBER and "Riverside Family Medicine" in text["body"]
    assert "Reply 1 confirm, 2 cancel, 3 reschedule" in text["body"]  # the reminder itself
    assert planned(session, visit) == before  # nothing moved, retired or used up
    message = session.scalars(select(Message).where(Message.appointment_id == visit.id)).one()
    assert (message.reminder_id, message.sent_by_user_id, message.twilio_sid) == (None, staff_user.id, text["sid"])
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "send-now")).one()
    assert (audit.entity, audit.entity_id, audit.detail) == ("appointment", visit.id, {"message_id": message.id})
    assert "sent by staff" in row and "Text planned" in row
    assert 'data-state="no-answer"' in row  # it reached the patient, who has not answered yet


def test_a_video_visits_reminder_sent_now_carries_the_patients_link(
    staff_pages: PageClient, visit: Appointment, session: Session, simulator: SimulatorClient
) -> None:
    visit.kind = "telehealth"
    session.commit()
    remind(staff_pages, visit)
    [text] = simulator.messages(to=visit.patient.phones[0].number)
    assert re.search(r"http://reminders\.example\.com/p/\w+", text["body"]), text["body"]


def test_the_planned_reminder_still_goes_out_after_a_reminder_sent_now(
    staff_pages: PageClient,
    visit: Appointment,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    simulator: SimulatorClient,
) -> None:
    """The office allows one reminder a day: a reminder sent now must not make the dispatcher skip the one its
    rules planned (it counts planned reminders only)."""
    remind(staff_pages, visit)
    reminder = session.scalars(
        select(Reminder).where(Reminder.appointment_id == visit.id, Reminder.channel == "sms").order_by(Reminder.due_at)
    ).first()
    assert reminder is not None
    reminder.due_at = utcnow() - timedelta(minutes=1)
    session.commit()
    asyncio.run(Worker(settings, session_factory, poll_interval=0.05).run(once=True))
    session.expire_all()
    assert (reminder.status, reminder.reason) == (ReminderStatus.SENT, None)
    assert len(simulator.messages(to=visit.patient.phones[0].number)) == 2


def test_over_the_daily_cap_it_says_so_and_sends_only_when_staff_override_it(
    staff_pages: PageClient, visit: Appointment, session: Session, simulator: SimulatorClient
) -> None:
    sent_before(session, visit, hours=3)
    before = planned(session, visit)
    row = remind(staff_pages, visit)
    assert "Not sent: the patient already had 1 reminder today, and the office allows 1 a day." in row
    assert "Send anyway (over the limit, recorded)" in row
    assert simulator.messages(to=visit.patient.phones[0].number) == []
    assert session.scalars(select(AuditEntry).where(AuditEntry.action.like("send-now%"))).all() == []
    row = remind(staff_pages, visit, override_cap="1")
    assert "Reminder text sent." in row and "Send anyway" not in row
    assert len(simulator.messages(to=visit.patient.phones[0].number)) == 1
    assert session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("send-now%"))).all() == [
        "send-now-over-cap"
    ]
    assert planned(session, visit) == before


def test_a_reminder_sent_yesterday_or_a_reply_to_an_answer_does_not_count_today(
    staff_pages: PageClient, visit: Appointment, session: Session
) -> None:
    sent_before(session, visit, hours=21)
    sent_before(session, visit, hours=1, reminder=False)
    assert "Reminder text sent." in remind(staff_pages, visit)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ("opted_out", "Not sent: the patient opted out of texts on "),
        ("no_consent", "Not sent: the patient has not agreed to texts"),
        ("landline", "Not sent: the patient has no number that can receive texts."),
        ("cancelled", None),  # no button at all
    ],
)
def test_it_says_why_it_cannot_send(
    staff_pages: PageClient,
    visit: Appointment,
    session: Session,
    simulator: SimulatorClient,
    change: str,
    why: str | None,
) -> None:
    patient = visit.patient
    if change == "opted_out":
        patient.sms_opted_out_at, patient.sms_opt_out_source = utcnow(), "sms:STOP"
    elif change == "no_consent":
        patient.sms_consent = False
    elif change == "landline":
        patient.phones[0].kind = "landline"
    else:
        visit.status = "cancelled"
    session.commit()
    before = planned(session, visit)
    page = staff_pages.get(f"/schedule?day={visit.starts_at.astimezone(ZoneInfo('America/New_York')).date()}").text
    assert ("Send reminder now" in page) == (why is not None)
    if why is not None:
        row = remind(staff_pages, visit)
        assert why in row and "Send anyway" not in row
    assert simulator.messages(to=patient.phones[0].number) == []
    assert planned(session, visit) == before


def test_outside_the_allowed_hours_it_says_when_texts_may_go(
    staff_pages: PageClient, visit: Appointment, session: Session, office: Office, simulator: SimulatorClient
) -> None:
    hour = utcnow().astimezone(ZoneInfo("America/New_York")).hour  # the patient's (212) number
    office.quiet_hours_start, office.quiet_hours_end = (time(0, 0), time(1, 0)) if hour >= 2 else (time(3), time(23))
    session.commit()
    row = remind(staff_pages, visit)
    match = re.search(r"Not sent: it is (\d+:\d\d [AP]M) where the patient is \((E[SD]T)\)", row)
    assert match, row
    opens = "12:00 AM" if hour >= 2 else "3:00 AM"
    assert f"texts go from {opens} to " in row and "the next moment is " in row
    assert f"{opens} {match.group(2)}; the planned reminders still go at their times." in row
    assert simulator.messages(to=visit.patient.phones[0].number) == []


def test_without_htmx_the_notice_comes_back_with_the_page(
    staff_pages: PageClient, visit: Appointment, session: Session
) -> None:
    sent_before(session, visit, hours=1)
    back = f"/schedule?day={visit.starts_at.astimezone(ZoneInfo('America/New_York')).date()}"
    response = staff_pages.post(f"/schedule/appointments/{visit.id}/remind", {"next": back})
    assert (response.status_code, response.headers["location"]) == (303, f"{back}&override={visit.id}")
    page = staff_pages.get(response.headers["location"]).text
    assert "Not sent: the patient already had 1 reminder today" in page
    assert page.count("Send anyway (over the limit, recorded)") == 1  # in that row only
