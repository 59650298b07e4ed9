"""The inbox: conversations needing a person and unread first, threads marked read, replies through Twilio."""

from __future__ import annotations

import re
from datetime import time

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_reminders.models import Message, Office, StaffUser, utcnow
from clinic_reminders.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.fixtures.simulator import CLINIC_NUMBER, SimulatorClient
from tests.web.pages import Day, PageClient, answer, build_day, signed_in


@pytest.fixture
def settings(database_url: str, simulator: SimulatorClient) -> Settings:
    """Twilio is the simulator."""
    return Settings(
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        twilio_account_sid=simulator.account_sid,
        twilio_auth_token=simulator.auth_token,
        twilio_phone_number=CLINIC_NUMBER,
        twilio_api_base_url=simulator.base_url,
    )


@pytest.fixture
def pages(app: FastAPI, staff_user: StaffUser) -> PageClient:
    return signed_in(app, staff_user)


@pytest.fixture
def day(session: Session, office: Office) -> Day:
    office.quiet_hours_start, office.quiet_hours_end = time(0, 0), time(23, 59)  # texts allowed whenever tests run
    built = build_day(session, office)
    session.commit()
    return built


def test_conversations_needing_a_person_come_first_then_unread(pages: PageClient, day: Day) -> None:
    html = pages.get("/inbox").text
    names = re.findall(r'<a href="/inbox/\d+">([^<]+)</a>', html)
    assert names[0] == "Oscar Elsewhere" and "⚑ Needs a person" in html
    assert set(names[1:3]) == {"Carlos Confirmed", "Camila Cancelled"}  # unread answers next
    assert "Noah Silent" in names[3:]
    assert '<span class="badge" aria-label="3 unread">3</span>' in html
    only = pages.get("/inbox?only=needs-person").text
    assert "Oscar Elsewhere" in only and "Carlos Confirmed" not in only
    assert pages.get("/inbox/list").text.count('<a href="/inbox/') == len(names)


def test_opening_a_thread_marks_its_answers_read(pages: PageClient, day: Day, session: Session) -> None:
    patient = day.patients["confirmed"]
    html = pages.get(f"/inbox/{patient.id}").text
    assert "understood as confirm" in html and "Reminder: your appointment tomorrow" in html
    session.expire_all()
    unread = session.scalars(select(Message).where(Message.patient_id == patient.id, Message.unread.is_(True)))
    assert list(unread) == []
    assert 'aria-label="2 unread"' in pages.get("/inbox").text


def test_a_reply_goes_out_through_twilio_and_shows_in_the_thread(
    pages: PageClient, day: Day, session: Session, simulator: SimulatorClient
) -> None:
    patient = day.patients["silent"]
    pages.get(f"/inbox/{patient.id}")
    response = pages.post(f"/inbox/{patient.id}/reply", {"body": "Hi Noah, we moved your visit to 3 PM. See you!"})
    assert (response.status_code, response.headers["location"]) == (303, f"/inbox/{patient.id}")
    sent = simulator.messages(to=patient.phones[0].number)
    assert [m["body"] for m in sent] == ["Hi Noah, we moved your visit to 3 PM. See you!"]
    page = pages.get(f"/inbox/{patient.id}").text
    assert "Sent." in page and "we moved your visit to 3 PM" in page and "staff ·" in page


def test_a_refused_reply_says_why_and_keeps_the_draft(
    pages: PageClient, day: Day, session: Session, simulator: SimulatorClient
) -> None:
    patient = day.patients["failed"]
    patient.sms_opted_out_at = utcnow()
    session.commit()
    pages.get(f"/inbox/{patient.id}")
    response = pages.post(f"/inbox/{patient.id}/reply", {"body": "Please call us back"})
    assert response.status_code == 409 and "set-cookie" not in response.headers  # the draft stays out of the cookie
    page = response.text
    assert "Not sent: the patient opted out of texts" in page
    assert ">Please call us back</textarea>" in page
    assert simulator.messages(to=patient.phones[0].number) == []


def test_an_open_thread_receives_new_messages(pages: PageClient, day: Day, session: Session) -> None:
    appointment = day.appointments["silent"]
    html = pages.get(f"/inbox/{appointment.patient_id}").text
    since = re.search(r'data-since="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    new = answer(session, appointment, "running 10 min late", "unknown", needs_person=True)
    session.commit()
    updates = pages.client.get(f"/inbox/{appointment.patient_id}/updates", params={"since": since}).json()
    assert "running 10 min late" in updates["messages"][str(new.id)]
    session.expire_all()
    assert new.unread is False  # shown on an open thread: read


def test_a_flagged_conversation_can_be_marked_handled(pages: PageClient, day: Day, session: Session) -> None:
    patient = day.patients["other"]
    assert "Mark as handled" in pages.get(f"/inbox/{patient.id}").text
    response = pages.post(f"/inbox/{patient.id}/handled")
    assert response.status_code == 303
    session.expire_all()
    assert not any(m.needs_person for m in session.scalars(select(Message).where(Message.patient_id == patient.id)))
    assert "Mark as handled" not in pages.get(f"/inbox/{patient.id}").text
