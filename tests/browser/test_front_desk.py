"""The front desk's day in Debian's Chromium (headless, driven by Playwright): book a visit for tomorrow and see
its reminders planned, move it and see them move, add a patient, send a reminder now when it may go and when it
may not, and start a video visit from the schedule. Twilio is the simulator (texts, and video signalling)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders import accounts
from clinic_reminders.db import make_engine, make_sessionmaker
from clinic_reminders.local_time import display
from clinic_reminders.models import Appointment, AppointmentKind, Base, Clinic, Patient, Provider, Role, utcnow
from clinic_reminders.settings import Settings
from clinic_reminders.simulator import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from clinic_reminders.web.app import create_app
from tests.conftest import TEST_SECRET_KEY
from tests.factories import DEFAULT_PASSWORD, make_appointment, make_clinic, make_patient, make_provider, make_user
from tests.fixtures.simulator import CLINIC_NUMBER, LateApp, SimulatorClient, ThreadedServer, wait_until
from tests.integration.test_video import API_KEY, API_SECRET, video_config

pytestmark = pytest.mark.browser

CHICAGO = ZoneInfo("America/Chicago")
DESK = "desk@example.com"
ANA_PHONE, OPTED_OUT_PHONE = "+13125550142", "+13125550143"


@dataclass
class Desk:
    url: str
    sessions: sessionmaker[Session]
    clinic_id: int
    provider_id: int


@pytest.fixture
def desk(tmp_path: Path, simulator: SimulatorClient) -> Iterator[Desk]:
    """A Chicago clinic with Dr. Maria Chen, a patient who takes texts and one who opted out; texts allowed at
    any hour (the test does not depend on when it runs); the office's default reminder rules."""
    simulator.reset(video_config())
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as db, db.begin():
        office = accounts.the_office(db)
        office.quiet_hours_start, office.quiet_hours_end = time(0, 0), time(23, 59)
        clinic = make_clinic(db, office, name="Lakeside", timezone="America/Chicago", phone="+13125550100")
        provider = make_provider(db, office, clinic, name="Maria Chen")
        make_patient(db, office, "Ana", "López", phone=ANA_PHONE)
        make_patient(db, office, "Omar", "Quiet", phone=OPTED_OUT_PHONE, sms_opted_out_at=utcnow())
        make_user(db, office, Role.STAFF, email=DESK, name="Front Desk")
        ids = (clinic.id, provider.id)
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
        twilio_api_key=API_KEY,
        twilio_api_secret=API_SECRET,
        twilio_api_base_url=simulator.base_url,
    )
    late.app = create_app(settings, engine)
    with server:
        yield Desk(server.url, sessions, *ids)
    engine.dispose()


def sign_in(page: Page, desk: Desk, target: str = "/schedule") -> None:
    page.goto(f"{desk.url}{target}")
    page.get_by_label("Email").fill(DESK)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(target.split("?")[0])))


def tomorrow() -> str:
    return (datetime.now(CHICAGO) + timedelta(days=1)).date().isoformat()


def abbreviation(day: str, at: time) -> str:
    return datetime.combine(datetime.fromisoformat(day).date(), at, CHICAGO).tzname() or ""


def planned_text_times(page: Page, row_id: str) -> list[str]:
    return page.locator(f"#{row_id} .step-planned").filter(has_text="Text planned").locator("time").all_inner_texts()


def test_the_desk_books_a_visit_for_tomorrow_then_moves_it(page: Page, desk: Desk) -> None:
    sign_in(page, desk)
    page.get_by_role("link", name="New appointment").click()
    page.get_by_label("Find the patient (name or phone)").fill("lopez")
    page.get_by_role("button", name="Find", exact=True).click()
    expect(page.locator("#chosen-patient")).to_contain_text("Ana López")
    page.get_by_label("Clinic", exact=True).select_option(str(desk.clinic_id))
    page.get_by_label("Provider", exact=True).select_option(str(desk.provider_id))
    day = tomorrow()
    page.locator("#f-day").fill(day)
    page.get_by_label("Start, on the clinic's clock").fill("15:30")
    page.get_by_label("Duration").select_option("45")
    page.get_by_role("button", name="Book appointment").click()

    zone = abbreviation(day, time(15, 30))
    expect(page.locator(".flash")).to_contain_text(f"3:30 PM {zone} at Lakeside. Reminders planned: ")
    row = page.locator("tr.appt", has_text="Ana López")
    expect(row.locator("td.time")).to_contain_text(f"3:30 PM {zone}")
    expect(row).to_contain_text("Text planned")
    row_id = row.get_attribute("id") or ""
    assert planned_text_times(page, row_id)[-1].endswith(f"1:30 PM {zone}")  # the text 2 hours before

    row.get_by_role("link", name=re.compile("^Move")).click()
    expect(page.get_by_label("Start, on the clinic's clock")).to_have_value("15:30")
    page.get_by_label("Start, on the clinic's clock").fill("17:45")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".flash")).to_contain_text("Saved: ")
    expect(page.locator(".flash")).to_contain_text(f"5:45 PM {zone} at Lakeside")
    moved = page.locator(f"#{row_id}")
    expect(moved.locator("td.time")).to_contain_text(f"5:45 PM {zone}")
    assert planned_text_times(page, row_id)[-1].endswith(f"3:45 PM {zone}")  # the planned text moved with it


def test_the_desk_is_warned_of_a_double_booking_and_saves_anyway(page: Page, desk: Desk) -> None:
    with desk.sessions() as db, db.begin():
        clinic, provider = db.get(Clinic, desk.clinic_id), db.get(Provider, desk.provider_id)
        assert clinic is not None
        other = db.scalars(select(Patient).where(Patient.last_name == "Quiet")).one()
        start = datetime.combine(datetime.fromisoformat(tomorrow()).date(), time(10), CHICAGO)
        make_appointment(db, clinic, other, provider, starts_at=start)
    sign_in(page, desk, "/appointments/new")
    page.get_by_label("Find the patient (name or phone)").fill("312 555 0142")
    page.get_by_role("button", name="Find", exact=True).click()
    expect(page.locator("#chosen-patient")).to_contain_text("Ana López")
    page.get_by_label("Provider", exact=True).select_option(str(desk.provider_id))
    page.locator("#f-day").fill(tomorrow())
    page.get_by_label("Start, on the clinic's clock").fill("10:15")
    page.get_by_role("button", name="Book appointment").click()
    expect(page.locator(".concerns")).to_contain_text("Dr. Maria Chen is already booked then")
    page.get_by_role("button", name="Save anyway").click()
    expect(page.locator(".flash")).to_contain_text("Booked: ")


def test_the_desk_adds_a_patient_and_books_them(page: Page, desk: Desk) -> None:
    sign_in(page, desk, "/patients")
    page.get_by_role("link", name="Add patient").click()
    page.get_by_label("First name").fill("Tomás")
    page.get_by_label("Last name").fill("Reyes")
    page.get_by_label("Phone 1", exact=True).fill("(312) 555-0177")
    page.get_by_label("Language of reminders").select_option("es")
    page.get_by_label("Agreed to text messages").check()
    page.get_by_role("button", name="Add patient").click()
    expect(page.locator(".flash")).to_have_text("Patient added. Book their visit with “New appointment”.")
    expect(page.get_by_role("heading", name="Tomás Reyes")).to_be_visible()
    page.get_by_role("link", name="New appointment").click()
    expect(page.locator("#chosen-patient")).to_contain_text("Tomás Reyes")
    with desk.sessions() as db:
        patient = db.scalars(select(Patient).where(Patient.last_name == "Reyes")).one()
        assert ([p.number for p in patient.phones], patient.language) == (["+13125550177"], "es")


def test_send_reminder_now_says_what_it_did(page: Page, desk: Desk, simulator: SimulatorClient) -> None:
    with desk.sessions() as db, db.begin():
        clinic = db.get(Clinic, desk.clinic_id)
        assert clinic is not None
        for patient in db.scalars(select(Patient)):
            make_appointment(db, clinic, patient, starts_at=utcnow() + timedelta(days=2))
    sign_in(page, desk, f"/schedule?days=3&day={datetime.now(CHICAGO).date().isoformat()}")
    ana = page.locator("tr.appt", has_text="Ana López")
    ana.get_by_role("button", name=re.compile("^Send a reminder now")).click()
    expect(ana.locator(".notice")).to_have_text("Reminder text sent. The planned reminders still go at their times.")
    assert len(wait_until(lambda: simulator.messages(to=ANA_PHONE))) == 1
    expect(ana).to_contain_text("Text planned")  # the planned reminders are still there

    quiet = page.locator("tr.appt", has_text="Omar Quiet")
    quiet.get_by_role("button", name=re.compile("^Send a reminder now")).click()
    expect(quiet.locator(".notice")).to_contain_text("Not sent: the patient opted out of texts on ")
    assert simulator.messages(to=OPTED_OUT_PHONE) == []

    ana.get_by_role("button", name=re.compile("^Send a reminder now")).click()  # a second one today
    expect(ana.locator(".notice")).to_contain_text("Not sent: the patient already had 1 reminder today")
    ana.get_by_role("button", name=re.compile("anyway")).click()
    expect(ana.locator(".notice")).to_have_text("Reminder text sent. The planned reminders still go at their times.")
    assert wait_until(lambda: len(simulator.messages(to=ANA_PHONE)) == 2)


def test_a_video_visit_is_started_from_its_schedule_row(page: Page, desk: Desk) -> None:
    with desk.sessions() as db, db.begin():
        clinic = db.get(Clinic, desk.clinic_id)
        assert clinic is not None
        ana = db.scalars(select(Patient).where(Patient.last_name == "López")).one()
        start = utcnow() + timedelta(minutes=5)
        appointment = make_appointment(db, clinic, ana, starts_at=start, kind=AppointmentKind.TELEHEALTH)
        appointment_id = appointment.id
        day = start.astimezone(CHICAGO).date().isoformat()
    sign_in(page, desk, f"/schedule?day={day}")
    row = page.locator(f"#appt-{appointment_id}")
    row.get_by_role("link", name=re.compile("^Start the video visit")).click()
    expect(page).to_have_url(re.compile(rf"/video/visit/{appointment_id}$"))
    expect(page.get_by_role("heading", name="Video visit with Ana López")).to_be_visible()
    with desk.sessions() as db:
        booked = db.get(Appointment, appointment_id)
        assert booked is not None
        expect(page.locator("#visit-when")).to_contain_text(display(booked.starts_at, "America/Chicago"))
    video = page.locator("#provider-video")
    expect(video).to_have_attribute("data-state", "ready", timeout=15_000)
    page.click("#start")
    expect(video).to_have_attribute("data-state", "waiting", timeout=15_000)
