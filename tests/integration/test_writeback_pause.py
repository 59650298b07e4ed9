"""Three days of failure: the delivery is given up, its destination paused and the office's admins alerted once
a day; resumed, the destination gets everything, what happened during the pause included, in order.

The engine's clock is the test's: it moves three days on without anyone waiting for them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders import events
from clinic_reminders.doctor.alerts import Watch
from clinic_reminders.models import Clinic, Delivery, Destination, EventType, Office, utcnow
from clinic_reminders.writeback.engine import resume
from tests.factories import make_appointment, make_patient
from tests.fixtures.simulator import SimulatorClient
from tests.integration.doctor_support import healthy_config, make_office_with_clinics, settings_for
from tests.integration.test_doctor_alerts import smtp
from tests.integration.writeback_support import (
    Receiver,
    _receiver_server,
    add_destination,
    engine_settings,
    eventually,
    in_order_per_appointment,
    receiver,
    running_engine,
)

__all__ = ["_receiver_server", "receiver", "smtp"]  # fixtures


def happen(sessions: sessionmaker[Session], office_id: int, *changes: tuple[EventType, int]) -> None:
    with sessions() as db, db.begin():
        for type, appointment_id in changes:
            events.record(db, office_id, type, appointment_id=appointment_id)


def test_three_days_of_failure_pause_the_destination_alert_the_admins_and_a_resume_sends_it_all(
    session_factory: sessionmaker[Session],
    database_url: str,
    simulator: SimulatorClient,
    receiver: Receiver,
    smtp: Any,
) -> None:
    simulator.reset(healthy_config())
    with session_factory() as db:
        office: Office = make_office_with_clinics(db)
        clinic = db.scalars(select(Clinic)).first()
        assert clinic is not None
        first, second = (make_appointment(db, clinic, make_patient(db, office)).id for _ in range(2))
        db.commit()
        destination = add_destination(db, office.id, receiver.url_of("pms"), name="Front desk PMS")
    pms = receiver.endpoint("pms", status=503)
    clock = [utcnow()]
    happen(session_factory, office.id, (EventType.PATIENT_ANSWERED, first), (EventType.APPOINTMENT_CONFIRMED, first))
    happen(session_factory, office.id, (EventType.APPOINTMENT_CANCELLED, second))

    with running_engine(engine_settings(database_url), session_factory, clock=lambda: clock[0]):
        eventually(lambda: attempted(session_factory, destination.id) >= 2)
        clock[0] += timedelta(days=3, minutes=1)
        paused = eventually(lambda: paused_destination(session_factory, destination.id))
        happen(session_factory, office.id, (EventType.APPOINTMENT_MOVED, second))  # while paused

        assert paused.paused_reason == "deliveries failed for 3 days, the last with HTTP 503 Service Unavailable"
        with session_factory() as db:
            rows = db.execute(select(Delivery.event_id, Delivery.status).order_by(Delivery.event_id)).all()
        failed = [status for _, status in rows].count("failed")
        assert len(rows) == 3 and rows[1].status == "pending" and failed >= 1  # the second waits behind the first

        smtp_url = f"smtp://127.0.0.1:{smtp.server_address[1]}?from=alerts@clinic.example.com"
        settings = settings_for(simulator, database_url, smtp_url=smtp_url, alert_email="admin@clinic.example.com")
        watch = Watch(settings, session_factory)
        banners = watch.look()
        assert [b.id for b in banners] == [f"writeback.paused.{destination.id}"]
        assert "Write-back to “Front desk PMS” is paused: deliveries failed for 3 days" in banners[0].text
        watch.look()
        assert len(smtp.received) == 1 and "Front desk PMS" in smtp.received[0]  # once a day, not each look

        pms.status = 200
        with session_factory() as db, db.begin():
            assert resume(db, db.get(Destination, destination.id), clock[0]) == failed  # type: ignore[arg-type]
        eventually(lambda: len(pms.applied) == 4)

    per_appointment = in_order_per_appointment(pms.applied)
    assert per_appointment == {
        first: ["patient.answered", "appointment.confirmed"],
        second: ["appointment.cancelled", "appointment.moved"],
    }
    assert Watch(settings, session_factory).look() == []


def attempted(sessions: sessionmaker[Session], destination_id: int) -> int:
    with sessions() as db:
        query = select(Delivery.attempts).where(Delivery.destination_id == destination_id, Delivery.attempts > 0)
        return len(db.scalars(query).all())


def paused_destination(sessions: sessionmaker[Session], destination_id: int) -> Destination | None:
    with sessions() as db:
        destination = db.get(Destination, destination_id)
        return destination if destination is not None and destination.paused_at is not None else None


def test_a_receiver_that_retired_its_endpoint_pauses_the_destination_at_once(
    session_factory: sessionmaker[Session], database_url: str, receiver: Receiver
) -> None:
    with session_factory() as db:
        office = make_office_with_clinics(db)
        destination = add_destination(db, office.id, receiver.url_of("gone"))
    receiver.endpoint("gone", status=410)
    happen(session_factory, office.id, (EventType.APPOINTMENT_CONFIRMED, 1), (EventType.APPOINTMENT_CONFIRMED, 2))
    with running_engine(engine_settings(database_url), session_factory):
        paused = eventually(lambda: paused_destination(session_factory, destination.id))
    assert paused.paused_reason.startswith("HTTP 410 Gone: the receiver retired it (refused for good")
    assert paused.last_result == "Failed: HTTP 410 Gone: the receiver retired it"
    with session_factory() as db:
        assert "failed" in db.scalars(select(Delivery.status)).all()
