"""Every page renders for an admin of an office with data; static files and vendor scripts are served locally."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from clinic_reminders.web.admin import rendering
from tests.web.pages import Day, PageClient, day_query


def test_every_page_renders_for_an_admin_with_data(admin_pages: PageClient, day: Day) -> None:
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
        response = admin_pages.get(url)
        assert response.status_code == 200, url
        assert text in response.text, url
        assert "Traceback" not in response.text


def test_every_page_renders_for_an_office_without_anything_yet(admin_pages: PageClient) -> None:
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
        assert admin_pages.get(url).status_code == 200, url
    assert "No appointments match" in admin_pages.get("/schedule").text
    assert "No conversation yet" in admin_pages.get("/inbox").text


def test_missing_rows_are_a_page_not_an_error(admin_pages: PageClient) -> None:
    for url in ("/patients/999", "/inbox/999", "/clinics/999", "/providers/999"):
        response = admin_pages.get(url)
        assert response.status_code == 404, url
        assert "<h1>Not found</h1>" in response.text


def test_pages_are_labelled_for_screen_readers(admin_pages: PageClient, day: Day) -> None:
    html = admin_pages.get(f"/schedule?day={day_query(day)}").text
    assert '<html lang="en">' in html and 'class="skip" href="#main"' in html
    assert '<label for="f-q">Patient</label>' in html and 'aria-current="page"' in html
    config = admin_pages.get("/config").text
    for field in ("public_host", "twilio_auth_token", "quiet_hours_start", "template_en"):
        assert f'<label for="f-{field}">' in config and f'id="f-{field}"' in config


def test_static_files_are_served_from_the_package(app: FastAPI) -> None:
    client = TestClient(app)
    css = client.get("/static/app.css")
    assert css.status_code == 200 and ":focus-visible" in css.text
    assert "smsSegments" in client.get("/static/app.js").text


def test_pages_use_vendor_scripts_only_when_they_were_copied(
    admin_pages: PageClient, day: Day, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "htmx.min.js").write_text("/* htmx */")
    monkeypatch.setattr(rendering, "VENDOR_DIR", tmp_path)
    html = admin_pages.get("/dashboard").text
    assert '<script src="/static/vendor/htmx.min.js" defer></script>' in html
    assert "chart.umd.min.js" not in html  # not copied: the numbers are shown as a table instead
    assert '<details class="card" open>' in html
    monkeypatch.setattr(rendering, "VENDOR_DIR", tmp_path / "nothing")
    assert "/static/vendor/" not in admin_pages.get(f"/schedule?day={day_query(day)}").text
