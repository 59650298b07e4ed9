"""End to end with the web service and the simulator: a patient joins the waitlist through the API, another's
appointment is cancelled through the API, the dispatcher texts the offer to the simulated phone, the patient
answers YES on it, and the slot is booked; the phone shows the answer and the schedule the outcome."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.models import Appointment, AppointmentStatus, Role, WaitlistSlot
from clinic_reminders.settings import Settings
from clinic_reminders.simulator import SimulatorConfig
from tests.conftest import TEST_SECRET_KEY
from tests.factories import (
    make_appointment,
    make_clinic,
    make_office,
    make_patient,
    make_provider,
    make_token,
    make_user,
)
from tests.fixtures.simulator import CLINIC_NUMBER, SimulatorClient
from tests.integration.test_answers import Service


@pytest.fixture
def service(
    engine: Engine, session_factory: sessionmaker[Session], database_url: str, simulator: SimulatorClient
) -> Iterator[Service]:
    settings = Settings(
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        embedded_worker=False,
        twilio_account_sid=simulator.account_sid,
        twilio_auth_token=simulator.auth_token,
        twilio_phone_number=CLINIC_NUMBER,
        twilio_api_base_url=simulator.base_url,
        sender_rate=1000.0,
    )
    service = Service(settings, engine, simulator, session_factory)
    with service.server:
        simulator.reset(
            SimulatorConfig.for_account(
                simulator.account_sid,
                simulator.auth_token,
                phone_numbers=[CLINIC_NUMBER],
                sms_url=f"{service.url}/app_confirm",
                sms_method="GET",
                callback_delay_ms=5,
            )
        )
        yield service


def test_a_cancelled_slot_is_offered_by_text_and_booked_by_a_yes(service: Service, session: Session) -> None:
    office = make_office(session)
    clinic = make_clinic(session, office, name="Riverside", timezone="America/New_York")
    chen = make_provider(session, office, clinic, name="Chen")
    starts = datetime.now(UTC).replace(hour=20, minute=0, second=0, microsecond=0) + timedelta(days=3)
    freed = make_appointment(session, clinic, make_patient(session, office, "Can", "Celler"), chen, starts_at=starts)
    waiting = make_patient(session, office, "Ana", "Lopez")
    number = waiting.phones[0].number
    token = make_token(session, make_user(session, office, Role.STAFF))
    session.commit()
    api = httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    joined = api.post("/api/waitlist", json={"patient_id": waiting.id, "provider_id": chen.id})
    assert joined.status_code == 201, joined.text
    assert api.post(f"/api/appointments/{freed.id}/cancel").json()["status"] == "cancelled"
    service.dispatch()

    [offer] = service.simulator.messages(to=number)
    assert offer["body"].startswith("Riverside: a time opened up. Reply YES to take ")
    assert offer["body"].endswith(" with Dr. Chen. STOP=opt out")
    answer = service.simulator.reply(from_=number, to=CLINIC_NUMBER, body="YES")
    assert answer["status"] == 200
    assert "you are booked" in answer["body"]
    texts = [m["body"] for m in service.simulator.messages(to=number)]
    assert len(texts) == 2 and texts[-1].startswith("Thank you, you are booked")  # the phone shows the answer

    session.expire_all()
    booked = session.scalars(select(Appointment).where(Appointment.patient_id == waiting.id)).one()
    assert (booked.starts_at, booked.provider_id, booked.status) == (starts, chen.id, AppointmentStatus.CONFIRMED)
    slot = session.scalars(select(WaitlistSlot)).one()
    assert (slot.status, slot.filled_appointment_id) == ("filled", booked.id)
    shown = api.get("/api/waitlist/slots").json()["items"][0]
    assert [o["status"] for o in shown["offers"]] == ["accepted"]
    assert api.get(f"/api/waitlist/{joined.json()['id']}").json()["status"] == "booked"
    api.close()
