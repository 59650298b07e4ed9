"""Signing in to the staff pages: CSRF on every form, session expiry, roles, and bearer tokens kept to the API."""

from __future__ import annotations

import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from clinic_reminders.models import Appointment, Office, StaffUser
from clinic_reminders.web.admin import auth
from tests.factories import make_appointment, make_clinic, make_patient
from tests.web.pages import PageClient, build_day

ADMIN_PAGES = ["/config", "/dashboard", "/dashboard.csv", "/clinics", "/clinics/new", "/providers/new", "/setup"]
STAFF_PAGES = ["/schedule", "/inbox", "/patients"]


def test_it_sends_visitors_to_the_sign_in_page_and_back(app: FastAPI, admin_user: StaffUser) -> None:
    client = TestClient(app)
    response = client.get("/schedule?day=2030-01-15", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/schedule%3Fday%3D2030-01-15"
    pages = PageClient(client)
    page = pages.get(response.headers["location"])
    assert 'name="next" value="/schedule?day=2030-01-15"' in page.text
    signed = pages.post(
        "/login",
        {"email": "ADMIN@example.com ", "password": "correct horse battery staple", "next": "/schedule?day=2030-01-15"},
    )
    assert (signed.status_code, signed.headers["location"]) == (303, "/schedule?day=2030-01-15")
    assert "Ada Admin" in client.get("/schedule").text


def test_it_refuses_a_wrong_password_without_saying_which_part(app: FastAPI, admin_user: StaffUser) -> None:
    pages = PageClient(TestClient(app))
    pages.get("/login")
    response = pages.post("/login", {"email": "admin@example.com", "password": "not the password"})
    assert response.status_code == 401
    assert "The email or the password is not right." in response.text
    assert pages.client.get("/schedule", follow_redirects=False).status_code == 303


def test_it_never_sends_anyone_off_site_after_signing_in(app: FastAPI, admin_user: StaffUser) -> None:
    pages = PageClient(TestClient(app))
    pages.get("/login")
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        pages.client.cookies.clear()
        pages.get("/login")
        response = pages.post(
            "/login", {"email": "admin@example.com", "password": "correct horse battery staple", "next": target}
        )
        assert response.headers["location"] == "/schedule"


def test_it_refuses_a_sign_in_form_without_its_token(app: FastAPI, admin_user: StaffUser) -> None:
    client = TestClient(app)
    client.get("/login")
    response = client.post(
        "/login",
        data={"email": "admin@example.com", "password": "correct horse battery staple"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "out of date" in response.text
    assert client.get("/schedule", follow_redirects=False).status_code == 303


def test_every_form_refuses_a_post_without_the_sessions_token(
    admin_pages: PageClient, session: Session, office: Office
) -> None:
    day = build_day(session, office)
    session.commit()
    appointment, patient = day.appointments["planned"], day.patients["planned"]
    forms = [
        "/logout",
        "/config",
        "/config/preview",
        "/config/rules",
        f"/config/rules/{day.rule.id}",
        "/clinics/new",
        f"/clinics/{day.clinic.id}",
        "/providers/new",
        f"/patients/{patient.id}",
        f"/schedule/appointments/{appointment.id}",
        f"/inbox/{patient.id}/reply",
        f"/inbox/{patient.id}/handled",
    ]
    for url in forms:
        for token in ("", "forged-token"):
            response = admin_pages.client.post(
                url, data={"csrf_token": token, "status": "cancelled", "name": "Changed"}, follow_redirects=False
            )
            assert response.status_code == 403, url
    session.expire_all()
    assert session.get(Appointment, appointment.id).status == "scheduled"  # type: ignore[union-attr]
    assert admin_pages.get("/schedule").status_code == 200  # still signed in: /logout was refused too


def test_it_takes_the_token_from_a_header_for_htmx(admin_pages: PageClient, session: Session, office: Office) -> None:
    clinic = make_clinic(session, office)
    appointment = make_appointment(session, clinic, make_patient(session, office))
    session.commit()
    response = admin_pages.htmx(f"/schedule/appointments/{appointment.id}", {"action": "confirmed"})
    assert response.status_code == 200
    assert 'class="appt state-confirmed"' in response.text
    admin_pages.token = "forged"
    refused = admin_pages.htmx(f"/schedule/appointments/{appointment.id}", {"action": "cancelled"})
    assert refused.status_code == 403


def test_a_token_of_another_session_is_refused(admin_pages: PageClient, staff_pages: PageClient) -> None:
    staff_pages.token = admin_pages.token
    assert staff_pages.post("/logout").status_code == 403


def test_a_session_expires_after_its_maximum_age(
    admin_pages: PageClient, monkeypatch: pytest.MonkeyPatch, app: FastAPI
) -> None:
    max_age = app.state.settings.session_max_age
    assert admin_pages.get("/schedule").status_code == 200
    monkeypatch.setattr(auth, "clock", lambda: time.time() + max_age - 60)
    assert admin_pages.get("/schedule").status_code == 200  # busy or not, the limit counts from sign-in
    monkeypatch.setattr(auth, "clock", lambda: time.time() + max_age + 1)
    response = admin_pages.client.get("/schedule", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login?next=/schedule")
    assert "Your session expired" in admin_pages.client.get("/login").text
    monkeypatch.setattr(auth, "clock", time.time)
    assert admin_pages.client.get("/schedule", follow_redirects=False).status_code == 303  # it stays ended


def test_live_updates_ask_for_a_sign_in_instead_of_redirecting(app: FastAPI) -> None:
    response = TestClient(app).get("/schedule/changes?ids=1", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.json()["login"] == "/login"


def test_signing_out_ends_the_session(admin_pages: PageClient) -> None:
    response = admin_pages.post("/logout")
    assert (response.status_code, response.headers["location"]) == (303, "/login")
    assert admin_pages.client.get("/schedule", follow_redirects=False).status_code == 303


def test_staff_see_the_schedule_inbox_and_patients_but_not_the_admin_pages(
    staff_pages: PageClient, admin_pages: PageClient
) -> None:
    for url in STAFF_PAGES:
        assert staff_pages.get(url).status_code == 200, url
    for url in ADMIN_PAGES:
        response = staff_pages.get(url)
        assert response.status_code == 403, url
        assert "for office administrators" in response.text
        assert admin_pages.get(url).status_code == 200, url
    assert staff_pages.post("/config", {"name": "Taken over"}).status_code == 403
    nav = staff_pages.get("/schedule").text
    assert 'href="/inbox"' in nav and 'href="/config"' not in nav and 'href="/dashboard"' not in nav


def test_pages_need_the_session_and_the_api_keeps_bearer_tokens(
    app: FastAPI, admin_token: str, admin_pages: PageClient
) -> None:
    bearer = TestClient(app, headers={"Authorization": f"Bearer {admin_token}"})
    assert bearer.get("/api/clinics").status_code == 200
    assert bearer.get("/schedule", follow_redirects=False).status_code == 303
    assert TestClient(app).get("/api/clinics").status_code == 401


def test_a_deactivated_user_is_signed_out(admin_pages: PageClient, session: Session, admin_user: StaffUser) -> None:
    admin_user.active = False
    session.commit()
    assert admin_pages.client.get("/schedule", follow_redirects=False).status_code == 303
    admin_pages.get("/login")
    refused = admin_pages.post("/login", {"email": admin_user.email, "password": "correct horse battery staple"})
    assert refused.status_code == 401
