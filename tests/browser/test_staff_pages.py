"""The staff pages in Debian's Chromium (headless, driven by Playwright): sign in, fill the configuration screen,
work the schedule, reply from the inbox, read the dashboard. Screenshots: tests/artifacts/screenshots/ on every
run; `REMINDERS_SCREENSHOTS=1 pytest tests/browser` refreshes the committed ones in docs/screenshots/.

The last test is the whole loop: a reminder goes out through the simulator and the simulated patient's "1",
answered at /app_confirm, turns the appointment green on an open schedule page, without a reload.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders import accounts, demo
from clinic_reminders.benchmarks.synthetic import noon_somewhere
from clinic_reminders.db import make_engine, make_sessionmaker
from clinic_reminders.models import Appointment, AuditEntry, Base, Clinic, Office, Patient
from clinic_reminders.settings import Settings
from clinic_reminders.simulator import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    AccountConfig,
    NumberConfig,
    SimulatorConfig,
)
from clinic_reminders.web.admin.rendering import VENDOR_DIR
from clinic_reminders.web.app import create_app
from tests.browser.activity import add_activity, add_history
from tests.conftest import TEST_SECRET_KEY
from tests.factories import make_appointment, make_clinic, make_patient, make_user
from tests.fixtures.simulator import CLINIC_NUMBER, PATIENT, SimulatorClient, ThreadedServer, wait_until

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"  # committed; the README shows the schedule
ARTIFACTS = ROOT / "tests" / "artifacts" / "screenshots"  # every run's (gitignored)
ADMIN, PASSWORD = demo.DEMO_ADMIN_EMAIL, demo.DEMO_PASSWORD


@dataclass
class Live:
    url: str
    sessions: sessionmaker[Session]
    settings: Settings


def _serve(tmp_path: Path, simulator: SimulatorClient, seed: Any) -> Iterator[Live]:
    url = f"sqlite:///{tmp_path / 'pages.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as db, db.begin():
        seed(db)
    settings = Settings(
        database_url=url,
        secret_key=TEST_SECRET_KEY,
        twilio_api_base_url=simulator.base_url,
        embedded_worker=False,  # the tests run the dispatcher when they want a reminder sent
        sender_rate=1000.0,
    )
    with ThreadedServer(create_app(settings, engine)) as server:
        yield Live(server.url, sessions, settings)
    engine.dispose()


def _demo_office(db: Session) -> None:
    office = accounts.the_office(db)
    office.quiet_hours_start, office.quiet_hours_end = time(0, 0), time(23, 59)  # replies allowed at any hour
    demo.seed(db, office, patients=140)
    office.twilio_phone_number = CLINIC_NUMBER  # the test simulator's number (Twilio's test number: no registration)
    demo.ensure_demo_users(db, office)
    add_activity(db, office.id)
    add_history(db, office.id)


@pytest.fixture
def demo_office(tmp_path: Path, simulator: SimulatorClient) -> Iterator[Live]:
    """The demo office with a few days of activity; Twilio is the simulator (set through the environment)."""
    simulator.reset()
    yield from _serve(tmp_path, simulator, _demo_office)


def sign_in(page: Page, live: Live, target: str = "/schedule") -> None:
    page.goto(f"{live.url}{target}")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(target.split("?")[0])))


def shot(page: Page, name: str) -> None:
    """Every run saves to tests/artifacts/screenshots/; docs/screenshots/ is written when a picture is missing
    or with REMINDERS_SCREENSHOTS=1, so that a test run does not leave changed images in the working tree."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=False)
    if os.environ.get("REMINDERS_SCREENSHOTS") == "1" or not (DOCS_SCREENSHOTS / name).exists():
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ARTIFACTS / name, DOCS_SCREENSHOTS / name)


def next_weekday(zone: str) -> str:
    day = datetime.now(ZoneInfo(zone)).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day.isoformat()


def test_sign_in_and_fill_the_configuration_screen(page: Page, demo_office: Live) -> None:
    sign_in(page, demo_office, "/config")
    page.get_by_label("External domain or IP").fill("reminders.riverside.example")
    page.get_by_label("HTTP type").select_option("https")
    page.get_by_label("Port", exact=True).fill("443")
    page.get_by_label("Account SID").fill(DEFAULT_ACCOUNT_SID)
    page.get_by_label("Auth Token").fill(DEFAULT_AUTH_TOKEN)
    page.get_by_label("API Key").fill("SK" + "ab" * 16)
    page.get_by_label("API Secret").fill("api-secret-for-video-visits-9876")
    template = page.get_by_label("Text in English")
    template.fill("{{ first_name }}: {{ clinic }}, {{ when }}. {{ options }}. {{ clinic_phone }}. STOP=opt out")
    preview = page.locator("#preview-en")
    expect(preview.locator(".text")).to_contain_text("Alejandro: Riverside Family Medicine, Wed Sep 30")
    expect(preview.locator(".figures")).to_contain_text("1 segment (GSM-7)")
    template.press("End")
    template.type(" 😀")
    expect(preview.locator(".figures")).to_contain_text("UCS-2")  # one emoji: a different encoding, a higher cost
    template.fill("{{ first_name }}: {{ clinic }}, {{ when }}. {{ options }}. {{ clinic_phone }}. STOP=opt out")
    page.get_by_role("button", name="Save configuration").click()
    expect(page.locator(".flash")).to_have_text("Configuration saved.")
    expect(page.get_by_text("https://reminders.riverside.example/app_confirm")).to_be_visible()
    expect(page.locator("#h-twilio_auth_token")).to_contain_text("••••" + DEFAULT_AUTH_TOKEN[-4:])
    expect(page.get_by_label("Auth Token", exact=True)).to_have_value("")  # write-only: never sent back to the browser
    assert DEFAULT_AUTH_TOKEN not in page.content()


def test_alerts_are_set_on_the_configuration_screen_and_a_test_alert_goes_out(
    page: Page, demo_office: Live, simulator: SimulatorClient
) -> None:
    sign_in(page, demo_office, "/config")
    page.get_by_label("Account SID").fill(DEFAULT_ACCOUNT_SID)
    page.get_by_label("Auth Token").fill(DEFAULT_AUTH_TOKEN)
    page.get_by_label("Alert SMS number").fill("(303) 555-0199")
    page.get_by_role("button", name="Save configuration").click()
    expect(page.locator(".flash")).to_have_text("Configuration saved.")
    expect(page.locator("#alerts")).to_contain_text("Alerts now go to: SMS to +13035550199.")
    page.get_by_role("button", name="Send a test alert").click()
    expect(page.locator(".flash")).to_have_text("Test alert sent by SMS to +13035550199.")
    expect(page).to_have_url(re.compile(r"/config#alerts$"))
    [text] = wait_until(lambda: simulator.messages(to="+13035550199"))
    assert text["from"] == CLINIC_NUMBER and text["body"].startswith("clinic-reminders: A test alert")


def test_the_schedule_shows_the_day_and_updates_without_a_reload(page: Page, demo_office: Live) -> None:
    day = next_weekday("America/Denver")  # the demo's first clinic
    sign_in(page, demo_office, f"/schedule?day={day}")
    expect(page.locator("tr.appt").first).to_be_visible()
    expect(page.locator(".step-delivered").first).to_be_visible()
    shot(page, "schedule.png")
    page.evaluate("window.__notReloaded = true")
    scheduled = page.locator("tr.appt.state-scheduled, tr.appt.state-no-answer").first
    row_id = scheduled.get_attribute("id")
    assert row_id is not None
    row = page.locator(f"#{row_id}")
    row.get_by_role("button", name=re.compile("^Confirm ")).click()
    expect(row).to_have_class(re.compile("state-confirmed"))
    expect(row.locator(".state")).to_have_text("Confirmed")
    # a change made elsewhere (here: straight in the database, as a patient's answer would) arrives by itself
    other = page.locator("tr.appt.state-scheduled, tr.appt.state-no-answer").first
    other_id = int(other.get_attribute("data-id") or "0")
    with demo_office.sessions() as db, db.begin():
        from clinic_reminders import booking
        from clinic_reminders.models import AppointmentStatus

        appointment = db.get(Appointment, other_id)
        assert appointment is not None
        booking.set_status(db, appointment, AppointmentStatus.CANCELLED, "patient")
    expect(page.locator(f"#appt-{other_id}")).to_have_class(re.compile("state-cancelled"), timeout=15_000)
    assert page.evaluate("window.__notReloaded") is True


def test_the_schedule_fits_a_tablet_and_works_with_the_keyboard(page: Page, demo_office: Live) -> None:
    sign_in(page, demo_office)
    page.set_viewport_size({"width": 800, "height": 1100})
    page.goto(f"{demo_office.url}/schedule?days=3")
    expect(page.locator("tr.appt").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.keyboard.press("Tab")
    expect(page.locator("a.skip")).to_be_focused()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # a visible focus ring


def test_reply_from_the_inbox(page: Page, demo_office: Live, simulator: SimulatorClient) -> None:
    settings_env = demo_office  # Twilio is the simulator; the office row has no account yet: set it like an admin
    sign_in(page, settings_env, "/config")
    page.get_by_label("Account SID").fill(DEFAULT_ACCOUNT_SID)
    page.get_by_label("Auth Token").fill(DEFAULT_AUTH_TOKEN)
    page.get_by_role("button", name="Save configuration").click()
    expect(page.locator(".flash")).to_have_text("Configuration saved.")
    page.goto(f"{demo_office.url}/inbox")
    expect(page.locator("table.conversations tbody tr").first).to_be_visible()
    expect(page.locator(".needs").first).to_be_visible()  # "needs a person" first
    shot(page, "inbox.png")
    page.locator("table.conversations tbody tr a").first.click()
    box = page.get_by_label(re.compile("^Reply to "))
    box.fill("Hi! Yes, you can bring her. See you tomorrow.")
    expect(page.locator("#segments")).to_contain_text("1 segment (GSM-7)")
    box.fill("Hi! Yes, you can bring her 🙂 " + "See you tomorrow. " * 3)
    expect(page.locator("#segments")).to_contain_text("2 segments (UCS-2)")
    box.fill("Hi! Yes, you can bring her. See you tomorrow.")
    page.get_by_role("button", name="Send text").click()
    expect(page.locator(".flash")).to_have_text("Sent.")
    expect(page.locator(".msg.outbound").last).to_contain_text("you can bring her")
    sent = wait_until(lambda: [m for m in simulator.messages() if "you can bring her" in m["body"]])
    assert sent[0]["from"] == CLINIC_NUMBER
    shot(page, "inbox-thread.png")


def test_the_dashboard_draws_its_charts(page: Page, demo_office: Live) -> None:
    sign_in(page, demo_office)
    today = datetime.now(ZoneInfo("America/Denver")).date()
    page.goto(f"{demo_office.url}/dashboard?start={today - timedelta(days=14)}&end={today + timedelta(days=5)}")
    expect(page.locator(".kpi").first).to_be_visible()
    if (VENDOR_DIR / "chart.umd.min.js").is_file():
        page.wait_for_function("() => window.Chart && Chart.getChart(document.querySelector('canvas[data-chart]'))")
        assert page.evaluate("document.querySelectorAll('canvas[data-chart]').length") == 4
    else:  # without Chart.js the figures are still there, as a table
        expect(page.locator("details.card table")).to_be_visible()
    shot(page, "dashboard.png")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    assert download.value.suggested_filename.startswith("reminders-")


# --- the whole loop: reminder out through the simulator, the patient's "1" in, the row green --------------------


def _small_office(db: Session) -> None:
    office = accounts.the_office(db)
    demo.ensure_demo_users(db, office)
    # a clinic where it is about noon now, so quiet hours never hold the reminder back whatever the hour
    clinic = make_clinic(db, office, name="Riverside Family Medicine", timezone=noon_somewhere(), phone="+13035550100")
    patient = make_patient(db, office, "Maria", "Lopez", phone=PATIENT)
    make_appointment(db, clinic, patient, starts_at=datetime.now(ZoneInfo(clinic.timezone)) + timedelta(days=1))
    make_user(db, office, email="other-staff@example.com")


@pytest.fixture
def small_office(tmp_path: Path, simulator: SimulatorClient) -> Iterator[Live]:
    yield from _serve(tmp_path, simulator, _small_office)


def test_a_patients_1_turns_the_appointment_green_without_a_reload(
    page: Page, small_office: Live, simulator: SimulatorClient
) -> None:
    """Needs the lead's /app_confirm (conversations.inbound_sms) to confirm the appointment."""
    live = small_office
    port = live.url.rsplit(":", 1)[1]
    # Twilio's side: the number sends patients' texts to our /app_confirm, as `reminders setup` would set it
    number = NumberConfig(CLINIC_NUMBER, sms_url=f"{live.url}/app_confirm", sms_method="GET")
    account = AccountConfig(sid=DEFAULT_ACCOUNT_SID, auth_token=DEFAULT_AUTH_TOKEN, numbers=[number])
    simulator.reset(SimulatorConfig(accounts=[account], callback_delay_ms=5))
    # our side: the configuration screen, as the seed has it
    sign_in(page, live, "/config")
    page.get_by_label("External domain or IP").fill("127.0.0.1")
    page.get_by_label("HTTP type").select_option("http")
    page.get_by_label("Port", exact=True).fill(port)
    page.get_by_label("Twilio phone number").fill(CLINIC_NUMBER)
    page.get_by_label("Account SID").fill(DEFAULT_ACCOUNT_SID)
    page.get_by_label("Auth Token").fill(DEFAULT_AUTH_TOKEN)
    page.get_by_role("button", name="Save configuration").click()
    expect(page.locator(".flash")).to_have_text("Configuration saved.")

    with live.sessions() as db:
        appointment = db.scalars(select(Appointment)).one()
        zone = db.get(Clinic, appointment.clinic_id).timezone  # type: ignore[union-attr]
        day = appointment.starts_at.astimezone(ZoneInfo(zone)).date().isoformat()
    page.goto(f"{live.url}/schedule?day={day}")
    row = page.locator(f"#appt-{appointment.id}")
    expect(row).to_contain_text("Text planned")
    page.evaluate("window.__notReloaded = true")
    row.get_by_role("button", name=re.compile("^Send a reminder now")).click()  # sent at once, not queued
    expect(row.locator(".notice")).to_have_text("Reminder text sent. The planned reminders still go at their times.")
    texts = wait_until(lambda: simulator.messages(to=PATIENT))
    assert "Riverside Family Medicine" in texts[0]["body"] and "Reply 1" in texts[0]["body"]
    assert _audited(live, "send-now")
    expect(row).to_contain_text(re.compile("Text (sent|delivered)"), timeout=15_000)
    expect(row).to_have_class(re.compile("state-no-answer"), timeout=15_000)

    simulator.reply(PATIENT, CLINIC_NUMBER, "1")
    expect(row).to_have_class(re.compile("state-confirmed"), timeout=15_000)
    expect(row).to_contain_text("Answered: confirmed")
    assert page.evaluate("window.__notReloaded") is True
    with live.sessions() as db:
        assert db.get(Appointment, appointment.id).status == "confirmed"  # type: ignore[union-attr]
        assert db.scalars(select(Patient)).one().sms_opted_out_at is None
        assert db.get(Office, appointment.office_id).public_url == f"http://127.0.0.1:{port}"  # type: ignore[union-attr]


def _audited(live: Live, action: str) -> bool:
    with live.sessions() as db:
        return db.scalars(select(AuditEntry).where(AuditEntry.action == action)).first() is not None
