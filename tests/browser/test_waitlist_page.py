"""The waitlist in Debian's Chromium: the desk puts a patient on the waitlist from her page, cancels another
patient's visit on the schedule, the dispatcher texts her the freed time, she answers YES on the simulated phone,
and the schedule shows the slot filled and her new visit."""

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
from tests.factories import DEFAULT_PASSWORD, make_appointment, make_clinic, make_patient, make_provider, make_user
from tests.fixtures.simulator import CLINIC_NUMBER, LateApp, SimulatorClient, ThreadedServer

pytestmark = pytest.mark.browser

CHICAGO = ZoneInfo("America/Chicago")
DESK = "desk@example.com"
ANA_PHONE = "+13125550142"


@dataclass
class Desk:
    url: str
    settings: Settings
    sessions: sessionmaker[Session]
    ana_id: int
    day: str  # of the visit to cancel, on the clinic's calendar


@pytest.fixture
def desk(tmp_path: Path, simulator: SimulatorClient) -> Iterator[Desk]:
    """A Chicago clinic with Dr. Maria Chen, Ana who takes texts, and Ben's visit in three days at 15:00 with
    Dr. Chen; texts allowed at any hour (the test does not depend on when it runs)."""
    url = f"sqlite:///{tmp_path / 'waitlist.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    sessions = make_sessionmaker(engine)
    visit_day = (datetime.now(CHICAGO) + timedelta(days=3)).date()
    with sessions() as db, db.begin():
        office = accounts.the_office(db)
        office.quiet_hours_start, office.quiet_hours_end = time(0, 0), time(23, 59)
        clinic = make_clinic(db, office, name="Lakeside", timezone="America/Chicago", phone="+13125550100")
        chen = make_provider(db, office, clinic, name="Maria Chen")
        ana = make_patient(db, office, "Ana", "López", phone=ANA_PHONE)
        ben = make_patient(db, office, "Ben", "Busy")
        starts = datetime.combine(visit_day, time(15), CHICAGO).astimezone(UTC)
        make_appointment(db, clinic, ben, chen, starts_at=starts)
        make_user(db, office, Role.STAFF, email=DESK, name="Front Desk")
        ana_id = ana.id
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
        yield Desk(server.url, settings, sessions, ana_id, visit_day.isoformat())
    engine.dispose()


def dispatch(desk: Desk) -> None:
    """One dispatcher pass, in a thread of its own: Playwright's driver holds this thread's event loop."""
    worker = Worker(desk.settings, desk.sessions, poll_interval=0.05)
    thread = threading.Thread(target=lambda: asyncio.run(worker.run(once=True)))
    thread.start()
    thread.join(timeout=60)


def test_the_desk_puts_a_patient_on_the_waitlist_and_watches_her_take_a_freed_slot(
    page: Page, desk: Desk, simulator: SimulatorClient
) -> None:
    page.goto(f"{desk.url}/patients/{desk.ana_id}")
    page.get_by_label("Email").fill(DESK)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    card = page.locator("#waitlist")
    expect(card).to_contain_text("Not on the waitlist.")
    card.get_by_label("Provider").select_option(label="Dr. Maria Chen")
    card.get_by_role("button", name="Put on the waitlist").click()
    expect(page.locator(".flash")).to_contain_text("On the waitlist")
    expect(page.locator("#waitlist .waitlist-entry")).to_contain_text("Waiting Dr. Maria Chen, any clinic")

    page.goto(f"{desk.url}/schedule?day={desk.day}")
    page.once("dialog", lambda dialog: dialog.accept())  # "Cancel this appointment?"
    page.get_by_role("button", name="Cancel Ben Busy").click()
    expect(page.locator("tr.appt", has_text="Ben Busy")).to_contain_text("Cancelled")

    dispatch(desk)
    [offer] = simulator.messages(to=ANA_PHONE)
    pattern = r"Lakeside: a time opened up\. Reply YES to take \w{3} \w{3} \d+, 3:00 PM with Dr\. Maria Chen\. "
    assert re.fullmatch(pattern + "STOP=opt out", offer["body"])
    page.reload()
    slots = page.locator("#waitlist-slots")
    expect(slots).to_contain_text("Being offered")
    expect(slots).to_contain_text("Ana López")
    expect(slots).to_contain_text("offered, no answer yet")

    answer = simulator.reply(from_=ANA_PHONE, to=CLINIC_NUMBER, body="YES")
    assert "Thank you, you are booked" in answer["body"]  # our TwiML answer
    page.reload()
    expect(slots).to_contain_text("Filled from the waitlist")
    expect(slots).to_contain_text("took it")
    expect(page.locator("tr.appt", has_text="Ana López")).to_contain_text("Confirmed")
    expect(page.locator("tr.appt", has_text="Ana López").locator("td.time")).to_contain_text("3:00 PM")
