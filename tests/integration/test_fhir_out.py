"""FHIR R4 write-back to a small FHIR server in the test: the Appointment's status PUT back with If-Match, the
patient's AppointmentResponse by conditional create, both valid R4 (fhir.resources); retries, conflicts, the PMS's
own later statuses, refusals without patient data; bearer tokens and SMART backend services."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.appointmentresponse import AppointmentResponse

from clinic_reminders.models import EventType
from clinic_reminders.writeback import registry, smart_auth
from clinic_reminders.writeback.fhir_out import EVENT_SYSTEM, FhirTransport
from clinic_reminders.writeback.sample import payload as sample_payload
from clinic_reminders.writeback.transports import DeliveryFailed, DestinationConfig, Payload
from tests.fixtures.fhir_server import TOKEN, FhirServer, Smart, outcome
from tests.web.writeback_support import ec_key_pem, rsa_key_pem

PATIENT_NAME = "López"


def appointment(status: str = "booked", patient_status: str = "needs-action") -> dict[str, Any]:
    """An Appointment as a PMS's FHIR server holds it (participants by reference with display names)."""
    return {
        "resourceType": "Appointment",
        "id": "A1",
        "extension": [{"url": "https://pms.example.com/fhir/visit-room", "valueString": "Room 4"}],
        "status": status,
        "serviceType": [{"coding": [{"code": "124", "display": "General Practice"}]}],
        "start": "2040-06-12T15:00:00Z",
        "end": "2040-06-12T15:30:00Z",
        "participant": [
            {"actor": {"reference": "Practitioner/D1", "display": "Dr. Maria Chen"}, "status": "accepted"},
            {"actor": {"reference": "Patient/P1", "display": f"Ana {PATIENT_NAME}"}, "status": patient_status},
            {"actor": {"reference": "Location/L1", "display": "Riverside"}, "status": "accepted"},
        ],
    }


def event(
    kind: EventType | str = EventType.APPOINTMENT_CONFIRMED, by: str = "patient:sms", external_id: str | None = "A1"
) -> Payload:
    status = str(kind).removeprefix("appointment.")
    return {
        "id": "evt_41",
        "type": str(kind),
        "version": 1,
        "created_at": "2040-06-11T15:00:00Z",
        "office_id": 1,
        "data": {
            "appointment": {
                "id": 7,
                "external_id": external_id,
                "status": status,
                "starts_at": "2040-06-12T15:00:00Z",
                "duration_minutes": 30,
                "kind": "in-person",
                "clinic": {"id": 1, "name": "Riverside", "code": None},
                "provider": {"id": 1, "name": "Dr. Maria Chen", "code": None},
            },
            "patient": {
                "id": 3,
                "external_id": "P1",
                "family_name": PATIENT_NAME,
                "given_name": "Ana",
                "sms_opted_out": False,
                "voice_opted_out": False,
            },
            "reminder_id": None,
            "message_id": None,
            "details": {"previous": "scheduled", "by": by},
        },
    }


def destination(server: FhirServer, **settings: Any) -> DestinationConfig:
    secret = settings.pop("secret", TOKEN)
    return DestinationConfig(
        id=5,
        office_id=1,
        kind="fhir",
        name="PMS FHIR",
        settings={"base_url": server.base_url, "auth": "bearer", "event_types": None, **settings},
        secret=secret,
    )


def send(server: FhirServer, payload: Payload, **settings: Any) -> str:
    return FhirTransport().send(destination(server, **settings), payload, timeout=10)


@pytest.fixture
def server() -> Iterator[FhirServer]:
    with FhirServer() as fhir:
        fhir.put(appointment("pending"))
        yield fhir


def test_it_books_a_confirmed_appointment_and_posts_the_patients_acceptance(server: FhirServer) -> None:
    result = send(server, event(EventType.APPOINTMENT_CONFIRMED))
    assert (
        result == "Appointment pending -> booked, patient accepted (HTTP 200); AppointmentResponse accepted (HTTP 201)"
    )
    [read] = server.seen("GET")
    [put] = server.seen("PUT")
    assert (read.path, put.path) == ("/fhir/Appointment/A1", "/fhir/Appointment/A1")
    assert put.header("If-Match") == 'W/"1"' and put.header("Content-Type") == "application/fhir+json"
    updated = Appointment.model_validate(put.body)
    assert updated.status == "booked"
    assert [p.status for p in updated.participant] == ["accepted", "accepted", "accepted"]
    assert put.body["extension"] == appointment()["extension"]  # the rest as the server had it
    [post] = server.seen("POST")
    assert post.path == "/fhir/AppointmentResponse"
    assert post.header("If-None-Exist") == "identifier=urn%3Aclinic-reminders%3Aevent%7Cevt_41"
    response = AppointmentResponse.model_validate(post.body)
    assert response.participantStatus == "accepted"
    assert response.appointment.reference == "Appointment/A1" and response.actor.reference == "Patient/P1"
    assert [(i.system, i.value) for i in response.identifier] == [(EVENT_SYSTEM, "evt_41")]
    assert response.comment == "Confirmed by text message (clinic-reminders)"
    assert server.resources["Appointment/A1"]["status"] == "booked"


def test_a_retry_puts_nothing_and_makes_no_second_response(server: FhirServer) -> None:
    send(server, event(EventType.APPOINTMENT_CONFIRMED))
    again = send(server, event(EventType.APPOINTMENT_CONFIRMED))
    assert again == "Appointment already up to date; AppointmentResponse already there (HTTP 200)"
    assert len(server.seen("PUT")) == 1 and len(server.seen("POST")) == 2
    assert len(server.of_type("AppointmentResponse")) == 1
    assert server.resources["Appointment/A1"]["meta"]["versionId"] == "2"


@pytest.mark.parametrize(
    ("kind", "by", "status", "patient", "response"),
    [
        (EventType.APPOINTMENT_CANCELLED, "patient:voice", "cancelled", "declined", "declined"),
        (EventType.APPOINTMENT_CANCELLED, "user:4", "cancelled", "needs-action", None),  # the office cancelled
        (EventType.APPOINTMENT_NO_SHOW, "user:4", "noshow", "needs-action", None),
        (EventType.APPOINTMENT_RESCHEDULE_REQUESTED, "patient:sms", "booked", "needs-action", "declined"),
        (EventType.APPOINTMENT_CONFIRMED, "user:4", "booked", "accepted", "accepted"),  # the patient phoned
    ],
)
def test_each_answer_goes_back_as_its_status_and_participation(
    kind: EventType, by: str, status: str, patient: str, response: str | None
) -> None:
    with FhirServer() as server:
        server.put(
            appointment("booked", "accepted" if kind == EventType.APPOINTMENT_RESCHEDULE_REQUESTED else "needs-action")
        )
        send(server, event(kind, by=by))
    stored = Appointment.model_validate(server.resources["Appointment/A1"])
    assert (stored.status, stored.participant[1].status) == (status, patient)
    answers = [AppointmentResponse.model_validate(r) for r in server.of_type("AppointmentResponse")]
    assert [a.participantStatus for a in answers] == ([response] if response else [])


def test_a_reschedule_request_says_so_in_the_response() -> None:
    with FhirServer() as server:
        server.put(appointment("booked", "accepted"))
        result = send(server, event(EventType.APPOINTMENT_RESCHEDULE_REQUESTED, by="patient:link"))
    assert result.startswith("Appointment patient needs-action (HTTP 200); AppointmentResponse declined")
    [answer] = server.of_type("AppointmentResponse")
    assert answer["comment"] == "Asked for another time on the appointment's page (clinic-reminders)"


def test_a_412_reads_the_appointment_again_and_puts_it_with_the_new_etag(server: FhirServer) -> None:
    server.changed_before_put = 1
    send(server, event(EventType.APPOINTMENT_CANCELLED))
    assert [r.header("If-Match") for r in server.seen("PUT")] == ['W/"1"', 'W/"2"']
    assert len(server.seen("GET")) == 2
    assert server.resources["Appointment/A1"]["status"] == "cancelled"


def test_a_second_412_is_a_failure_to_retry(server: FhirServer) -> None:
    server.changed_before_put = 2
    with pytest.raises(DeliveryFailed) as failed:
        send(server, event(EventType.APPOINTMENT_CANCELLED))
    assert not failed.value.permanent and "412 twice" in failed.value.reason
    assert server.of_type("AppointmentResponse") == []


@pytest.mark.parametrize("status", ["cancelled", "fulfilled", "arrived", "entered-in-error"])
def test_the_pms_word_wins_over_a_late_confirmation(status: str) -> None:
    with FhirServer() as server:
        server.put(appointment(status))
        result = send(server, event(EventType.APPOINTMENT_CONFIRMED))
    assert result == f"not sent: the FHIR server has this Appointment as {status}"
    assert server.seen("PUT") == [] and server.seen("POST") == []


@pytest.mark.parametrize(
    ("payload", "result"),
    [
        (event(external_id=None), "not sent: the appointment did not come from a FHIR server (no FHIR id)"),
        (event(external_id="CSV row 17"), "not sent: the appointment did not come from a FHIR server (no FHIR id)"),
        (event(by="import:fhir"), "not sent: the change came from the practice-management system's own import"),
        (event(EventType.REMINDER_SENT), "not sent: no FHIR update for reminder.sent"),
        (event(EventType.APPOINTMENT_MOVED), "not sent: no FHIR update for appointment.moved"),
    ],
)
def test_what_has_no_fhir_update_is_not_sent(server: FhirServer, payload: Payload, result: str) -> None:
    assert send(server, payload) == result
    assert server.requests == []


def test_an_appointment_the_server_does_not_have_is_not_sent() -> None:
    with FhirServer() as server:
        assert send(server, event()) == "not sent: the FHIR server has no such Appointment (HTTP 404)"


def test_a_rejected_token_is_a_permanent_failure(server: FhirServer) -> None:
    with pytest.raises(DeliveryFailed) as failed:
        send(server, event(), secret="an-expired-token")
    assert failed.value.reason == "GET Appointment: HTTP 401 (login)" and failed.value.permanent
    assert server.resources["Appointment/A1"]["status"] == "pending"


def test_a_refusal_names_the_issue_code_never_the_diagnostics(server: FhirServer) -> None:
    server.answers.append(("PUT", 422, outcome("invalid", f"Patient Ana {PATIENT_NAME} has no coverage")))
    with pytest.raises(DeliveryFailed) as failed:
        send(server, event())
    assert failed.value.reason == "PUT Appointment: HTTP 422 (invalid)" and failed.value.permanent
    assert PATIENT_NAME not in str(failed.value)


def test_an_outage_is_a_failure_to_retry(server: FhirServer) -> None:
    server.answers.append(("GET", 503, outcome("transient")))
    with pytest.raises(DeliveryFailed) as failed:
        send(server, event())
    assert failed.value.reason == "GET Appointment: HTTP 503 (transient)" and not failed.value.permanent


def test_a_closed_port_is_a_failure_to_retry() -> None:
    with socket.create_server(("127.0.0.1", 0)) as unused:
        port = unused.getsockname()[1]
    config = DestinationConfig(
        5, 1, "fhir", "PMS", {"base_url": f"http://127.0.0.1:{port}/fhir", "auth": "bearer"}, "t"
    )
    with pytest.raises(DeliveryFailed) as failed:
        FhirTransport().send(config, event(), timeout=5)
    assert failed.value.reason == f"GET Appointment: 127.0.0.1:{port} refused the connection"
    assert not failed.value.permanent


def test_the_test_event_searches_and_changes_nothing(server: FhirServer) -> None:
    transport = registry.transport_for("fhir")
    result = transport.send(destination(server), sample_payload(1), timeout=10)
    assert result == "connected: an Appointment search answered HTTP 200; nothing was changed"
    assert [r.path for r in server.requests] == ["/fhir/Appointment?_count=1"]


def _public_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def smart(server: FhirServer, alg: str) -> dict[str, Any]:
    """The server's token endpoint knowing our client, and the destination's settings and secret for it."""
    private = rsa_key_pem() if alg == "RS384" else ec_key_pem()
    server.smart = Smart("reminders-client", _public_pem(private), server.token_url, alg)
    server.token = "not-yet-issued"
    return {
        "auth": "smart",
        "client_id": "reminders-client",
        "token_url": server.token_url,
        "key_id": "k1",
        "alg": alg,
        "secret": private,
    }


@pytest.mark.parametrize("alg", ["RS384", "ES384"])
def test_smart_backend_services_signs_in_with_a_jwt_and_keeps_the_token(server: FhirServer, alg: str) -> None:
    settings = {**smart(server, alg), "scope": "system/Appointment.rs system/Appointment.u"}
    send(server, event(EventType.APPOINTMENT_CONFIRMED), **settings)
    send(server, event(EventType.APPOINTMENT_CANCELLED), **settings)
    assert server.smart is not None and server.smart.problems == []
    [claims] = server.smart.assertions  # one token for both sends
    assert (claims["iss"], claims["sub"], claims["aud"], claims["kid"]) == (
        "reminders-client",
        "reminders-client",
        server.token_url,
        "k1",
    )
    assert claims["exp"] - claims["iat"] == 300 and claims["jti"]
    assert claims["scope"] == "system/Appointment.rs system/Appointment.u"
    fhir_requests = [r for r in server.requests if r.path.startswith("/fhir/")]
    assert {r.header("Authorization") for r in fhir_requests} == {"Bearer smart-access-token-1"}
    assert server.resources["Appointment/A1"]["status"] == "cancelled"


def test_smart_asks_again_when_the_fhir_server_refuses_the_token(server: FhirServer) -> None:
    settings = smart(server, "RS384")
    send(server, event(), **settings)
    assert server.smart is not None
    server.smart.access_token = "smart-access-token-2"
    server.token = "revoked"  # the FHIR server no longer takes the first token
    send(server, event(EventType.APPOINTMENT_CANCELLED), **settings)
    assert server.smart.problems == [] and len(server.smart.assertions) == 2
    assert server.smart.assertions[1]["scope"].startswith("system/Appointment.read ")  # the default
    assert server.resources["Appointment/A1"]["status"] == "cancelled"


def test_a_token_endpoint_that_refuses_the_client_is_a_permanent_failure(server: FhirServer) -> None:
    settings = smart(server, "RS384")
    assert server.smart is not None
    server.smart.refuse = True
    with pytest.raises(DeliveryFailed) as failed:
        send(server, event(), **{**settings, "client_id": "another-client"})
    assert failed.value.reason == "SMART token endpoint: HTTP 401 invalid_client" and failed.value.permanent
    assert [r for r in server.requests if r.path.startswith("/fhir/")] == []


def test_an_assertion_signed_with_another_key_is_refused_by_the_token_endpoint(server: FhirServer) -> None:
    settings = smart(server, "RS384")
    with pytest.raises(DeliveryFailed) as failed:
        send(server, event(), **{**settings, "secret": rsa_key_pem()})
    assert failed.value.reason == "SMART token endpoint: HTTP 400 invalid_client" and failed.value.permanent
    assert server.smart is not None and server.smart.problems == [
        "InvalidSignatureError: Signature verification failed"
    ]


def test_a_token_is_kept_until_shortly_before_it_expires(server: FhirServer, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = smart(server, "ES384")
    assert server.smart is not None
    server.smart.expires_in = 100  # asked for again from half its lifetime on (at most 60 s early)
    started = time.monotonic()
    send(server, event(), **settings)
    monkeypatch.setattr(smart_auth, "time", SimpleNamespace(time=time.time, monotonic=lambda: started + 45))
    send(server, event(EventType.APPOINTMENT_RESCHEDULE_REQUESTED), **settings)
    assert len(server.smart.assertions) == 1
    monkeypatch.setattr(smart_auth, "time", SimpleNamespace(time=time.time, monotonic=lambda: started + 51))
    send(server, event(EventType.APPOINTMENT_CANCELLED), **settings)
    assert len(server.smart.assertions) == 2 and server.smart.problems == []
