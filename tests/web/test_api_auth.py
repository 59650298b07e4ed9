"""Every API route needs a signed-in user; office configuration and staff users need an admin."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_reminders.models import ApiToken, StaffUser


def _api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) of the API as the OpenAPI document lists it, ids replaced by 1."""
    return sorted(
        (method.upper(), re.sub(r"\{[^}]+\}", "1", path))
        for path, ops in app.openapi()["paths"].items()
        if path.startswith("/api/")
        for method in ops
    )


def test_every_api_route_requires_a_login(app: FastAPI, anon_client: TestClient) -> None:
    routes = _api_routes(app)
    assert len(routes) >= 20
    for method, path in routes:
        response = anon_client.request(method, path, json={})
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header", ["Bearer crt_not-a-real-token", "Bearer ", "Basic YWRtaW46YWRtaW4=", "crt_token-without-scheme"]
)
def test_it_rejects_a_wrong_token(anon_client: TestClient, admin_token: str, header: str) -> None:
    assert anon_client.get("/api/clinics", headers={"Authorization": header}).status_code == 401


def test_it_accepts_a_valid_token(admin_client: TestClient) -> None:
    assert admin_client.get("/api/clinics").status_code == 200


def test_it_rejects_a_revoked_token(admin_client: TestClient, session: Session, admin_user: StaffUser) -> None:
    for token in session.scalars(select(ApiToken).where(ApiToken.user_id == admin_user.id)):
        token.revoked_at = datetime.now(UTC)
    session.commit()
    assert admin_client.get("/api/clinics").status_code == 401


def test_it_rejects_the_token_of_a_deactivated_user(
    staff_client: TestClient, session: Session, staff_user: StaffUser
) -> None:
    staff_user.active = False
    session.commit()
    assert staff_client.get("/api/patients").status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/api/office"),
        ("PATCH", "/api/office"),
        ("GET", "/api/staff-users"),
        ("POST", "/api/staff-users"),
        ("GET", "/api/staff-users/1"),
        ("PATCH", "/api/staff-users/1"),
        ("DELETE", "/api/staff-users/1"),
    ],
)
def test_the_staff_role_cannot_touch_office_configuration_or_staff_users(
    staff_client: TestClient, admin_user: StaffUser, method: str, path: str
) -> None:
    response = staff_client.request(method, path, json={"name": "Hijacked", "role": "admin"})
    assert response.status_code == 403, response.text
    assert "admin" in response.json()["detail"]


def test_the_staff_role_can_read_the_office_configuration(staff_client: TestClient) -> None:
    assert staff_client.get("/api/office").status_code == 200


def test_openapi_is_public_and_tags_every_api_route(anon_client: TestClient) -> None:
    spec = anon_client.get("/openapi.json").json()
    tags = {tag for ops in spec["paths"].values() for op in ops.values() for tag in op.get("tags", [])}
    assert {"clinics", "providers", "patients", "appointments", "office", "staff users"} <= tags
    for path, ops in spec["paths"].items():
        if path.startswith("/api/"):
            assert all(op.get("tags") for op in ops.values()), path
