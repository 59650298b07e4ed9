"""/metrics: Prometheus text with the dispatcher's figures, behind a login."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_reminders import planning
from clinic_reminders.models import Delivery, Destination, Office, Reminder, utcnow
from tests.factories import make_appointment, make_clinic, make_patient


def test_it_needs_a_login(anon_client: TestClient) -> None:
    assert anon_client.get("/metrics").status_code == 401


def test_it_reports_due_reminders_and_their_lag(staff_client: TestClient, session: Session, office: Office) -> None:
    planning.ensure_default_rules(session, office)
    appointment = make_appointment(
        session,
        make_clinic(session, office),
        make_patient(session, office),
        starts_at=datetime.now(UTC) + timedelta(days=5),
    )
    planned = session.scalars(select(Reminder).where(Reminder.appointment_id == appointment.id)).all()
    assert planned, "the default rules plan reminders for a visit five days ahead"
    reminder = planned[0]
    reminder.due_at = datetime.now(UTC) - timedelta(minutes=10)
    session.commit()
    text = staff_client.get("/metrics").text
    assert "reminders_due 1.0" in text
    lag = next(line for line in text.splitlines() if line.startswith("reminders_oldest_due_lag_seconds "))
    assert 590 < float(lag.split()[1]) < 900
    assert f'reminders{{status="planned"}} {float(len(planned))}' in text
    assert "twilio_request_seconds_bucket" in text


def test_it_reports_write_back_deliveries_their_oldest_wait_and_paused_destinations(
    staff_client: TestClient, session: Session, office: Office
) -> None:
    hooks = Destination(office_id=office.id, name="PMS", kind="webhook", settings={"url": "https://pms.example.com"})
    engine = Destination(office_id=office.id, name="Interface engine", kind="hl7", settings={}, paused_at=utcnow())
    session.add_all([hooks, engine])
    session.flush()
    waiting_since = utcnow() - timedelta(minutes=5)
    for event_id, (destination, status) in enumerate(
        [(hooks, "delivered"), (hooks, "pending"), (hooks, "pending"), (engine, "failed")], start=1
    ):
        created = waiting_since if event_id == 2 else utcnow()
        session.add(
            Delivery(
                office_id=office.id, destination_id=destination.id, event_id=event_id, status=status, created_at=created
            )
        )
    session.commit()
    text = staff_client.get("/metrics").text
    assert 'writeback_deliveries{kind="webhook",status="pending"} 2.0' in text
    assert 'writeback_deliveries{kind="webhook",status="delivered"} 1.0' in text
    assert 'writeback_deliveries{kind="hl7",status="failed"} 1.0' in text
    assert "writeback_destinations_paused 1.0" in text
    oldest = next(line for line in text.splitlines() if line.startswith("writeback_oldest_pending_seconds "))
    assert 290 < float(oldest.split()[1]) < 600
