"""/api/writeback: admins configure destinations, everyone reads them and the deliveries; nothing of another office
shows; secrets are never returned but once; the payload receivers get is documented as `WritebackEvent`."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_reminders import booking
from clinic_reminders.models import AppointmentStatus, Delivery, Destination, Event, Office
from clinic_reminders.writeback import payload, sample
from clinic_reminders.writeback.transports import AppointmentData, EventData, PatientData, Payload
from tests.factories import make_appointment, make_clinic, make_patient, make_provider
from tests.web.helpers import error_fields
from tests.web.test_api_description import _validate
from tests.web.writeback_support import REFUSED, RecordingTransport, add_delivery, use_transport

WEBHOOK = {"name": "Practice system", "kind": "webhook", "settings": {"url": "https://pms.example.com/hooks"}}
BASE = "/api/writeback/destinations"


@pytest.fixture
def spec(anon_client: TestClient) -> dict[str, Any]:
    result: dict[str, Any] = anon_client.get("/openapi.json").json()
    return result


def _create(client: TestClient, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = client.post(BASE, json=body or WEBHOOK)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_an_admin_adds_a_webhook_and_sees_its_secret_only_once(
    admin_client: TestClient, staff_client: TestClient, spec: dict[str, Any]
) -> None:
    response = admin_client.post(BASE, json=WEBHOOK)
    assert response.status_code == 201, response.text
    _validate(spec, BASE, "post", response)
    created = response.json()
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert (created["status"], created["target"], created["secret_saved"]) == (
        "active",
        "https://pms.example.com/hooks",
        True,
    )
    for client in (admin_client, staff_client):
        for url in (BASE, f"{BASE}/{created['id']}", "/api/office"):
            read = client.get(url)
            assert read.status_code == 200
            assert secret not in read.text and "whsec_" not in read.text
    listed = admin_client.get(BASE)
    _validate(spec, BASE, "get", listed)
    assert [d["name"] for d in listed.json()["items"]] == ["Practice system"]


def test_the_office_lists_its_destinations_without_secrets(admin_client: TestClient, spec: dict[str, Any]) -> None:
    created = _create(admin_client)
    office = admin_client.get("/api/office")
    _validate(spec, "/api/office", "get", office)
    assert office.json()["writeback_destinations"] == [
        {
            "id": created["id"],
            "name": "Practice system",
            "kind": "webhook",
            "target": "https://pms.example.com/hooks",
            "status": "active",
            "paused_reason": None,
            "last_result": None,
            "last_result_at": None,
        }
    ]


def test_a_fhir_token_is_write_only(admin_client: TestClient) -> None:
    body = {"name": "FHIR", "kind": "fhir", "settings": {"base_url": "https://fhir.example.com/r4"}, "secret": "tok-1"}
    created = _create(admin_client, body)
    assert created["secret"] is None and created["secret_saved"] is True
    changed = admin_client.patch(f"{BASE}/{created['id']}", json={"secret": "tok-2", "enabled": False})
    assert changed.status_code == 200, changed.text
    assert "tok-" not in changed.text and changed.json()["status"] == "disabled"


def test_bad_settings_are_refused_naming_the_field(admin_client: TestClient, spec: dict[str, Any]) -> None:
    response = admin_client.post(BASE, json={**WEBHOOK, "settings": {"url": "http://pms.example.com"}})
    words = "must start with https:// (http:// only to localhost or 127.0.0.1)"
    assert error_fields(response) == {"settings.url": words}
    _validate(spec, BASE, "post", response)
    _create(admin_client)
    duplicate = admin_client.post(BASE, json=WEBHOOK)
    assert duplicate.status_code == 409
    _validate(spec, BASE, "post", duplicate)
    hl7 = {"name": "HL7", "kind": "hl7", "settings": {"host": "pms.example.com", "port": 70000}}
    assert list(error_fields(admin_client.post(BASE, json=hl7))) == ["settings.port"]


def test_staff_read_but_do_not_change(
    admin_client: TestClient, staff_client: TestClient, session: Session, office: Office
) -> None:
    created = _create(admin_client)
    destination = session.get(Destination, created["id"])
    assert destination is not None
    delivery = add_delivery(session, office, destination, "failed")
    session.commit()
    assert staff_client.get(BASE).status_code == 200
    assert staff_client.get("/api/writeback/deliveries").status_code == 200
    refused = [
        staff_client.post(BASE, json=WEBHOOK),
        staff_client.patch(f"{BASE}/{created['id']}", json={"name": "x"}),
        staff_client.delete(f"{BASE}/{created['id']}"),
        staff_client.post(f"{BASE}/{created['id']}/test"),
        staff_client.post(f"{BASE}/{created['id']}/rotate-secret"),
        staff_client.post(f"{BASE}/{created['id']}/resume"),
        staff_client.post(f"/api/writeback/deliveries/{delivery.id}/retry"),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)


def test_another_offices_destinations_and_deliveries_are_not_found(
    admin_client: TestClient, session: Session, other_office: Office, spec: dict[str, Any]
) -> None:
    theirs = Destination(office_id=other_office.id, name="Theirs", kind="webhook", settings={"url": "https://x.org"})
    session.add(theirs)
    session.flush()
    delivery = add_delivery(session, other_office, theirs, "failed")
    session.commit()
    urls = [
        ("get", f"{BASE}/{theirs.id}"),
        ("patch", f"{BASE}/{theirs.id}"),
        ("delete", f"{BASE}/{theirs.id}"),
        ("post", f"{BASE}/{theirs.id}/test"),
        ("post", f"{BASE}/{theirs.id}/rotate-secret"),
        ("post", f"{BASE}/{theirs.id}/resume"),
        ("post", f"/api/writeback/deliveries/{delivery.id}/retry"),
    ]
    for method, url in urls:
        response = admin_client.request(method.upper(), url, json={} if method == "patch" else None)
        assert response.status_code == 404, (method, url)
    assert admin_client.get(BASE).json()["items"] == []
    listed = admin_client.get(f"/api/writeback/deliveries?destination_id={theirs.id}")
    assert listed.json()["items"] == [] and listed.json()["total"] == 0
    session.expire_all()
    assert session.get(Delivery, delivery.id).status == "failed"  # type: ignore[union-attr]


def test_the_test_button_answers_with_the_result(
    admin_client: TestClient, spec: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    created = _create(admin_client)
    transport = use_transport(monkeypatch, RecordingTransport(answer="HTTP 204"))
    url = f"{BASE}/{created['id']}/test"
    ok = admin_client.post(url)
    _validate(spec, f"{BASE}/{{destination_id}}/test", "post", ok)
    assert (ok.json()["ok"], ok.json()["result"]) == (True, "OK: HTTP 204")
    assert transport.sent[0][0].secret == created["secret"]
    transport.failure = REFUSED
    failed = admin_client.post(url).json()
    assert (failed["ok"], failed["result"]) == (False, "Failed: HTTP 503 from the receiver")
    assert admin_client.get(f"{BASE}/{created['id']}").json()["last_result"] == "Failed: HTTP 503 from the receiver"


def test_rotating_returns_a_new_secret_for_webhooks_only(admin_client: TestClient, spec: dict[str, Any]) -> None:
    created = _create(admin_client)
    rotated = admin_client.post(f"{BASE}/{created['id']}/rotate-secret")
    _validate(spec, f"{BASE}/{{destination_id}}/rotate-secret", "post", rotated)
    assert rotated.json()["secret"].startswith("whsec_") and rotated.json()["secret"] != created["secret"]
    fhir = _create(
        admin_client, {"name": "F", "kind": "fhir", "settings": {"base_url": "https://f.example"}, "secret": "t"}
    )
    assert admin_client.post(f"{BASE}/{fhir['id']}/rotate-secret").status_code == 409


def test_a_fhir_destination_gets_a_subscription_token_that_the_endpoint_takes(
    admin_client: TestClient, staff_client: TestClient, spec: dict[str, Any]
) -> None:
    fhir = _create(
        admin_client, {"name": "F", "kind": "fhir", "settings": {"base_url": "https://f.example"}, "secret": "t"}
    )
    url = f"{BASE}/{fhir['id']}/subscription-token"
    assert staff_client.post(url).status_code == 403
    made = admin_client.post(url)
    _validate(spec, f"{BASE}/{{destination_id}}/subscription-token", "post", made)
    token, endpoint = made.json()["token"], made.json()["endpoint"]
    assert endpoint.endswith(f"/fhir/subscription/{fhir['id']}")
    assert token not in admin_client.get(f"{BASE}/{fhir['id']}").text
    ping = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    assert admin_client.post(f"/fhir/subscription/{fhir['id']}", content=b"", headers=ping).status_code == 200
    again = admin_client.post(url).json()["token"]
    refused = admin_client.post(f"/fhir/subscription/{fhir['id']}", content=b"", headers=ping)
    assert again != token and refused.status_code == 401
    webhook = _create(admin_client)
    assert admin_client.post(f"{BASE}/{webhook['id']}/subscription-token").status_code == 409


def test_deliveries_are_listed_newest_first_filtered_and_sent_again(
    admin_client: TestClient, session: Session, office: Office, spec: dict[str, Any]
) -> None:
    created = _create(admin_client)
    destination = session.get(Destination, created["id"])
    assert destination is not None
    failed = add_delivery(session, office, destination, "failed", appointment_id=7, attempts=12, last_error="HTTP 500")
    add_delivery(session, office, destination, "delivered", attempts=1)
    session.commit()
    listed = admin_client.get("/api/writeback/deliveries")
    _validate(spec, "/api/writeback/deliveries", "get", listed)
    assert [d["status"] for d in listed.json()["items"]] == ["delivered", "failed"]
    only_failed = admin_client.get(f"/api/writeback/deliveries?status=failed&destination_id={destination.id}").json()
    assert only_failed["total"] == 1
    item = only_failed["items"][0]
    assert (item["event_type"], item["appointment_id"], item["attempts"], item["last_error"]) == (
        "appointment.confirmed",
        7,
        12,
        "HTTP 500",
    )
    assert item["destination_name"] == "Practice system" and item["next_attempt_at"] is None
    retried = admin_client.post(f"/api/writeback/deliveries/{failed.id}/retry")
    _validate(spec, "/api/writeback/deliveries/{delivery_id}/retry", "post", retried)
    assert (retried.json()["status"], retried.json()["first_attempt_at"]) == ("pending", None)
    assert admin_client.get(f"{BASE}/{destination.id}").json()["pending"] == 1
    delivered = admin_client.get("/api/writeback/deliveries?status=delivered").json()["items"][0]
    conflict = admin_client.post(f"/api/writeback/deliveries/{delivered['id']}/retry")
    assert conflict.status_code == 409
    _validate(spec, "/api/writeback/deliveries/{delivery_id}/retry", "post", conflict)
    assert admin_client.get("/api/writeback/deliveries?status=sent").status_code == 422


def test_deleting_a_destination(admin_client: TestClient, session: Session) -> None:
    created = _create(admin_client)
    assert admin_client.delete(f"{BASE}/{created['id']}").status_code == 204
    assert admin_client.get(f"{BASE}/{created['id']}").status_code == 404
    assert session.scalars(select(Destination)).all() == []


def test_the_payload_is_documented_as_a_signed_webhook(spec: dict[str, Any]) -> None:
    hook = spec["webhooks"]["writeback-event"]["post"]
    assert hook["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/WritebackEvent"
    }
    headers = {p["name"] for p in hook["parameters"] if p["in"] == "header"}
    assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert "422" not in hook["responses"]
    schemas = spec["components"]["schemas"]
    for documented, typed in [
        ("WritebackEvent", Payload),
        ("WritebackEventData", EventData),
        ("WritebackAppointment", AppointmentData),
        ("WritebackPatient", PatientData),
    ]:  # the description keeps step with the payload the transports get
        assert set(schemas[documented]["properties"]) == set(typed.__annotations__), documented


def _validate_payload(spec: dict[str, Any], body: object) -> None:
    root = {"$ref": "#/components/schemas/WritebackEvent", "components": spec["components"]}
    jsonschema.Draft202012Validator(root).validate(body)


def test_what_is_sent_matches_its_description(spec: dict[str, Any], session: Session, office: Office) -> None:
    clinic = make_clinic(session, office)
    provider = make_provider(session, office, clinic)
    appointment = make_appointment(session, clinic, make_patient(session, office), provider)
    booking.set_status(session, appointment, AppointmentStatus.CONFIRMED, "patient")
    session.commit()
    events = session.scalars(select(Event).where(Event.appointment_id == appointment.id)).all()
    assert events
    for event in events:
        _validate_payload(spec, payload.build(session, event))
    _validate_payload(spec, sample.payload(office.id))
