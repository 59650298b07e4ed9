"""The inbox: conversations needing a person and unread first, threads marked read, replies through Twilio."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_reminders.models import Direction, Message, MessageStatus, Office, Patient, utcnow
from clinic_reminders.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.factories import make_message
from tests.fixtures.simulator import CLINIC_NUMBER, SimulatorClient
from tests.web.pages import Day, PageClient, answer, build_day


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
def day(session: Session, office: Office) -> Day:
    office.quiet_hours_start, office.quiet_hours_end = time(0, 0), time(23, 59)  # texts allowed whenever tests run
    built = build_day(session, office)
    session.commit()
    return built


def test_conversations_needing_a_person_come_first_then_unread(staff_pages: PageClient, day: Day) -> None:
    html = staff_pages.get("/inbox").text
    names = re.findall(r'<a href="/inbox/\d+">([^<]+)</a>', html)
    assert names[0] == "Oscar Elsewhere" and "⚑ Needs a person" in html
    assert set(names[1:3]) == {"Carlos Confirmed", "Camila Cancelled"}  # unread answers next
    assert "Noah Silent" in names[3:]
    assert '<span class="badge" aria-label="3 unread">3</span>' in html
    only = staff_pages.get("/inbox?only=needs-person").text
    assert "Oscar Elsewhere" in only and "Carlos Confirmed" not in only
    assert staff_pages.get("/inbox/list").text.count('<a href="/inbox/') == len(names)


def test_opening_a_thread_marks_its_answers_read(staff_pages: PageClient, day: Day, session: Session) -> None:
    patient = day.patients["confirmed"]
    html = staff_pages.get(f"/inbox/{patient.id}").text
    assert "understood as confirm" in html and "Reminder: your appointment tomorrow" in html
    session.expire_all()
    unread = session.scalars(select(Message).where(Message.patient_id == patient.id, Message.unread.is_(True)))
    assert list(unread) == []
    assert 'aria-label="2 unread"' in staff_pages.get("/inbox").text


def test_a_reply_goes_out_through_twilio_and_shows_in_the_thread(
    staff_pages: PageClient, day: Day, session: Session, simulator: SimulatorClient
) -> None:
    patient = day.patients["silent"]
    staff_pages.get(f"/inbox/{patient.id}")
    response = staff_pages.post(
        f"/inbox/{patient.id}/reply", {"body": "Hi Noah, we moved your visit to 3 PM. See you!"}
    )
    assert (response.status_code, response.headers["location"]) == (303, f"/inbox/{patient.id}")
    sent = simulator.messages(to=patient.phones[0].number)
    assert [m["body"] for m in sent] == ["Hi Noah, we moved your visit to 3 PM. See you!"]
    page = staff_pages.get(f"/inbox/{patient.id}").text
    assert "Sent." in page and "we moved your visit to 3 PM" in page and "staff ·" in page


def test_a_refused_reply_says_why_and_keeps_the_draft(
    staff_pages: PageClient, day: Day, session: Session, simulator: SimulatorClient
) -> None:
    patient = day.patients["failed"]
    patient.sms_opted_out_at = utcnow()
    session.commit()
    staff_pages.get(f"/inbox/{patient.id}")
    response = staff_pages.post(f"/inbox/{patient.id}/reply", {"body": "Please call us back"})
    assert response.status_code == 409 and "set-cookie" not in response.headers  # the draft stays out of the cookie
    page = response.text
    assert "Not sent: the patient opted out of texts" in page
    assert ">Please call us back</textarea>" in page
    assert simulator.messages(to=patient.phones[0].number) == []


def test_an_open_thread_receives_new_messages(staff_pages: PageClient, day: Day, session: Session) -> None:
    appointment = day.appointments["silent"]
    html = staff_pages.get(f"/inbox/{appointment.patient_id}").text
    since = re.search(r'data-since="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    new = answer(session, appointment, "running 10 min late", "unknown", needs_person=True)
    session.commit()
    updates = staff_pages.client.get(f"/inbox/{appointment.patient_id}/updates", params={"since": since}).json()
    assert "running 10 min late" in updates["messages"][str(new.id)]
    session.expire_all()
    assert new.unread is False  # shown on an open thread: read


def test_a_flagged_conversation_can_be_marked_handled(staff_pages: PageClient, day: Day, session: Session) -> None:
    patient = day.patients["other"]
    assert "Mark as handled" in staff_pages.get(f"/inbox/{patient.id}").text
    response = staff_pages.post(f"/inbox/{patient.id}/handled")
    assert response.status_code == 303
    session.expire_all()
    assert not any(m.needs_person for m in session.scalars(select(Message).where(Message.patient_id == patient.id)))
    assert "Mark as handled" not in staff_pages.get(f"/inbox/{patient.id}").text


UNKNOWN = "+12125550177"  # nobody's number in build_day


def _from_unknown(session: Session, office: Office, body: str, minutes_ago: int = 0) -> Message:
    """A text from a number of no patient, and the automatic reply, as /app_confirm records them."""
    at = utcnow() - timedelta(minutes=minutes_ago)
    when = {"number": UNKNOWN, "created_at": at, "updated_at": at}
    text = make_message(
        session,
        office,
        direction=Direction.INBOUND,
        body=body,
        interpretation="unknown",
        needs_person=True,
        unread=True,
        **when,
    )
    make_message(session, office, body="We will call you soon.", status=MessageStatus.PENDING, **when)
    session.commit()
    return text


def test_a_text_from_an_unknown_number_waits_in_the_inbox_for_a_person(
    staff_pages: PageClient, day: Day, session: Session
) -> None:
    _from_unknown(session, day.office, "Hi, this is Maria Lopez, I need to move my visit")
    html = staff_pages.get("/inbox").text
    row = re.search(r'<tr class="unread unknown">(.*?)</tr>', html, re.S)
    assert row, "the unknown number has no row in the inbox"
    assert f'href="/inbox/number/{UNKNOWN}">Unknown number</a>' in row.group(1)
    assert "(212) 555-0177" in row.group(1) and "⚑ Needs a person" in row.group(1)
    assert "↩ Hi, this is Maria Lopez" in row.group(1)  # the patient's words, not the bot's answer after them
    assert "Unknown number" in staff_pages.get("/inbox?only=needs-person").text
    thread = staff_pages.get(f"/inbox/number/{UNKNOWN}").text
    assert "I need to move my visit" in thread and "automatic reply" in thread
    assert "Link to a patient" in thread and "Or create a patient" in thread


def test_an_unknown_number_is_linked_to_the_patient_staff_find(
    staff_pages: PageClient, day: Day, session: Session
) -> None:
    _from_unknown(session, day.office, "It's Noah, running late", minutes_ago=2)
    noah = day.patients["silent"]
    found = staff_pages.get(f"/inbox/number/{UNKNOWN}", params={"q": "noah sil"}).text
    assert "Link to Noah Silent" in found and "Camila" not in found
    response = staff_pages.post(f"/inbox/number/{UNKNOWN}/link", {"patient_id": str(noah.id)})
    assert (response.status_code, response.headers["location"]) == (303, f"/inbox/{noah.id}")
    thread = staff_pages.get(f"/inbox/{noah.id}").text
    assert "running late" in thread and "The number is now Noah Silent&#39;s" in thread
    session.expire_all()
    assert UNKNOWN in [p.number for p in session.get(Patient, noah.id).phones]  # type: ignore[union-attr]
    assert "Unknown number" not in staff_pages.get("/inbox").text
    assert staff_pages.get(f"/inbox/number/{UNKNOWN}").status_code == 404  # nothing left to link


def test_a_patient_is_created_for_an_unknown_number(staff_pages: PageClient, day: Day, session: Session) -> None:
    _from_unknown(session, day.office, "New here, do you take walk-ins?")
    staff_pages.get(f"/inbox/number/{UNKNOWN}")
    refused = staff_pages.post(f"/inbox/number/{UNKNOWN}/new-patient", {"first_name": "Maria", "last_name": ""})
    assert refused.status_code == 422 and "last name" in refused.text
    response = staff_pages.post(
        f"/inbox/number/{UNKNOWN}/new-patient", {"first_name": "Maria", "last_name": "Lopez", "language": "es"}
    )
    assert response.status_code == 303
    maria = session.scalars(select(Patient).where(Patient.last_name == "Lopez")).one()
    assert (maria.language, [p.number for p in maria.phones]) == ("es", [UNKNOWN])
    assert response.headers["location"] == f"/inbox/{maria.id}"
    assert "do you take walk-ins?" in staff_pages.get(f"/inbox/{maria.id}").text


def test_an_inbox_row_shows_the_patients_last_words(staff_pages: PageClient, day: Day, session: Session) -> None:
    carlos = day.appointments["confirmed"]
    make_message(session, day.office, appointment=carlos, body="Thank you, your appointment is confirmed.")
    session.commit()
    row = re.search(
        rf'<a href="/inbox/{carlos.patient_id}">Carlos Confirmed</a>.*?</tr>', staff_pages.get("/inbox").text, re.S
    )
    assert row and "↩ 1" in row.group(0) and "your appointment is confirmed" not in row.group(0)
    thread = staff_pages.get(f"/inbox/{carlos.patient_id}").text
    assert "automatic reply · delivered" in thread and "reminder · delivered" in thread
