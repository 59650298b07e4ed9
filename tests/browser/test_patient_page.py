"""The patient's page and the video join page in Debian's Chromium (headless, fake camera and microphone).

What the video tests exercise: the real twilio-video SDK (2.x, served locally from static/vendor) asks our server
for a token, gets camera and microphone through getUserMedia (Chromium's fake devices), and runs `Video.connect()`
against the simulator's signalling WebSocket (the SDK's `wsServer` option, which our page sets when
TWILIO_API_BASE_URL points at a simulator): the TCMP handshake, the ICE-server request, the token check (signature
with the office's API key secret, expiry, grant) and the RSP connect, then participant updates when the provider
joins or leaves. What they do not exercise: media. The simulator has no media server, so the SDK's SDP offer is
never answered, no ICE/DTLS/RTP flows and no remote track arrives; nor is Twilio's own signalling server reached.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from icalendar import Calendar
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.db import make_engine
from clinic_reminders.models import Appointment, AppointmentKind, AppointmentStatus, Base, Office, Role, VideoEvent
from clinic_reminders.settings import Settings
from clinic_reminders.simulator import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from clinic_reminders.telehealth.links import make_patient_link
from clinic_reminders.web.app import create_app
from clinic_reminders.web.portal.pages import SDK
from tests.browser.conftest import BASE_ARGS, CHROMIUM
from tests.conftest import TEST_SECRET_KEY
from tests.factories import (
    DEFAULT_PASSWORD,
    make_appointment,
    make_clinic,
    make_office,
    make_patient,
    make_provider,
    make_token,
    make_user,
)
from tests.fixtures.simulator import LateApp, SimulatorClient, ThreadedServer, wait_until
from tests.integration.test_video import API_KEY, API_SECRET, video_config

pytestmark = pytest.mark.browser

DOB = date(1975, 6, 1)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: this tier is about the browser, the database matrix runs in tests/web and tests/integration."""
    url = f"sqlite:///{tmp_path / 'browser.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    return url


@pytest.fixture
def served(database_url: str, simulator: SimulatorClient) -> Iterator[tuple[str, Settings]]:
    if not SDK.is_file():
        pytest.fail(f"{SDK} is missing: run `make assets` (copies twilio-video from node_modules)")
    simulator.reset(video_config())
    late = LateApp()
    server = ThreadedServer(late)
    settings = Settings(
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        public_url=server.url,
        embedded_worker=False,
        twilio_account_sid=DEFAULT_ACCOUNT_SID,
        twilio_auth_token=DEFAULT_AUTH_TOKEN,
        twilio_phone_number="+15005550006",
        twilio_api_key=API_KEY,
        twilio_api_secret=API_SECRET,
        twilio_api_base_url=simulator.base_url,
    )
    late.app = create_app(settings)
    with server:
        yield server.url, settings


def booked(session: Session, settings: Settings, **fields: Any) -> tuple[Appointment, str, str]:
    """An appointment, its patient link and a staff bearer token."""
    office = make_office(session)
    clinic = make_clinic(session, office, name="Downtown Clinic", address="12 Main St, Springfield")
    provider = make_provider(session, office, clinic)
    patient = make_patient(session, office, date_of_birth=DOB)
    appointment = make_appointment(session, clinic, patient, provider, **fields)
    token = make_token(session, make_user(session, office))
    link = make_patient_link(session, settings, appointment)
    session.commit()
    return appointment, link, token


def open_verified(page: Page, link: str) -> None:
    page.goto(link)
    page.fill("#dob", DOB.isoformat())
    page.click("#verify button[type=submit]")
    expect(page.locator("#status")).to_be_visible()


def test_it_lets_the_patient_confirm_and_download_the_calendar(
    page: Page, served: tuple[str, Settings], session: Session, session_factory: sessionmaker[Session]
) -> None:
    _base, settings = served
    appointment, link, _token = booked(session, settings, starts_at=None)
    page.goto(link)
    expect(page.locator("#dob")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Downtown Clinic")
    open_verified(page, link)
    expect(page.locator("#where")).to_contain_text("12 Main St, Springfield")
    expect(page.locator("#map")).to_have_attribute(
        "href", "https://www.openstreetmap.org/search?query=12+Main+St%2C+Springfield"
    )
    page.click("#confirm")
    expect(page.locator("#done")).to_contain_text("confirmed")
    expect(page.locator("#status")).to_have_attribute("data-status", "confirmed")
    with session_factory() as db:
        saved = db.get(Appointment, appointment.id)
        assert saved is not None and (saved.status, saved.status_changed_by) == ("confirmed", "patient:link")
    with page.expect_download() as download_info:
        page.click("#calendar")
    download = download_info.value
    assert download.suggested_filename == "appointment.ics"
    [event] = Calendar.from_ical(Path(download.path()).read_bytes()).walk("VEVENT")
    assert event.decoded("dtstart") == appointment.starts_at
    assert str(event["location"]) == "12 Main St, Springfield"


def test_it_asks_before_cancelling(
    page: Page, served: tuple[str, Settings], session: Session, session_factory: sessionmaker[Session]
) -> None:
    _base, settings = served
    appointment, link, _token = booked(session, settings)
    open_verified(page, link)
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#cancel")
    expect(page.locator("#status")).to_have_attribute("data-status", "scheduled")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#cancel")
    expect(page.locator("#status")).to_have_attribute("data-status", "cancelled")
    with session_factory() as db:
        assert db.get(Appointment, appointment.id).status == AppointmentStatus.CANCELLED  # type: ignore[union-attr]


def test_it_joins_the_video_visit_through_the_sdk(
    page: Page,
    served: tuple[str, Settings],
    session: Session,
    simulator: SimulatorClient,
    session_factory: sessionmaker[Session],
) -> None:
    base, settings = served
    start = datetime.now(UTC) + timedelta(minutes=5)
    appointment, link, staff_token = booked(session, settings, starts_at=start, kind=AppointmentKind.TELEHEALTH)
    open_verified(page, link)
    page.click("#join")
    video = page.locator("#video")
    expect(video).to_have_attribute("data-state", "ready", timeout=15_000)  # fake camera and microphone work
    expect(page.locator("#local video")).to_have_count(1)
    page.click("#join-now")
    expect(video).to_have_attribute("data-state", "waiting", timeout=15_000)  # connect() resolved
    expect(video.locator("[data-status]")).to_contain_text("The provider will let you in shortly")
    patient = f"patient-{appointment.patient_id}"
    [room] = simulator.api("GET", "video/rooms")
    assert [(p["identity"], p["status"]) for p in room["participants"]] == [(patient, "connected")]
    assert room["unique_name"] == video.get_attribute("data-room")

    provider = httpx.post(
        f"{base}/api/appointments/{appointment.id}/video", headers={"Authorization": f"Bearer {staff_token}"}
    ).json()
    joined = simulator.api("POST", "video/join", {"token": provider["token"]})
    expect(video).to_have_attribute("data-state", "connected", timeout=10_000)
    simulator.api("POST", "video/leave", {"participant_sid": joined["participant_sid"]})
    expect(video).to_have_attribute("data-state", "waiting", timeout=10_000)
    page.click("#leave")
    expect(video).to_have_attribute("data-state", "left", timeout=10_000)

    def recorded() -> list[tuple[str, str | None]] | None:
        with session_factory() as db:
            rows = [(e.event, e.participant_identity) for e in db.scalars(select(VideoEvent).order_by(VideoEvent.id))]
        return rows if ("participant-disconnected", patient) in rows else None

    rows = wait_until(recorded)
    assert ("participant-connected", patient) in rows and ("room-created", None) in rows


def sign_in(page: Page, base: str, email: str, next_path: str) -> None:
    page.goto(f"{base}/login?next={next_path}")
    page.fill("#f-email", email)
    page.fill("#f-password", DEFAULT_PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{base}{next_path}")


def test_it_lets_provider_and_patient_meet(
    chromium: Browser, page: Page, served: tuple[str, Settings], session: Session
) -> None:
    base, settings = served
    start = datetime.now(UTC) + timedelta(minutes=5)
    appointment, link, _token = booked(session, settings, starts_at=start, kind=AppointmentKind.TELEHEALTH)
    provider_user = make_user(session, session.get(Office, appointment.office_id), email="dr@example.com")
    session.commit()
    provider_context = chromium.new_context()
    try:
        provider = provider_context.new_page()
        sign_in(provider, base, provider_user.email, f"/video/visit/{appointment.id}")
        staff_side = provider.locator("#provider-video")
        expect(staff_side).to_have_attribute("data-state", "ready", timeout=15_000)
        provider.click("#start")
        expect(staff_side).to_have_attribute("data-state", "waiting", timeout=15_000)

        open_verified(page, link)
        page.goto(link + "/video")
        expect(page.locator("#video")).to_have_attribute("data-state", "ready", timeout=15_000)
        page.click("#join-now")
        expect(page.locator("#video")).to_have_attribute("data-state", "connected", timeout=15_000)
        expect(staff_side).to_have_attribute("data-state", "connected", timeout=10_000)
        assert staff_side.get_attribute("data-room") == page.locator("#video").get_attribute("data-room")
    finally:
        provider_context.close()


def test_it_runs_the_offices_test_chat(page: Page, served: tuple[str, Settings], session: Session) -> None:
    base, _settings = served
    office = make_office(session)
    admin = make_user(session, office, Role.ADMIN, email="admin@example.com")
    session.commit()
    sign_in(page, base, admin.email, "/setup/test-chat")
    page.click("#start")
    chat = page.locator("#test-chat")
    expect(chat).to_have_attribute("data-state", "connected", timeout=20_000)
    expect(page.locator("#end-a")).to_have_attribute("data-state", "sees-other")
    expect(page.locator("#end-b")).to_have_attribute("data-state", "sees-other")
    expect(page.locator("#end-a [data-end-status]")).to_contain_text("-b")
    # The signed status callbacks came back to our webhook and are listed on the page.
    expect(chat).to_have_attribute(
        "data-events", re.compile(r"room-created.*participant-connected.*participant-connected")
    )


def test_it_explains_a_blocked_camera(playwright_driver: Any, served: tuple[str, Settings], session: Session) -> None:
    _base, settings = served
    start = datetime.now(UTC) + timedelta(minutes=5)
    _appointment, link, _token = booked(session, settings, starts_at=start, kind=AppointmentKind.TELEHEALTH)
    # Fake devices, but no auto-accepting fake UI: headless Chromium then denies the permission, as a patient might.
    browser = playwright_driver.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[*BASE_ARGS, "--use-fake-device-for-media-stream"]
    )
    try:
        page = browser.new_page()
        open_verified(page, link)
        page.goto(link + "/video")
        expect(page.locator("#video")).to_have_attribute("data-state", "denied", timeout=15_000)
        expect(page.locator("#video [data-status]")).to_contain_text("blocked")
        expect(page.locator("#join-now")).to_be_hidden()
    finally:
        browser.close()


def test_it_explains_an_unsupported_browser(page: Page, served: tuple[str, Settings], session: Session) -> None:
    _base, settings = served
    start = datetime.now(UTC) + timedelta(minutes=5)
    _appointment, link, _token = booked(session, settings, starts_at=start, kind=AppointmentKind.TELEHEALTH)
    open_verified(page, link)
    page.add_init_script("delete window.RTCPeerConnection; delete window.webkitRTCPeerConnection;")
    page.goto(link + "/video")
    expect(page.locator("#video")).to_have_attribute("data-state", "unsupported", timeout=15_000)
    expect(page.locator("#video [data-status]")).to_contain_text("cannot make video calls")
