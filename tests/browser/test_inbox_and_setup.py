"""The front desk's day in Chromium: a text from an unknown number linked to its patient from the inbox, the
set-up page's "Check again", and an error page that leads back to the staff pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from clinic_reminders import accounts, demo
from clinic_reminders.db import make_engine, make_sessionmaker
from clinic_reminders.models import Base, Office, Patient
from clinic_reminders.settings import Settings
from clinic_reminders.simulator import AccountConfig, NumberConfig, SimulatorConfig
from clinic_reminders.web.app import create_app
from tests.browser.test_staff_pages import Live, sign_in
from tests.conftest import TEST_SECRET_KEY
from tests.factories import make_clinic, make_patient
from tests.fixtures.simulator import CLINIC_NUMBER, SimulatorClient, ThreadedServer, wait_until

pytestmark = pytest.mark.browser

ANA = "+13035550142"
NEW_PHONE = "+13035550177"  # Ana's new phone, which the office does not know yet


@pytest.fixture
def front_desk(tmp_path: Path, simulator: SimulatorClient) -> Iterator[Live]:
    """An office with one patient, served on a real port; Twilio (the simulator) texts its /app_confirm."""
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as db, db.begin():
        office = accounts.the_office(db)
        make_clinic(db, office, name="Riverside Family Medicine", timezone="America/Denver")
        make_patient(db, office, first_name="Ana", last_name="López", phone=ANA)
        make_patient(db, office, first_name="Ben", last_name="Hall", phone="+13035550143")
        demo.ensure_demo_users(db, office)
    settings = Settings(
        database_url=url,
        secret_key=TEST_SECRET_KEY,
        embedded_worker=False,
        twilio_account_sid=simulator.account_sid,
        twilio_auth_token=simulator.auth_token,
        twilio_phone_number=CLINIC_NUMBER,
        twilio_api_base_url=simulator.base_url,
    )
    app = create_app(settings, engine)
    with ThreadedServer(app) as server:
        app.state.settings = settings.model_copy(update={"public_url": server.url})  # signed webhooks
        number = NumberConfig(CLINIC_NUMBER, sms_url=f"{server.url}/app_confirm", sms_method="GET")
        account = AccountConfig(sid=simulator.account_sid, auth_token=simulator.auth_token, numbers=[number])
        simulator.reset(SimulatorConfig(accounts=[account], callback_delay_ms=5))
        yield Live(server.url, sessions, app.state.settings)
    engine.dispose()


def test_a_text_from_an_unknown_number_is_linked_to_its_patient(
    page: Page, front_desk: Live, simulator: SimulatorClient
) -> None:
    live = front_desk
    answer = simulator.reply(NEW_PHONE, CLINIC_NUMBER, "Hi, it's Ana López from a new phone. Can I come at 3?")
    assert answer["status"] == 200 and "will call you" in answer["body"]
    sign_in(page, live, "/inbox")
    row = page.locator("tr", has_text="Unknown number")
    expect(row).to_contain_text("Can I come at 3?")
    expect(row).to_contain_text("Needs a person")
    row.get_by_role("link", name="Unknown number").click()
    expect(page.get_by_role("heading", name="Unknown number")).to_be_visible()
    expect(page.locator("#thread")).to_contain_text("automatic reply")
    page.get_by_label("Find the patient").fill("ana")
    page.get_by_role("button", name="Find", exact=True).click()
    expect(page.locator(".matches")).not_to_contain_text("Ben Hall")
    page.get_by_role("button", name="Link to Ana López").click()

    expect(page.get_by_role("heading", name="Ana López")).to_be_visible()
    expect(page.locator(".flash")).to_contain_text("The number is now Ana López's")
    expect(page.locator("#thread")).to_contain_text("Can I come at 3?")
    simulator.reply(NEW_PHONE, CLINIC_NUMBER, "Thanks!")  # now the office knows whose phone it is
    expect(page.locator("#thread")).to_contain_text("Thanks!", timeout=15_000)  # the open thread shows it
    with live.sessions() as db:
        ana = db.scalars(select(Patient).where(Patient.first_name == "Ana")).one()
        assert NEW_PHONE in [p.number for p in ana.phones]


def test_the_set_up_page_checks_again(page: Page, front_desk: Live) -> None:
    live = front_desk
    sign_in(page, live, "/setup")
    alerts = page.locator("#check-settings\\.alerts")
    expect(alerts).to_have_class(re.compile(r"\bwarning\b"))
    expect(alerts).to_contain_text("How to fix:")
    expect(page.locator("#check-twilio\\.credentials")).to_contain_text("pass")
    with live.sessions() as db, db.begin():
        db.scalars(select(Office)).one().alert_sms = "+13035550199"  # an admin fixed it meanwhile
    page.get_by_role("button", name="Check again").click()
    expect(alerts).to_have_class(re.compile(r"\bok\b"))
    expect(alerts).not_to_contain_text("How to fix:")


def test_an_unknown_page_leads_back_to_the_staff_pages(page: Page, front_desk: Live) -> None:
    live = front_desk
    sign_in(page, live, "/schedule")
    response = page.goto(f"{live.url}/shedule")  # mistyped
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Inbox")
    page.get_by_role("link", name="Go to the schedule").click()
    expect(page).to_have_url(re.compile(r"/schedule"))
    wait_until(lambda: page.get_by_role("heading", name="Schedule").is_visible())
