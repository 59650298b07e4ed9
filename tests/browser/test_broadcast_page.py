"""A broadcast in Debian's Chromium: the front desk writes "closed on Friday" for a clinic and a day, sees the
preview's count and cost, sends it, the dispatcher texts the patients, and the desk sees it sent and the visits
flagged to reschedule on the schedule."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders import accounts
from clinic_reminders.db import make_engine, make_sessionmaker
from clinic_reminders.dispatcher.worker import Worker
from clinic_reminders.models import Base, Role
from clinic_reminders.settings import Settings
from clinic_reminders.simulator import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, SimulatorConfig
from clinic_reminders.web.app import create_app
from tests.conftest import TEST_SECRET_KEY
from tests.factories import DEFAULT_PASSWORD, make_appointment, make_clinic, make_patient, make_user
from tests.fixtures.simulator import CLINIC_NUMBER, LateApp, SimulatorClient, ThreadedServer

pytestmark = pytest.mark.browser

CHICAGO = ZoneInfo("America/Chicago")
DESK = "desk@example.com"
PHONES = ("+13125550142", "+13125550143")


@dataclass
class Desk:
    url: str
    settings: Settings
    sessions: sessionmaker[Session]
    day: str  # the closed day, on the clinic's calendar
    day_after: str


@pytest.fixture
def desk(tmp_path: Path, simulator: SimulatorClient) -> Iterator[Desk]:
    """A Chicago clinic with three visits in four days (Ana and Ben take texts, Cy opted out) and one the day
    after; texts allowed at any hour (the test does not depend on when it runs)."""
    url = f"sqlite:///{tmp_path / 'broadcast.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    sessions = make_sessionmaker(engine)
    closed = (datetime.now(CHICAGO) + timedelta(days=4)).date()
    with sessions() as db, db.begin():
        office = accounts.the_office(db)
        office.quiet_hours_start, office.quiet_hours_end = time(0, 0), time(23, 59)
        clinic = make_clinic(db, office, name="Lakeside", timezone="America/Chicago", phone="+13125550100")
        at = [datetime.combine(closed, time(h), CHICAGO).astimezone(UTC) for h in (9, 10, 11)]
        make_appointment(db, clinic, make_patient(db, office, "Ana", "López", phone=PHONES[0]), starts_at=at[0])
        make_appointment(db, clinic, make_patient(db, office, "Ben", "Busy", phone=PHONES[1]), starts_at=at[1])
        cy = make_patient(db, office, "Cy", "Quiet", sms_opted_out_at=datetime.now(UTC))
        make_appointment(db, clinic, cy, starts_at=at[2])
        make_appointment(db, clinic, make_patient(db, office, "Dee", "Later"), starts_at=at[0] + timedelta(days=1))
        make_user(db, office, Role.STAFF, email=DESK, name="Front Desk")
    late = LateApp()
    server = ThreadedServer(late)
    settings = Settings(
        database_url=url,
        secret_key=TEST_SECRET_KEY,
        public_url=server.url,
        embedded_worker=False,
        twilio_account_sid=DEFAULT_ACCOUNT_SID,
        twilio_auth_token=DEFAULT_AUTH_TOKEN,
        twilio_phone_number=CLINIC_NUMBER,
        twilio_api_base_url=simulator.base_url,
        sender_rate=1000.0,
    )
    late.app = create_app(settings, engine)
    with server:
        simulator.reset(
            SimulatorConfig.for_account(
                DEFAULT_ACCOUNT_SID,
                DEFAULT_AUTH_TOKEN,
                phone_numbers=[CLINIC_NUMBER],
                sms_url=f"{server.url}/app_confirm",
                sms_method="GET",
                callback_delay_ms=5,
            )
        )
        yield Desk(server.url, settings, sessions, closed.isoformat(), (closed + timedelta(days=1)).isoformat())
    engine.dispose()


def dispatch(desk: Desk) -> None:
    """One dispatcher pass, in a thread of its own: Playwright's driver holds this thread's event loop."""
    worker = Worker(desk.settings, desk.sessions, poll_interval=0.05)
    thread = threading.Thread(target=lambda: asyncio.run(worker.run(once=True)))
    thread.start()
    thread.join(timeout=60)


def test_the_desk_previews_a_broadcast_sends_it_and_sees_the_visits_flagged(
    page: Page, desk: Desk, simulator: SimulatorClient
) -> None:
    page.goto(f"{desk.url}/broadcasts")
    page.get_by_label("Email").fill(DESK)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    form = page.locator("#new-broadcast")
    form.get_by_label("Clinic").select_option(label="Lakeside")
    form.get_by_label("From").fill(desk.day)
    form.get_by_label(re.compile(r"^To")).fill(desk.day)
    form.get_by_label("Message in English").fill("We are closed that day. We will call you to find a new time.")
    form.get_by_role("button", name="Preview").click()

    preview = page.locator("#broadcast-preview")
    expect(preview.locator(".visits")).to_have_text("3")
    expect(preview.locator(".to-text")).to_have_text("2 patients")
    expect(preview.locator(".not-texted")).to_contain_text("1")
    expect(preview.locator(".cost")).to_have_text("$0.0166 (2 segments)")
    expect(preview).to_contain_text("Lakeside: We are closed that day. We will call you to find a new time.")
    assert simulator.messages() == []  # nothing is sent before the confirmation
    page.get_by_role("button", name="Send to 2 patients").click()
    expect(page.locator(".flash")).to_contain_text("Broadcast sent: 3 visits flagged to reschedule")

    dispatch(desk)
    texted = sorted(m["to"] for m in simulator.messages())
    assert texted == sorted(PHONES)
    page.reload()
    expect(page.locator("#broadcast .state")).to_contain_text("Sent")
    expect(page.locator("#broadcast .counts")).to_have_text("2 texted, 1 not texted (call them), 0 failed")
    expect(page.locator("tr.recipient", has_text="Cy Quiet")).to_contain_text("Not texted: no consent to texts")

    page.get_by_role("link", name="see them on the schedule").click()
    for name in ("Ana López", "Ben Busy", "Cy Quiet"):
        row = page.locator("tr.appt", has_text=name)
        expect(row).to_contain_text("to reschedule")
        expect(row).to_contain_text("Reschedule")
    page.goto(f"{desk.url}/schedule?day={desk.day_after}")
    expect(page.locator("tr.appt", has_text="Dee Later")).to_contain_text("Scheduled")  # the day after: untouched
    expect(page.locator("tr.appt", has_text="Dee Later")).not_to_contain_text("to reschedule")
