"""End to end: a patient answers "1" on the simulated phone, and the practice-management system's webhook
receiver gets the confirmation, signed (checked with the `standardwebhooks` library), with the ids it matches on."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_reminders.models import Clinic, Delivery, Destination, Office
from tests.factories import make_patient
from tests.fixtures.simulator import CLINIC_NUMBER
from tests.integration.test_answers import Service, book, clinic, office, service
from tests.integration.writeback_support import (
    Receiver,
    _receiver_server,
    add_destination,
    engine_settings,
    eventually,
    in_order_per_appointment,
    receiver,
    running_engine,
    statuses,
)

__all__ = ["_receiver_server", "clinic", "office", "receiver", "service"]  # fixtures


def test_a_patients_confirmation_reaches_the_pms_signed(
    service: Service, session: Session, office: Office, clinic: Clinic, receiver: Receiver, database_url: str
) -> None:
    patient = make_patient(session, office, first_name="Ana", last_name="Lopez", external_id="PMS-77")
    appointment = book(session, clinic, patient)
    appointment.external_id = "APT-1234"
    session.commit()
    pms = receiver.endpoint("pms")
    destination = add_destination(session, office.id, receiver.url_of("pms"))
    service.dispatch()
    number = patient.phones[0].number

    with running_engine(engine_settings(database_url), service.sessions):
        answer = service.simulator.reply(from_=number, to=CLINIC_NUMBER, body="1")
        assert "confirmed" in answer["body"]
        [confirmed] = eventually(lambda: pms.received("appointment.confirmed"))
        # The reply's own delivery outcome follows; wait until nothing is left on its way.
        eventually(lambda: set(statuses(service.sessions, destination.id)) == {"delivered"})

    assert pms.forged == 0 and pms.arrivals  # every request carried a valid signature
    assert confirmed["version"] == 1 and confirmed["office_id"] == office.id
    data = confirmed["data"]
    assert data["appointment"]["id"] == appointment.id and data["appointment"]["external_id"] == "APT-1234"
    assert data["appointment"]["status"] == "confirmed"
    assert data["patient"]["external_id"] == "PMS-77" and data["patient"]["given_name"] == "Ana"
    types = in_order_per_appointment(pms.applied)[appointment.id]
    assert types.index("patient.answered") < types.index("appointment.confirmed")
    assert "reminder.sent" in types  # the reminder's own events came first, in their order
    session.expire_all()
    deliveries = session.scalars(select(Delivery).where(Delivery.destination_id == destination.id)).all()
    assert {d.status for d in deliveries} == {"delivered"} and len(deliveries) == len(pms.applied)
    assert session.get(Destination, destination.id).last_result == "OK: HTTP 204 No Content"  # type: ignore[union-attr]
