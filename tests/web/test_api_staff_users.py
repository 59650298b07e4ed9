"""/api/staff-users: admins add, list, change and deactivate staff; the office always keeps an admin."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from clinic_reminders.accounts import authenticate
from clinic_reminders.models import Office, Role, StaffUser
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.web.helpers import audit_trail, count, error_fields


def test_it_adds_a_staff_user_who_can_sign_in(
    admin_client: TestClient, session: Session, admin_user: StaffUser
) -> None:
    response = admin_client.post(
        "/api/staff-users",
        json={"email": "New.Nurse@Example.com", "name": "Nia Nurse", "password": "a long password"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["email"], body["role"], body["active"]) == ("new.nurse@example.com", "staff", True)
    assert "password" not in response.text and "hash" not in response.text
    assert authenticate(session, "new.nurse@example.com", "a long password") is not None
    entry = audit_trail(session, "staff_user")[-1]
    assert (entry.action, entry.actor) == ("create", f"user:{admin_user.id}")


def test_it_lists_staff_users_without_password_hashes(
    admin_client: TestClient, staff_user: StaffUser, other_office: Office, session: Session
) -> None:
    make_user(session, other_office, email="elsewhere@example.com")
    session.commit()
    page = admin_client.get("/api/staff-users").json()
    assert [u["email"] for u in page["items"]] == ["admin@example.com", "staff@example.com"]
    assert "scrypt" not in str(page)
    assert [u["email"] for u in admin_client.get("/api/staff-users", params={"role": "staff"}).json()["items"]] == [
        "staff@example.com"
    ]


def test_it_rejects_a_short_password_and_a_taken_email(
    admin_client: TestClient, session: Session, staff_user: StaffUser
) -> None:
    response = admin_client.post("/api/staff-users", json={"email": "x@example.com", "password": "short"})
    assert "at least" in error_fields(response)["password"]
    assert "short" not in response.text
    response = admin_client.post("/api/staff-users", json={"email": "STAFF@example.com", "password": "long enough!"})
    assert "already exists" in error_fields(response)["email"]
    assert "role" in error_fields(
        admin_client.post(
            "/api/staff-users", json={"email": "y@example.com", "password": "long enough!", "role": "root"}
        )
    )
    assert count(session, StaffUser) == 2


def test_it_changes_a_role_and_a_password(admin_client: TestClient, session: Session, staff_user: StaffUser) -> None:
    response = admin_client.patch(
        f"/api/staff-users/{staff_user.id}", json={"role": "admin", "password": "a brand new password"}
    )
    assert response.json()["role"] == "admin"
    session.refresh(staff_user)
    assert staff_user.role == Role.ADMIN
    assert authenticate(session, staff_user.email, "a brand new password") is not None
    assert authenticate(session, staff_user.email, DEFAULT_PASSWORD) is None
    assert audit_trail(session, "staff_user")[-1].detail == {"fields": ["password", "role"]}


def test_a_deactivated_user_loses_api_access(
    admin_client: TestClient, staff_client: TestClient, staff_user: StaffUser
) -> None:
    assert staff_client.get("/api/clinics").status_code == 200
    response = admin_client.delete(f"/api/staff-users/{staff_user.id}")
    assert response.json()["active"] is False
    assert staff_client.get("/api/clinics").status_code == 401
    assert admin_client.patch(f"/api/staff-users/{staff_user.id}", json={"active": True}).json()["active"] is True
    assert staff_client.get("/api/clinics").status_code == 200


def test_the_last_admin_can_neither_be_demoted_nor_deactivated(
    admin_client: TestClient, session: Session, office: Office, admin_user: StaffUser
) -> None:
    url = f"/api/staff-users/{admin_user.id}"
    response = admin_client.patch(url, json={"name": "Renamed", "role": "staff"})
    assert response.status_code == 409
    assert "at least one active admin" in response.json()["detail"]
    assert admin_client.delete(url).status_code == 409
    session.refresh(admin_user)
    assert (admin_user.name, admin_user.role, admin_user.active) == ("Ada Admin", "admin", True)
    make_user(session, office, Role.ADMIN)
    session.commit()
    assert admin_client.patch(url, json={"role": "staff"}).json()["role"] == "staff"


def test_it_hides_another_offices_users(admin_client: TestClient, session: Session, other_office: Office) -> None:
    theirs = make_user(session, other_office, Role.ADMIN)
    session.commit()
    url = f"/api/staff-users/{theirs.id}"
    assert admin_client.get(url).status_code == 404
    assert admin_client.patch(url, json={"role": "staff"}).status_code == 404
    assert admin_client.delete(url).status_code == 404
    session.refresh(theirs)
    assert (theirs.role, theirs.active) == ("admin", True)
