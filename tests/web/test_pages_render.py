"""Every page renders for an admin of an office with data; static files and vendor scripts are served locally."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from clinic_reminders.models import Office, StaffUser
from clinic_reminders.web.admin import rendering
from tests.web.pages import Day, PageClient, build_day, day_query, signed_in


@pytest.fixture
def pages(app: FastAPI, admin_user: StaffUser) -> PageClient:
    return signed_in(app, admin_user)


@pytest.fixture
def day(session: Session, office: Office) -> Day:
    built = build_day(session, office)
    session.commit()
    return built


def test_every_page_renders_for_an_admin_with_data(pages: PageClient, day: Day) -> None:
    patient = day.patients["confirmed"]
    expected = {
        f"/schedule?day={day_query(day)}": "Carlos Confirmed",
        f"/schedule?day={day_query(day)}&days=7&clinic_id={day.clinic.id}": "Olivia Planned",
        "/schedule": "Schedule",
        "/inbox": "Oscar Elsewhere",
        "/inbox/list": "Camila Cancelled",
        f"/inbox/{patient.id}": "Reply to Carlos",
        "/patients": "Confirmed, Carlos",
        "/patients?q=carl": "Confirmed, Carlos",
        f"/patients/{patient.id}": "Consent history",
        "/clinics": "Lakeside Pediatrics",
        f"/clinics/{day.clinic.id}": "verified caller ID",
        "/clinics/new": "Add a clinic",
        f"/providers/{day.provider.id}": "Anna Keller",
        "/providers/new": "Add a provider",
        "/config": "Reminder rules",
        "/dashboard": "confirmed by the patient",
        f"/dashboard?start={day_query(day)}&end={day_query(day)}&clinic_id={day.clinic.id}": "Riverside",
        "/dashboard.csv": "day,appointments,reminded",
        "/setup": "Set-up checklist",
    }
    for url, text in expected.items():
        response = pages.get(url)
        assert response.status_code == 200, url
        assert text in response.text, url
        assert "Traceback" not in response.text


def test_every_page_renders_for_an_office_without_anything_yet(pages: PageClient) -> None:
    for url in (
        "/schedule",
        "/schedule?days=7&status=no-answer",
        "/inbox",
        "/patients",
        "/clinics",
        "/config",
        "/dashboard",
        "/dashboard.csv",
        "/setup",
    ):
        assert pages.get(url).status_code == 200, url
    assert "No appointments match" in pages.get("/schedule").text
    assert "No conversation yet" in pages.get("/inbox").text


def test_missing_rows_are_a_page_not_an_error(pages: PageClient) -> None:
    for url in ("/patients/999", "/inbox/999", "/clinics/999", "/providers/999"):
        response = pages.get(url)
        assert response.status_code == 404, url
        assert "<h1>Not found</h1>" in response.text


def test_pages_are_labelled_for_screen_readers(pages: PageClient, day: Day) -> None:
    html = pages.get(f"/schedule?day={day_query(day)}").text
    assert '<html lang="en">' in html and 'class="skip" href="#main"' in html
    assert '<label for="f-q">Patient</label>' in html and 'aria-current="page"' in html
    config = pages.get("/config").text
    for field in ("public_host", "twilio_auth_token", "quiet_hours_start", "template_en"):
        assert f'<label for="f-{field}">' in config and f'id="f-{field}"' in config


def test_static_files_are_served_from_the_package(app: FastAPI) -> None:
    client = TestClient(app)
    css = client.get("/static/app.css")
    assert css.status_code == 200 and ":focus-visible" in css.text
    assert "smsSegments" in client.get("/static/app.js").text


def test_pages_use_vendor_scripts_only_when_they_were_copied(
    pages: PageClient, day: Day, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "htmx.min.js").write_text("/* htmx */")
    monkeypatch.setattr(rendering, "VENDOR_DIR", tmp_path)
    html = pages.get("/dashboard").text
    assert '<script src="/static/vendor/htmx.min.js" defer></script>' in html
    assert "chart.umd.min.js" not in html  # not copied: the numbers are shown as a table instead
    assert '<details class="card" open>' in html
    monkeypatch.setattr(rendering, "VENDOR_DIR", tmp_path / "nothing")
    assert "/static/vendor/" not in pages.get(f"/schedule?day={day_query(day)}").text
