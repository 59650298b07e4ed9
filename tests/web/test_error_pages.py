"""Errors on the staff pages are pages a person can read, with the navigation; the API, the webhooks and the
simulator keep their JSON. /api/docs works without the internet."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from clinic_reminders.models import StaffUser
from clinic_reminders.web.admin import dashboard
from clinic_reminders.web.admin.rendering import VENDOR_DIR
from tests.web.pages import PageClient, sign_in


def _nav(html: str) -> list[str]:
    return re.findall(r'<li><a href="(/[a-z]+)"', html)


def test_an_unknown_staff_address_is_a_page_with_the_navigation(staff_pages: PageClient) -> None:
    response = staff_pages.get("/no-such-page")
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
    assert "Page not found" in response.text and "Error 404" in response.text
    assert _nav(response.text) == ["/schedule", "/inbox", "/patients", "/deliveries", "/broadcasts"]
    assert '<a href="/schedule">Go to the schedule</a>' in response.text


def test_a_signed_out_visitor_is_offered_the_sign_in(anon_client: TestClient) -> None:
    response = anon_client.get("/schedule/nowhere/at-all")
    assert response.status_code == 404 and '<a href="/login">Sign in</a>' in response.text
    assert _nav(response.text) == []


def test_a_malformed_address_is_a_422_page_naming_the_part(staff_pages: PageClient) -> None:
    response = staff_pages.get("/inbox/not-a-number")
    assert response.status_code == 422 and "Not understood" in response.text and "patient_id" in response.text
    assert "/inbox" in _nav(response.text)


def test_a_staff_member_on_an_admin_page_gets_a_403_page_with_the_navigation(staff_pages: PageClient) -> None:
    response = staff_pages.get("/config")
    assert response.status_code == 403 and "office administrators" in response.text
    assert _nav(response.text) == ["/schedule", "/inbox", "/patients", "/deliveries", "/broadcasts"]


def test_a_failing_page_is_a_500_page(app: FastAPI, admin_user: StaffUser, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(dashboard, "compute", broken)
    pages = sign_in(TestClient(app, raise_server_exceptions=False), admin_user.email)
    response = pages.get("/dashboard")
    assert response.status_code == 500 and "Something went wrong" in response.text
    assert "/dashboard" in _nav(response.text) and "a bug" not in response.text


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/nothing-here"), ("GET", "/api/patients/x"), ("POST", "/twilio/status"), ("GET", "/nope")],
)
def test_machines_keep_their_json(staff_client: TestClient, method: str, path: str) -> None:
    headers = {"Accept": "application/json"} if path == "/nope" else {}  # a script asking for a staff page
    response = staff_client.request(method, path, headers=headers)
    assert response.status_code in (403, 404, 422)
    assert response.headers["content-type"] == "application/json" and "detail" in response.json()


def test_the_api_docs_load_swagger_ui_from_this_server(anon_client: TestClient) -> None:
    html = anon_client.get("/api/docs").text
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/static/vendor/") for s in sources), sources
    assert "/openapi.json" in html
    for source in sources:
        assert (VENDOR_DIR / source.removeprefix("/static/vendor/")).is_file(), f"{source}: run `make assets`"
        assert anon_client.get(source).status_code == 200
