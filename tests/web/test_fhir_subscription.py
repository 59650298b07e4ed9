"""The FHIR Subscription rest-hook endpoint: notifications shaped as servers send them (HAPI's PUT of the resource,
a Subscriptions-backport history Bundle, an empty ping) import through the FHIR reader and the upsert path; a
repeat changes nothing; a bad token, an unknown destination and an unusable body change nothing either. And the
loop: imported from FHIR, confirmed by the patient, written back, notified again, nothing applied twice."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.operationoutcome import OperationOutcome
from httpx import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clinic_reminders import booking
from clinic_reminders.crypto import SecretBox
from clinic_reminders.models import (
    Appointment,
    AppointmentStatus,
    AuditEntry,
    Destination,
    Event,
    EventType,
    Office,
    Patient,
)
from clinic_reminders.writeback import destinations, fhir_subscription, payload
from clinic_reminders.writeback.fhir_out import FhirTransport
from clinic_reminders.writeback.registry import config_of
from tests.conftest import TEST_SECRET_KEY
from tests.factories import make_import_office
from tests.fixtures.fhir_server import TOKEN, FhirServer

BOX = SecretBox(TEST_SECRET_KEY)
FHIR_JSON = {"Content-Type": "application/fhir+json"}


def appointment(appointment_id: str = "A1", patient: str = "Patient/P1", status: str = "booked") -> dict[str, Any]:
    """An Appointment as a FHIR server notifies it: participants by reference, with display names."""
    return {
        "resourceType": "Appointment",
        "id": appointment_id,
        "meta": {"versionId": "3", "lastUpdated": "2040-06-01T09:12:44.120+00:00"},
        "status": status,
        "serviceType": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/service-type", "code": "124"}]}],
        "start": "2040-06-12T09:00:00-06:00",
        "end": "2040-06-12T09:30:00-06:00",
        "participant": [
            {"actor": {"reference": patient, "display": "Ana López"}, "required": "required", "status": "accepted"},
            {"actor": {"reference": "Practitioner/D1", "display": "Dr. Maria Chen"}, "status": "accepted"},
            {"actor": {"reference": "Location/L1", "display": "Riverside"}, "status": "accepted"},
        ],
    }


def patient(patient_id: str = "P1", family: str = "López", given: str = "Ana") -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": patient_id,
        "meta": {"versionId": "1"},
        "identifier": [{"system": "urn:oid:1.2.36.146.595.217.0.1", "value": f"MRN-{patient_id}"}],
        "name": [{"use": "official", "family": family, "given": [given]}],
        "telecom": [{"system": "phone", "value": "(303) 555-0142", "use": "mobile"}],
        "birthDate": "1980-01-15",
    }


@pytest.fixture
def server() -> Iterator[FhirServer]:
    with FhirServer() as fhir:
        fhir.put(patient())
        yield fhir


@pytest.fixture
def destination(session: Session, office: Office, server: FhirServer) -> Destination:
    make_import_office(session)
    saved = destinations.create(
        session,
        office.id,
        name="PMS FHIR",
        kind="fhir",
        settings={"base_url": server.base_url, "auth": "bearer"},
        secret=TOKEN,
        enabled=True,
        box=BOX,
        actor="user:1",
    )
    session.commit()
    return saved.destination


@pytest.fixture
def token(session: Session, destination: Destination) -> str:
    token = fhir_subscription.new_token(session, destination, "user:1")
    session.commit()
    return token


def notify(client: TestClient, destination_id: int | str, token: str, body: Any, path: str = "") -> Response:
    url = f"/fhir/subscription/{destination_id}{path}"
    headers = {**FHIR_JSON, "Authorization": f"Bearer {token}"}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    method = "PUT" if path else "POST"
    return client.request(method, url, content=content, headers=headers)


def diagnostics(response: Response) -> list[str]:
    outcome = OperationOutcome.model_validate(response.json())
    assert response.headers["content-type"].startswith("application/fhir+json")
    return [issue.diagnostics or "" for issue in outcome.issue]


def counts(session: Session) -> tuple[int, int, int]:
    session.expire_all()
    return (
        session.scalar(select(func.count()).select_from(Appointment)) or 0,
        session.scalar(select(func.count()).select_from(Event)) or 0,
        session.scalar(select(func.count()).select_from(AuditEntry)) or 0,
    )


def imported(session: Session, external_id: str = "A1") -> Appointment:
    session.expire_all()
    found = session.scalar(select(Appointment).where(Appointment.external_id == external_id))
    assert found is not None
    return found


def test_a_put_of_an_appointment_imports_it_with_its_patient_read_from_the_server(
    anon_client: TestClient, session: Session, destination: Destination, token: str, server: FhirServer
) -> None:
    answer = notify(anon_client, destination.id, token, appointment(), "/Appointment/A1")
    assert answer.status_code == 200, answer.text
    assert diagnostics(answer) == [
        "appointments: 1 created, 0 updated, 0 unchanged, 0 cancelled; patients: 1 created, 0 updated, 0 unchanged; "
        "rejected: 0 records"
    ]
    [read] = server.seen("GET")
    assert read.path == "/fhir/Patient/P1" and read.header("Authorization") == f"Bearer {TOKEN}"
    visit = imported(session)
    assert (visit.status, visit.clinic.name, visit.provider and visit.provider.name) == (
        AppointmentStatus.SCHEDULED,
        "Riverside",
        "Maria Chen",
    )
    assert visit.starts_at.isoformat() == "2040-06-12T15:00:00+00:00" and visit.duration_minutes == 30
    assert (visit.patient.external_id, visit.patient.first_name, visit.patient.last_name) == ("P1", "Ana", "López")
    before = counts(session)
    again = notify(anon_client, destination.id, token, appointment(), "/Appointment/A1")
    assert again.status_code == 200 and "0 created, 0 updated, 1 unchanged" in diagnostics(again)[0]
    assert counts(session) == before


def test_a_history_bundle_imports_the_appointments_and_patients_it_holds(
    anon_client: TestClient, session: Session, destination: Destination, token: str, server: FhirServer
) -> None:
    status = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "subscription", "valueReference": {"reference": f"{server.base_url}/Subscription/S1"}},
            {"name": "status", "valueCode": "active"},
            {"name": "type", "valueCode": "event-notification"},
            {"name": "events-since-subscription-start", "valueString": "7"},
        ],
    }
    bundle = {
        "resourceType": "Bundle",
        "type": "history",
        "timestamp": "2040-06-01T09:12:45Z",
        "entry": [
            {"fullUrl": "urn:uuid:2d1f3b4c-0000-4000-8000-000000000001", "resource": status},
            {
                "fullUrl": f"{server.base_url}/Appointment/A2",
                "resource": appointment("A2", f"{server.base_url}/Patient/P2"),
                "request": {"method": "PUT", "url": "Appointment/A2"},
                "response": {"status": "200"},
            },
            {"fullUrl": f"{server.base_url}/Patient/P2", "resource": patient("P2", "Okafor", "Ben")},
        ],
    }
    answer = notify(anon_client, destination.id, token, bundle)
    assert answer.status_code == 200, answer.text
    assert server.requests == []  # everything was in the Bundle
    visit = imported(session, "A2")
    assert (visit.patient.first_name, visit.patient.last_name) == ("Ben", "Okafor")
    cancelled = {**bundle, "entry": [{**bundle["entry"][1], "resource": appointment("A2", "Patient/P2", "cancelled")}]}
    answer = notify(anon_client, destination.id, token, cancelled)
    assert answer.status_code == 200 and "1 cancelled" in diagnostics(answer)[0]
    assert imported(session, "A2").status == AppointmentStatus.CANCELLED
    assert [r.path for r in server.requests] == ["/fhir/Patient/P2"]  # named, not included: read


def test_a_contained_patient_is_imported_under_its_identifier(
    anon_client: TestClient, session: Session, destination: Destination, token: str, server: FhirServer
) -> None:
    resource = {**appointment("A3", "#pat"), "contained": [{**patient("pat", "Novak", "Eva")}]}
    answer = notify(anon_client, destination.id, token, resource)
    assert answer.status_code == 200, answer.text
    assert imported(session, "A3").patient.external_id == "MRN-pat"
    assert server.requests == []


def test_an_empty_ping_imports_nothing_and_an_empty_put_reads_the_appointment(
    anon_client: TestClient, session: Session, destination: Destination, token: str, server: FhirServer
) -> None:
    ping = notify(anon_client, destination.id, token, b"")
    assert ping.status_code == 200 and diagnostics(ping) == ["nothing to import"]
    assert counts(session)[0] == 0
    server.put(appointment())
    told = notify(anon_client, destination.id, token, b"", "/Appointment/A1")
    assert told.status_code == 200, told.text
    assert [r.path for r in server.requests] == ["/fhir/Appointment/A1", "/fhir/Patient/P1"]
    assert imported(session).patient.external_id == "P1"


@pytest.mark.parametrize("wrong", ["a-wrong-token", ""])
def test_a_bad_token_or_an_unknown_destination_is_401_and_imports_nothing(
    anon_client: TestClient, session: Session, destination: Destination, token: str, server: FhirServer, wrong: str
) -> None:
    before = counts(session)
    bad = notify(anon_client, destination.id, wrong, appointment())
    unknown = notify(anon_client, destination.id + 1000, token, appointment())
    not_an_id = notify(anon_client, "١٢", token, appointment())  # Arabic-Indic digits
    for answer in (bad, unknown, not_an_id):
        assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
        assert answer.json() == bad.json()
    assert counts(session) == before and server.requests == []


def test_a_new_token_replaces_the_old_one_and_survives_a_change_of_settings(
    anon_client: TestClient, admin_client: TestClient, session: Session, destination: Destination, token: str
) -> None:
    newer = fhir_subscription.new_token(session, destination, "user:1")
    destinations.change(
        session,
        destination,
        box=BOX,
        actor="user:1",
        settings={"base_url": destination.settings["base_url"], "event_types": ["appointment.confirmed"]},
    )
    session.commit()
    assert notify(anon_client, destination.id, token, appointment()).status_code == 401
    assert notify(anon_client, destination.id, newer, appointment()).status_code == 200
    shown = admin_client.get(f"/api/writeback/destinations/{destination.id}").json()["settings"]
    assert "subscription_token_sha256" not in shown and shown["base_url"] == destination.settings["base_url"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"{not json", 400, "not JSON"),
        ({"resourceType": "Observation", "status": "final", "code": {"text": "x"}}, 422, "Observation is not taken"),
        (
            {k: v for k, v in appointment().items() if k != "participant"},
            422,
            "not valid FHIR R4 (participant: missing)",
        ),
        ({**appointment(), "start": "12 June 2040"}, 422, "not valid FHIR R4 (start: value_error)"),
        (appointment(status="proposed"), 422, "Appointment.status: proposed is not imported"),
        ({**appointment(), "participant": appointment()["participant"][1:]}, 422, "no Patient among"),
    ],
)
def test_an_unusable_notification_changes_nothing(
    anon_client: TestClient, session: Session, destination: Destination, token: str, body: Any, status: int, words: str
) -> None:
    before = counts(session)
    answer = notify(anon_client, destination.id, token, body)
    assert answer.status_code == status, answer.text
    assert any(words in d for d in diagnostics(answer)), diagnostics(answer)
    assert counts(session) == before


def test_the_body_must_be_the_resource_the_url_names(
    anon_client: TestClient, session: Session, destination: Destination, token: str
) -> None:
    answer = notify(anon_client, destination.id, token, appointment("A9"), "/Appointment/A1")
    assert answer.status_code == 422 and diagnostics(answer) == ["the body is not the Appointment that the URL names"]
    assert counts(session)[0] == 0


def test_no_patient_data_reaches_the_log(
    anon_client: TestClient,
    destination: Destination,
    token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        notify(anon_client, destination.id, token, appointment(), "/Appointment/A1")
        notify(anon_client, destination.id, token, appointment(status="proposed"), "/Appointment/A1")
    # httpx logs every URL it calls at INFO (the test's client, and our reads of the server): the service keeps it
    # at WARNING (logs.configure)
    ours = [record for record in caplog.records if not record.name.startswith(("httpx", "httpcore"))]
    logged = "\n".join(record.getMessage() for record in ours)
    assert "FHIR notification for destination" in logged
    assert f"/fhir/subscription/{destination.id}/Appointment/…" in logged
    for value in ("López", "Ana", "0142", "MRN-P1", "/A1"):
        assert value not in logged


def test_an_answer_goes_back_and_the_servers_next_notification_changes_nothing(
    anon_client: TestClient, session: Session, destination: Destination, token: str, server: FhirServer
) -> None:
    server.put(appointment(status="pending"))
    notify(anon_client, destination.id, token, server.resources["Appointment/A1"], "/Appointment/A1")
    visit = imported(session)
    booking.set_status(session, visit, AppointmentStatus.CONFIRMED, "patient:sms")  # the patient's "1"
    session.commit()
    confirmed = session.scalar(select(Event).where(Event.type == EventType.APPOINTMENT_CONFIRMED))
    assert confirmed is not None
    config = config_of(session.get(Destination, destination.id) or destination, BOX)
    result = FhirTransport().send(config, payload.build(session, confirmed), timeout=10)
    assert result.endswith("AppointmentResponse accepted (HTTP 201)")
    assert server.resources["Appointment/A1"]["status"] == "booked"
    before = counts(session)
    echo = notify(anon_client, destination.id, token, server.resources["Appointment/A1"], "/Appointment/A1")
    assert echo.status_code == 200 and "1 unchanged" in diagnostics(echo)[0]
    assert counts(session) == before and imported(session).status == AppointmentStatus.CONFIRMED
    created = session.scalar(select(Event).where(Event.type == EventType.APPOINTMENT_CREATED))
    assert created is not None
    assert FhirTransport().send(config, payload.build(session, created), timeout=10).startswith("not sent")


def test_a_patient_already_known_is_kept_when_the_server_cannot_be_read(
    anon_client: TestClient, session: Session, destination: Destination, token: str, server: FhirServer
) -> None:
    notify(anon_client, destination.id, token, appointment(), "/Appointment/A1")
    server.token = "rotated-on-the-server"
    answer = notify(anon_client, destination.id, token, appointment("A4"), "/Appointment/A4")
    assert answer.status_code == 200, answer.text
    assert (
        diagnostics(answer)[-1]
        == "a Patient that an Appointment names could not be read: GET Patient: HTTP 401 (login)"
    )
    assert imported(session, "A4").patient_id == imported(session).patient_id
    assert session.scalar(select(func.count()).select_from(Patient)) == 1


def test_an_appointment_in_the_past_is_imported_with_a_warning(
    anon_client: TestClient, session: Session, destination: Destination, token: str
) -> None:
    past = {**appointment(), "start": "2020-06-12T09:00:00-06:00", "end": "2020-06-12T09:30:00-06:00"}
    answer = notify(anon_client, destination.id, token, past, "/Appointment/A1")
    assert answer.status_code == 200, answer.text
    assert diagnostics(answer)[1] == (
        "entry 1 (Appointment): warning: starts_at: the start is in the past: no reminder goes out for it"
    )
    assert imported(session).starts_at.year == 2020
