"""Two-way texting through the API: the inbox, a conversation, staff texts under the same rules as reminders."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_reminders.models import AuditEntry, Clinic, Direction, Message, Office, Patient, StaffUser
from clinic_reminders.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.factories import make_clinic, make_message, make_patient, register_office
from tests.fixtures.simulator import CLINIC_NUMBER, SimulatorClient


@pytest.fixture
def settings(database_url: str, simulator: SimulatorClient) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        embedded_worker=False,
        twilio_account_sid=simulator.account_sid,
        twilio_auth_token=simulator.auth_token,
        twilio_phone_number=CLINIC_NUMBER,
        twilio_api_base_url=simulator.base_url,
    )


@pytest.fixture
def patient(session: Session, office: Office) -> Iterator[Patient]:
    make_clinic(session, office, timezone="America/New_York")
    # Texts are allowed at every hour of this office's day, so the tests do not depend on the clock.
    office.quiet_hours_start, office.quiet_hours_end = time(0, 0), time(23, 59, 59)
    patient = make_patient(session, office, first_name="Ana")
    session.commit()
    yield patient


def _message(session: Session, patient: Patient, direction: str, body: str, **fields: object) -> Message:
    office = session.get(Office, patient.office_id)
    assert office is not None
    message = make_message(
        session, office, patient, direction=Direction(direction), body=body, status="received", **fields
    )
    session.commit()
    return message


def test_the_inbox_puts_people_who_need_a_person_first(
    staff_client: TestClient, session: Session, office: Office, patient: Patient
) -> None:
    other = make_patient(session, office, first_name="Ben")
    _message(session, patient, Direction.INBOUND, "maybe?", unread=True, needs_person=True)
    _message(session, other, Direction.INBOUND, "1", unread=False)
    page = staff_client.get("/api/conversations").json()
    assert [c["patient_id"] for c in page["items"]] == [patient.id, other.id]
    assert page["items"][0]["needs_person"] == 1 and page["items"][0]["unread"] == 1
    only = staff_client.get("/api/conversations", params={"unread": True}).json()
    assert [c["patient_id"] for c in only["items"]] == [patient.id]


def test_reading_a_conversation_and_marking_it_read(
    staff_client: TestClient, session: Session, patient: Patient
) -> None:
    _message(session, patient, Direction.OUTBOUND, "reminder")
    _message(session, patient, Direction.INBOUND, "1", unread=True)
    conversation = staff_client.get(f"/api/conversations/{patient.id}").json()
    assert [m["body"] for m in conversation["messages"]] == ["reminder", "1"]
    assert staff_client.post(f"/api/conversations/{patient.id}/read").json() == {"marked_read": 1}
    assert staff_client.get("/api/messages", params={"unread": True}).json()["total"] == 0


def test_staff_text_a_patient_through_twilio(
    staff_client: TestClient, session: Session, patient: Patient, simulator: SimulatorClient, staff_user: StaffUser
) -> None:
    response = staff_client.post(f"/api/conversations/{patient.id}/messages", json={"body": "Your results are in."})
    assert response.status_code == 201, response.text
    sent = simulator.messages(to=patient.phones[0].number)
    assert [m["body"] for m in sent] == ["Your results are in."]
    assert response.json()["status"] == "queued" and response.json()["sent_by_user_id"] == staff_user.id
    message = session.scalars(select(Message)).one()
    assert message.twilio_sid == sent[0]["sid"]


def test_opted_out_patients_cannot_be_texted_even_urgently(
    staff_client: TestClient, session: Session, patient: Patient, simulator: SimulatorClient
) -> None:
    patient.sms_opted_out_at = datetime.now(UTC)
    session.commit()
    response = staff_client.post(f"/api/conversations/{patient.id}/messages", json={"body": "Hi", "urgent": True})
    assert response.status_code == 409 and "opted out" in response.json()["detail"]
    assert simulator.messages() == []


def test_a_staff_text_from_a_number_carriers_would_block_is_refused_and_says_why(
    staff_client: TestClient, session: Session, patient: Patient, simulator: SimulatorClient, office: Office
) -> None:
    [clinic] = session.scalars(select(Clinic)).all()
    clinic.twilio_number = "+14155550100"  # a US local number of the account, not registered for A2P 10DLC
    session.commit()
    response = staff_client.post(f"/api/conversations/{patient.id}/messages", json={"body": "Hi", "urgent": True})
    assert response.status_code == 409
    assert response.json()["detail"].endswith("texts wait for carrier registration: brand not submitted yet")
    assert simulator.messages() == [] and session.scalars(select(Message)).all() == []
    register_office(session, office)
    session.commit()
    assert staff_client.post(f"/api/conversations/{patient.id}/messages", json={"body": "Hi"}).status_code == 201


def test_quiet_hours_apply_unless_urgent_and_the_override_is_audited(
    staff_client: TestClient, session: Session, office: Office, patient: Patient, simulator: SimulatorClient
) -> None:
    # An office whose allowed hour is far from the patient's current time, whatever the time is.
    now_local = datetime.now(ZoneInfo("America/New_York"))
    office.quiet_hours_start, office.quiet_hours_end = (
        (time(13), time(14)) if now_local.hour < 12 else (time(1), time(2))
    )
    session.commit()
    blocked = staff_client.post(f"/api/conversations/{patient.id}/messages", json={"body": "Hi"})
    assert blocked.status_code == 409 and "allowed hours" in blocked.json()["detail"]
    assert simulator.messages() == []
    urgent = staff_client.post(f"/api/conversations/{patient.id}/messages", json={"body": "Hi", "urgent": True})
    assert urgent.status_code == 201
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "patient")).all()
    assert "urgent_text" in actions


def test_resolving_an_answer_that_needed_a_person(staff_client: TestClient, session: Session, patient: Patient) -> None:
    message = _message(session, patient, Direction.INBOUND, "who is this?", unread=True, needs_person=True)
    body = staff_client.post(f"/api/messages/{message.id}/resolve").json()
    assert body["needs_person"] is False and body["unread"] is False
