"""End to end, the three kinds at once: a patient answers "1" on the simulated phone, and the practice-management
system hears it three ways. A webhook receiver checks the signature with the `standardwebhooks` library, an MLLP
listener receives an SIU^S14 and answers AA, and a small FHIR server receives the Appointment's update and the
patient's AppointmentResponse, both valid R4 (`fhir.resources`)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.appointmentresponse import AppointmentResponse
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message
from sqlalchemy.orm import Session

from clinic_reminders.crypto import SecretBox
from clinic_reminders.imports.hl7_ack import AckCode
from clinic_reminders.models import Clinic, Destination, Office
from tests.conftest import TEST_SECRET_KEY
from tests.factories import make_patient
from tests.fixtures.fhir_server import TOKEN, FhirServer
from tests.fixtures.simulator import CLINIC_NUMBER
from tests.integration.test_answers import Service, book, clinic, office, service
from tests.integration.test_hl7_out_mllp import Engine, ack
from tests.integration.writeback_support import (
    Receiver,
    _receiver_server,
    add_destination,
    engine_settings,
    eventually,
    receiver,
    running_engine,
    statuses,
)

__all__ = ["_receiver_server", "clinic", "office", "receiver", "service"]  # fixtures


def fhir_appointment(external_id: str, patient_id: str) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "id": external_id,
        "status": "booked",
        "start": "2040-06-12T15:00:00Z",
        "end": "2040-06-12T15:30:00Z",
        "participant": [
            {"actor": {"reference": f"Patient/{patient_id}", "display": "Ana Lopez"}, "status": "needs-action"},
            {"actor": {"reference": "Location/L1", "display": "Riverside"}, "status": "accepted"},
        ],
    }


def test_a_confirmation_reaches_a_webhook_an_interface_engine_and_a_fhir_server(
    service: Service, session: Session, office: Office, clinic: Clinic, receiver: Receiver, database_url: str
) -> None:
    patient = make_patient(session, office, first_name="Ana", last_name="Lopez", external_id="PMS-77")
    appointment = book(session, clinic, patient)
    appointment.external_id = "APT-1234"
    session.commit()
    service.dispatch()
    pms = receiver.endpoint("pms")
    webhook = add_destination(session, office.id, receiver.url_of("pms"), event_types=["appointment.confirmed"])
    box = SecretBox(TEST_SECRET_KEY)
    with Engine(ack(AckCode.ACCEPT)) as interface, FhirServer() as fhir:
        fhir.put(fhir_appointment("APT-1234", "PMS-77"))
        hl7 = Destination(
            office_id=office.id,
            name="Interface engine",
            kind="hl7",
            settings={"host": "127.0.0.1", "port": interface.port, "tls": False, "receiving_application": "PMS"},
        )
        fhir_destination = Destination(
            office_id=office.id,
            name="FHIR server",
            kind="fhir",
            settings={"base_url": fhir.base_url, "auth": "bearer"},
            secret_encrypted=box.encrypt(TOKEN),
        )
        session.add_all([hl7, fhir_destination])
        session.commit()

        with running_engine(engine_settings(database_url), service.sessions):
            answer = service.simulator.reply(from_=patient.phones[0].number, to=CLINIC_NUMBER, body="1")
            assert "confirmed" in answer["body"]
            for destination in (webhook, hl7, fhir_destination):
                eventually(lambda d=destination: set(statuses(service.sessions, d.id)) == {"delivered"})
            eventually(lambda: fhir.of_type("AppointmentResponse"))

    [confirmed] = pms.received("appointment.confirmed")
    assert pms.forged == 0
    assert confirmed["data"]["appointment"]["external_id"] == "APT-1234"

    [siu] = [text for text in interface.received if "|SIU^S14" in text]
    message = parse_message(siu, validation_level=VALIDATION_LEVEL.STRICT, force_validation=True)
    assert message.sch.sch_2.to_er7().split("^")[0] == "APT-1234"
    assert message.sch.sch_25.to_er7().split("^")[0] == "Booked"
    pid = next(line for line in siu.split("\r") if line.startswith("PID|"))
    assert pid.split("|")[3].split("^")[0] == "PMS-77"

    stored = FhirAppointment.model_validate(fhir.resources["Appointment/APT-1234"])
    assert stored.status == "booked"
    assert [p.status for p in stored.participant or [] if p.actor and "Patient/" in (p.actor.reference or "")] == [
        "accepted"
    ]
    [response] = [AppointmentResponse.model_validate(r) for r in fhir.of_type("AppointmentResponse")]
    assert response.participantStatus == "accepted" and response.appointment.reference == "Appointment/APT-1234"
    assert fhir.seen("PUT", "Appointment/APT-1234")[0].header("If-Match") == 'W/"1"'
