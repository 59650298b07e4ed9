"""/api/providers: attached to a clinic of the same office, filtered by clinic, deactivated not deleted."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from clinic_reminders.models import Office, Provider
from tests.factories import make_clinic, make_provider
from tests.web.helpers import audit_trail, count, error_fields


def test_it_creates_a_provider_at_a_clinic(admin_client: TestClient, session: Session, office: Office) -> None:
    clinic = make_clinic(session, office)
    session.commit()
    response = admin_client.post("/api/providers", json={"name": "Maria Chen", "title": "Dr.", "clinic_id": clinic.id})
    assert response.status_code == 201, response.text
    provider = response.json()
    assert (provider["display_name"], provider["clinic_id"], provider["active"]) == ("Dr. Maria Chen", clinic.id, True)
    assert admin_client.get(f"/api/providers/{provider['id']}").json() == provider
    assert [e.action for e in audit_trail(session, "provider")] == ["create"]


def test_it_rejects_a_clinic_that_does_not_exist(admin_client: TestClient, session: Session) -> None:
    response = admin_client.post("/api/providers", json={"name": "Maria Chen", "clinic_id": 99})
    assert error_fields(response) == {"clinic_id": "no clinic 99"}
    assert count(session, Provider) == 0


def test_it_rejects_a_clinic_of_another_office(
    admin_client: TestClient, session: Session, office: Office, other_office: Office
) -> None:
    provider = make_provider(session, office)
    theirs = make_clinic(session, other_office)
    session.commit()
    response = admin_client.patch(f"/api/providers/{provider.id}", json={"clinic_id": theirs.id})
    assert error_fields(response) == {"clinic_id": f"no clinic {theirs.id}"}
    session.refresh(provider)
    assert provider.clinic_id is None


def test_it_filters_by_clinic_and_active(admin_client: TestClient, session: Session, office: Office) -> None:
    north, south = make_clinic(session, office, name="North"), make_clinic(session, office, name="South")
    make_provider(session, office, north, name="A")
    make_provider(session, office, south, name="B")
    make_provider(session, office, south, name="C", active=False)
    session.commit()

    def names(**params: str | int) -> list[str]:
        return [p["name"] for p in admin_client.get("/api/providers", params=params).json()["items"]]

    assert names() == ["A", "B", "C"]
    assert names(clinic_id=south.id) == ["B", "C"]
    assert names(clinic_id=south.id, active="true") == ["B"]


def test_it_detaches_and_deactivates(admin_client: TestClient, session: Session, office: Office) -> None:
    provider = make_provider(session, office, make_clinic(session, office))
    session.commit()
    assert admin_client.patch(f"/api/providers/{provider.id}", json={"clinic_id": None}).json()["clinic_id"] is None
    assert admin_client.delete(f"/api/providers/{provider.id}").json()["active"] is False
    assert count(session, Provider) == 1
    assert [e.action for e in audit_trail(session, "provider")] == ["update", "deactivate"]


def test_it_rejects_an_empty_name(admin_client: TestClient) -> None:
    assert "name" in error_fields(admin_client.post("/api/providers", json={"name": ""}))


def test_it_hides_another_offices_providers(
    admin_client: TestClient, session: Session, office: Office, other_office: Office
) -> None:
    theirs = make_provider(session, other_office)
    session.commit()
    assert admin_client.get("/api/providers").json()["total"] == 0
    assert admin_client.get(f"/api/providers/{theirs.id}").status_code == 404
    assert admin_client.delete(f"/api/providers/{theirs.id}").status_code == 404
