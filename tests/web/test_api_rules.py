"""Reminder rules: validation, admin-only changes, and re-planning of upcoming appointments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_reminders.models import Office, Reminder
from tests.factories import make_appointment, make_clinic, make_patient

RULE = {"name": "SMS 3 days before", "channel": "sms", "days_before": 3, "at_local_time": "09:30"}


def test_it_adds_a_rule_and_plans_it_for_upcoming_appointments(
    admin_client: TestClient, session: Session, office: Office
) -> None:
    clinic = make_clinic(session, office)
    appointment = make_appointment(
        session, clinic, make_patient(session, office), starts_at=datetime.now(UTC) + timedelta(days=10)
    )
    session.commit()
    response = admin_client.post("/api/reminder-rules", json=RULE)
    assert response.status_code == 201, response.text
    session.expire_all()
    reminders = session.scalars(select(Reminder).where(Reminder.appointment_id == appointment.id)).all()
    assert [r.rule_id for r in reminders] == [response.json()["id"]]
    assert admin_client.get("/api/reminder-rules").json()["total"] == 1


def test_it_turns_a_rule_off_and_cancels_what_it_planned(
    admin_client: TestClient, session: Session, office: Office
) -> None:
    rule = admin_client.post("/api/reminder-rules", json=RULE).json()
    clinic = make_clinic(session, office)
    appointment = make_appointment(
        session, clinic, make_patient(session, office), starts_at=datetime.now(UTC) + timedelta(days=10)
    )
    session.commit()
    assert admin_client.delete(f"/api/reminder-rules/{rule['id']}").status_code == 204
    session.expire_all()
    [reminder] = session.scalars(select(Reminder).where(Reminder.appointment_id == appointment.id)).all()
    assert reminder.status == "cancelled"


def test_staff_can_read_rules_but_not_change_them(staff_client: TestClient) -> None:
    assert staff_client.get("/api/reminder-rules").status_code == 200
    assert staff_client.post("/api/reminder-rules", json=RULE).status_code == 403


def test_it_explains_a_rule_without_a_time(admin_client: TestClient) -> None:
    for body in (
        {"name": "x", "channel": "sms"},
        {"name": "x", "channel": "sms", "days_before": 1},
        {"name": "x", "channel": "sms", "days_before": 1, "at_local_time": "10:00", "minutes_before": 60},
        {"name": "x", "channel": "fax", "minutes_before": 60},
    ):
        response = admin_client.post("/api/reminder-rules", json=body)
        assert response.status_code == 422, body
        assert response.json()["detail"]
