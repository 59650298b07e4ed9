"""/api/clinics: create, read, list, change, deactivate; time zones and caller-ID phones validated."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from clinic_reminders.models import Clinic, Office, StaffUser
from tests.factories import make_clinic
from tests.web.helpers import audit_trail, count, error_fields

NEW_CLINIC = {"name": "Uptown", "phone": "(212) 555-0100", "timezone": "America/Chicago", "address": "1 Main St"}


def test_it_creates_and_reads_a_clinic(admin_client: TestClient, session: Session, admin_user: StaffUser) -> None:
    response = admin_client.post("/api/clinics", json=NEW_CLINIC)
    assert response.status_code == 201, response.text
    clinic = response.json()
    assert clinic["phone"] == "+12125550100"
    assert clinic["timezone"] == "America/Chicago"
    assert clinic["active"] is True
    assert clinic["twilio_number"] is None
    assert admin_client.get(f"/api/clinics/{clinic['id']}").json() == clinic
    [entry] = audit_trail(session, "clinic")
    assert (entry.action, entry.entity_id, entry.actor) == ("create", clinic["id"], f"user:{admin_user.id}")


def test_staff_can_manage_clinics(staff_client: TestClient, session: Session, staff_user: StaffUser) -> None:
    """Not only admins: a front desk adds, changes, deactivates and brings back a clinic, each in the trail."""
    created = staff_client.post("/api/clinics", json=NEW_CLINIC)
    assert created.status_code == 201, created.text
    clinic_id = created.json()["id"]
    changed = staff_client.patch(f"/api/clinics/{clinic_id}", json={"name": "Uptown Annex"})
    assert (changed.status_code, changed.json()["name"]) == (200, "Uptown Annex")
    assert staff_client.delete(f"/api/clinics/{clinic_id}").json()["active"] is False
    assert staff_client.get("/api/clinics", params={"active": "false"}).json()["items"][0]["id"] == clinic_id
    assert staff_client.patch(f"/api/clinics/{clinic_id}", json={"active": True}).json()["active"] is True
    trail = [(e.action, e.entity_id, e.actor) for e in audit_trail(session, "clinic")]
    actor = f"user:{staff_user.id}"
    assert trail == [(action, clinic_id, actor) for action in ("create", "update", "deactivate", "update")]


def test_it_rejects_an_unknown_time_zone(admin_client: TestClient, session: Session) -> None:
    response = admin_client.post("/api/clinics", json={**NEW_CLINIC, "timezone": "Mars/Olympus_Mons"})
    assert "unknown time zone" in error_fields(response)["timezone"]
    assert "timezone" in response.json()["detail"]
    assert count(session, Clinic) == 0


def test_it_rejects_a_file_path_as_time_zone(admin_client: TestClient) -> None:
    for name in ("/etc/passwd", "../zoneinfo/UTC", "localtime", ""):
        response = admin_client.post("/api/clinics", json={**NEW_CLINIC, "timezone": name})
        assert "timezone" in error_fields(response), name


def test_it_rejects_a_bad_phone_number_without_repeating_it(admin_client: TestClient, session: Session) -> None:
    response = admin_client.post("/api/clinics", json={**NEW_CLINIC, "phone": "555-01"})
    assert "phone" in error_fields(response)
    assert "555-01" not in response.text
    response = admin_client.post("/api/clinics", json={**NEW_CLINIC, "twilio_number": "12"})
    assert "twilio_number" in error_fields(response)
    assert count(session, Clinic) == 0


def test_it_rejects_malformed_json(admin_client: TestClient, session: Session) -> None:
    response = admin_client.post(
        "/api/clinics", content=b'{"name": "Uptown",', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"]
    assert count(session, Clinic) == 0


def test_it_rejects_unknown_and_missing_fields(admin_client: TestClient) -> None:
    assert "nmae" in error_fields(admin_client.post("/api/clinics", json={**NEW_CLINIC, "nmae": "x"}))
    missing = {k: v for k, v in NEW_CLINIC.items() if k != "timezone"}
    assert "timezone" in error_fields(admin_client.post("/api/clinics", json=missing))


def test_it_changes_only_the_fields_sent(admin_client: TestClient, session: Session, office: Office) -> None:
    clinic = make_clinic(session, office, address="1 Main St")
    session.commit()
    response = admin_client.patch(f"/api/clinics/{clinic.id}", json={"timezone": "America/Denver"})
    assert response.status_code == 200, response.text
    assert response.json()["timezone"] == "America/Denver"
    assert response.json()["address"] == "1 Main St"
    assert audit_trail(session, "clinic")[-1].detail == {"fields": ["timezone"]}


def test_it_refuses_null_for_a_required_field_and_changes_nothing(
    admin_client: TestClient, session: Session, office: Office
) -> None:
    clinic = make_clinic(session, office, name="Downtown")
    session.commit()
    response = admin_client.patch(f"/api/clinics/{clinic.id}", json={"name": "Renamed", "phone": None})
    assert "may not be null" in error_fields(response)["phone"]
    session.refresh(clinic)
    assert clinic.name == "Downtown"


def test_it_removes_the_clinic_twilio_number_with_null(
    admin_client: TestClient, session: Session, office: Office
) -> None:
    clinic = make_clinic(session, office, twilio_number="+12125550199")
    session.commit()
    response = admin_client.patch(f"/api/clinics/{clinic.id}", json={"twilio_number": None})
    assert response.json()["twilio_number"] is None


def test_delete_deactivates_and_patch_reactivates(admin_client: TestClient, session: Session, office: Office) -> None:
    clinic = make_clinic(session, office)
    session.commit()
    response = admin_client.delete(f"/api/clinics/{clinic.id}")
    assert response.status_code == 200
    assert response.json()["active"] is False
    assert count(session, Clinic) == 1
    assert admin_client.get("/api/clinics", params={"active": "false"}).json()["total"] == 1
    assert admin_client.get("/api/clinics", params={"active": "true"}).json()["total"] == 0
    assert admin_client.patch(f"/api/clinics/{clinic.id}", json={"active": True}).json()["active"] is True


def test_it_paginates(admin_client: TestClient, session: Session, office: Office) -> None:
    for name in ("C", "A", "B", "E", "D"):
        make_clinic(session, office, name=name)
    session.commit()
    page = admin_client.get("/api/clinics", params={"limit": 2, "offset": 2}).json()
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 2)
    assert [c["name"] for c in page["items"]] == ["C", "D"]
    assert "limit" in error_fields(admin_client.get("/api/clinics", params={"limit": 0}))


def test_it_answers_404_for_an_unknown_id(admin_client: TestClient) -> None:
    assert admin_client.get("/api/clinics/999").status_code == 404
    assert admin_client.patch("/api/clinics/999", json={"name": "x"}).status_code == 404
    assert admin_client.delete("/api/clinics/999").status_code == 404


def test_it_hides_another_offices_clinics(
    admin_client: TestClient, session: Session, office: Office, other_office: Office
) -> None:
    mine = make_clinic(session, office, name="Mine")
    theirs = make_clinic(session, other_office, name="Theirs")
    session.commit()
    assert [c["id"] for c in admin_client.get("/api/clinics").json()["items"]] == [mine.id]
    assert admin_client.get(f"/api/clinics/{theirs.id}").status_code == 404
    assert admin_client.patch(f"/api/clinics/{theirs.id}", json={"name": "Taken"}).status_code == 404
    assert admin_client.delete(f"/api/clinics/{theirs.id}").status_code == 404
    session.refresh(theirs)
    assert (theirs.name, theirs.active) == ("Theirs", True)


def test_openapi_says_the_phone_must_be_a_verified_caller_id(anon_client: TestClient) -> None:
    spec = anon_client.get("/openapi.json").json()
    phone = spec["components"]["schemas"]["ClinicCreate"]["properties"]["phone"]
    assert "verified caller ID" in phone["description"]
    assert spec["paths"]["/api/clinics"]["get"]["tags"] == ["clinics"]
