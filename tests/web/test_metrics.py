"""/metrics: Prometheus text with the dispatcher's figures, behind a login, each office's for its own staff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from clinic_reminders import planning
from clinic_reminders.models import (
    Channel,
    Delivery,
    Destination,
    Direction,
    Message,
    MessageStatus,
    Office,
    Reminder,
    Role,
    utcnow,
)
from tests.factories import make_appointment, make_clinic, make_patient, make_token, make_user


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
    mine = f'office="{office.id}"'
    assert f"reminders_due{{{mine}}} 1.0" in text
    lag = next(line for line in text.splitlines() if line.startswith(f"reminders_oldest_due_lag_seconds{{{mine}}} "))
    assert 590 < float(lag.split()[1]) < 900
    assert f'reminders{{{mine},status="planned"}} {float(len(planned))}' in text
    assert "twilio_request_seconds_bucket" in text, "the only office's staff see the process's own counters"


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
    mine = f'office="{office.id}"'
    assert f'writeback_deliveries{{kind="webhook",{mine},status="pending"}} 2.0' in text
    assert f'writeback_deliveries{{kind="webhook",{mine},status="delivered"}} 1.0' in text
    assert f'writeback_deliveries{{kind="hl7",{mine},status="failed"}} 1.0' in text
    assert f"writeback_destinations_paused{{{mine}}} 1.0" in text
    oldest = next(line for line in text.splitlines() if line.startswith(f"writeback_oldest_pending_seconds{{{mine}}} "))
    assert 290 < float(oldest.split()[1]) < 600


def test_each_office_sees_its_own_figures_and_an_operator_every_offices(
    app: FastAPI, staff_client: TestClient, session: Session, office: Office, other_office: Office
) -> None:
    """On a deployment hosting several offices, an office's staff see their office's series only, and not the
    process's counters (they are every office's at once); the operator sees every office's, and those."""
    planning.ensure_default_rules(session, other_office)
    make_appointment(
        session,
        make_clinic(session, other_office),
        make_patient(session, other_office),
        starts_at=datetime.now(UTC) + timedelta(days=5),
    )
    session.execute(update(Reminder).where(Reminder.office_id == other_office.id).values(due_at=utcnow()))
    session.add(
        Message(
            office_id=other_office.id,
            direction=Direction.OUTBOUND,
            channel=Channel.SMS,
            to_number="+13035550199",
            from_number="+13035550100",
            body="x",
            status=MessageStatus.UNDELIVERED,
            error_code=30007,
        )
    )
    operator = make_user(session, office, role=Role.OPERATOR)
    token = make_token(session, operator)
    session.commit()

    staff = staff_client.get("/metrics").text
    assert f'office="{office.id}"' in staff
    assert f'office="{other_office.id}"' not in staff
    assert "30007" not in staff
    assert "twilio_request_seconds" not in staff and "twilio_webhooks_rejected" not in staff

    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        every = client.get("/metrics").text
    assert f'reminders_due{{office="{office.id}"}} 0.0' in every, "an office with nothing due still has its series"
    due = next(line for line in every.splitlines() if line.startswith(f'reminders_due{{office="{other_office.id}"}}'))
    assert float(due.split()[1]) >= 1
    assert f'messages_failed{{code="30007",office="{other_office.id}"}} 1.0' in every
    assert "twilio_request_seconds_bucket" in every
