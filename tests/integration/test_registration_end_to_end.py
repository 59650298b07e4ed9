"""Carrier registration end to end against the simulator: a fresh office from credentials through
`reminders setup twilio --register`, texts held (calls going out) while carriers review, the campaign submitted by
the service itself once the brand is approved, the held texts sent once, and a doctor all green; and a rejected
brand corrected on the configuration page and resubmitted, never a second brand."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography import x509
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders import booking
from clinic_reminders.cli import main
from clinic_reminders.db import make_engine, make_sessionmaker
from clinic_reminders.dispatcher.worker import Worker
from clinic_reminders.doctor import Status
from clinic_reminders.doctor.alerts import Watch
from clinic_reminders.models import (
    Appointment,
    Channel,
    Clinic,
    Office,
    Registration,
    RegistrationKind,
    RegistrationState,
    Reminder,
    ReminderStatus,
    Role,
    RuleCondition,
)
from clinic_reminders.registration.senders import WAITING_FOR_REGISTRATION
from clinic_reminders.settings import Settings
from clinic_reminders.simulator import AccountConfig, SimulatorConfig
from clinic_reminders.web.app import create_app
from tests.conftest import TEST_SECRET_KEY
from tests.factories import make_business_profile, make_patient, make_rule, make_user
from tests.fixtures.simulator import SimulatorClient, wait_until
from tests.integration.doctor_support import SID, TOKEN, doctor, make_office_with_clinics, served_tls
from tests.web.pages import PageClient, sign_in

CODE = re.compile(r"at (\+\d+): answer and type (\d{6})")
NOW = datetime(2030, 6, 12, 16, 0, tzinfo=UTC)  # noon in New York, where the patient's (212) number is
PATIENT = "+12125550142"
ADMIN = "+12125550199"  # the office manager's phone: registration verdicts are texted to it


@contextmanager
def office_served(
    simulator: SimulatorClient, migrated_url: str, pki: dict[str, str]
) -> Iterator[tuple[sessionmaker[Session], Callable[[], Settings], dict[str, str]]]:
    """A fresh account (only the ISV's primary profile, no number) whose reviews wait for the inspection API, an
    office with two clinics, a complete business profile and a text and a call rule; the service over HTTPS."""
    account = AccountConfig(sid=SID, auth_token=TOKEN, numbers=[], balance="50.00", registration="primary")
    simulator.reset(
        SimulatorConfig(accounts=[account], callback_delay_ms=5, webhook_ca_file=pki["root"], reviews_approve=False)
    )
    sessions = make_sessionmaker(make_engine(migrated_url))
    with sessions() as db:
        office = make_office_with_clinics(db)
        make_business_profile(db, office)
        make_rule(db, office, "Text")
        make_rule(
            db, office, "Call", Channel.VOICE, at_local_time=time(11), condition=RuleCondition.UNANSWERED_AND_NO_SMS
        )
        db.commit()
    public: dict[str, str] = {}

    def settings(url: str | None = None) -> Settings:
        return Settings(
            database_url=migrated_url,
            secret_key=TEST_SECRET_KEY,
            public_url=url or public["url"],
            twilio_api_base_url=simulator.base_url,
            tls_certfile=pki["cert"],
            tls_keyfile=pki["key"],
            heartbeat_seconds=0.5,
            sender_rate=1000.0,
            alert_sms=ADMIN,
            embedded_worker=False,
        )

    with served_tls(settings, pki["cert"], pki["key"]) as url:
        public["url"] = url
        env = {
            "REMINDERS_DATABASE_URL": migrated_url,
            "REMINDERS_SECRET_KEY": TEST_SECRET_KEY,
            "REMINDERS_PUBLIC_URL": url,
            "TWILIO_API_BASE_URL": simulator.base_url,
        }
        yield sessions, settings, env


def setup_register(env: dict[str, str], *, register: bool = True) -> str:
    args = ["setup", "twilio", "--account-sid", SID, "--auth-token", TOKEN, "--area-code", "415", "--yes"]
    args += ["--register"] if register else []
    result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def verify_caller_ids(simulator: SimulatorClient, output: str) -> None:
    """The clinics' staff answer Twilio's call and type the code `setup` showed."""
    codes = dict(CODE.findall(output))
    for call in simulator.calls():
        if call["verification"] and call["to"] in codes:
            simulator.answer(call["sid"])
            simulator.press(call["sid"], codes[call["to"]])


def book_tomorrow(sessions: sessionmaker[Session]) -> int:
    """A visit tomorrow morning whose text and call are both due now."""
    with sessions.begin() as db:
        office = db.scalars(select(Office)).one()
        clinic = db.scalars(select(Clinic).where(Clinic.office_id == office.id).order_by(Clinic.id)).first()
        assert clinic is not None
        patient = make_patient(db, office, first_name="Hana", phone=PATIENT)
        appointment = Appointment(
            office_id=office.id, clinic_id=clinic.id, patient_id=patient.id, starts_at=NOW + timedelta(hours=20)
        )
        booking.create(db, appointment, "test")
        for reminder in db.scalars(select(Reminder).where(Reminder.appointment_id == appointment.id)):
            reminder.due_at, reminder.status = NOW - timedelta(minutes=1), ReminderStatus.PLANNED
        return appointment.id


def dispatch(settings: Settings, sessions: sessionmaker[Session], at: datetime) -> None:
    asyncio.run(Worker(settings, sessions, poll_interval=0.05, clock=lambda: at).run(once=True))


def reminders(sessions: sessionmaker[Session], appointment_id: int) -> dict[str, Reminder]:
    with sessions() as db:
        found = db.scalars(select(Reminder).where(Reminder.appointment_id == appointment_id))
        return {r.channel: r for r in found}


def registration(sessions: sessionmaker[Session], kind: RegistrationKind) -> Registration:
    with sessions() as db:
        return db.scalars(select(Registration).where(Registration.kind == kind)).one()


def trusted(pki: dict[str, str]) -> list[Any]:
    with open(pki["root"], "rb") as pem:
        return [x509.load_pem_x509_certificate(pem.read())]


def test_a_fresh_office_registers_and_its_held_texts_go_out_once_approved(
    simulator: SimulatorClient, migrated_url: str, pki: dict[str, str]
) -> None:
    with office_served(simulator, migrated_url, pki) as (sessions, settings, env):
        output = setup_register(env)
        verify_caller_ids(simulator, output)
        number = registration_number(sessions)
        customer_profile = registration(sessions, RegistrationKind.CUSTOMER_PROFILE)
        trust_product = registration(sessions, RegistrationKind.TRUST_PRODUCT)
        brand = registration(sessions, RegistrationKind.BRAND)
        assert brand.state == RegistrationState.PENDING and brand.twilio_sid, output
        simulator.approve(customer_profile.twilio_sid or "")
        simulator.approve(trust_product.twilio_sid or "")

        appointment = book_tomorrow(sessions)
        dispatch(settings(), sessions, NOW)
        held = reminders(sessions, appointment)
        assert held["sms"].status == ReminderStatus.PLANNED
        assert (held["sms"].reason or "").startswith(f"{WAITING_FOR_REGISTRATION}: brand in review since")
        assert simulator.messages(to=PATIENT) == []  # never into a known block
        [_call] = [c for c in simulator.calls() if c["to"] == PATIENT]  # the call goes out instead
        report = doctor(settings(), sessions, "twilio.a2p.brand", "twilio.a2p.campaign")
        assert report.result("twilio.a2p.brand").status is Status.WARNING
        assert "1 text(s) waiting (calls go out meanwhile)" in report.result("twilio.a2p.brand").explanation

        simulator.approve(brand.twilio_sid or "")
        watch = Watch(settings(), sessions)
        watch.look()  # the running service follows the review: no person submits the campaign
        campaign = registration(sessions, RegistrationKind.CAMPAIGN)
        assert campaign.twilio_sid and campaign.state == RegistrationState.PENDING
        assert simulator.registration(campaign.twilio_sid)["kind"] == "campaign"
        dispatch(settings(), sessions, NOW + timedelta(minutes=5))
        assert simulator.messages(to=PATIENT) == []  # the campaign is still in review

        simulator.approve(campaign.twilio_sid)
        watch.look()
        assert registration(sessions, RegistrationKind.CAMPAIGN).state == RegistrationState.APPROVED
        alerts = [m["body"] for m in simulator.messages(to=ADMIN)]
        assert any("The A2P 10DLC brand was approved." in a for a in alerts)
        assert any("The A2P 10DLC campaign was approved. 1 waiting text(s) go out now." in a for a in alerts)
        dispatch(settings(), sessions, NOW + timedelta(minutes=10))  # noon in New York: inside the window
        dispatch(settings(), sessions, NOW + timedelta(minutes=11))
        [sent] = simulator.messages(to=PATIENT)
        assert sent["from"] == number
        wait_until(lambda: simulator.messages(to=PATIENT)[0]["status"] == "delivered")  # carriers took it
        assert reminders(sessions, appointment)["sms"].status == ReminderStatus.SENT

        report = doctor(settings(), sessions, trusted_roots=trusted(pki))
        not_ok = {r.id: r.explanation for r in report.results if r.status is not Status.OK}
        assert not_ok == {"twilio.tollfree.verification": "no toll-free number sends texts: no verification needed"}
        assert len(simulator.registrations("brand")) == 1 and len(simulator.registrations("campaign")) == 1


def registration_number(sessions: sessionmaker[Session]) -> str:
    with sessions() as db:
        number = db.scalars(select(Office)).one().twilio_phone_number
    assert number
    return number


@pytest.mark.parametrize("code", [21736])
def test_a_rejected_brand_is_corrected_on_the_page_and_resubmitted_never_a_second_one(
    simulator: SimulatorClient, migrated_url: str, pki: dict[str, str], code: int
) -> None:
    with office_served(simulator, migrated_url, pki) as (sessions, settings, env):
        setup_register(env)
        brand = registration(sessions, RegistrationKind.BRAND)
        simulator.reject(brand.twilio_sid or "", code, "The contact email address is not valid", ("email",))
        Watch(settings(), sessions).look()
        [alert] = [m["body"] for m in simulator.messages(to=ADMIN) if "brand" in m["body"]]
        assert "The A2P 10DLC brand was rejected: Twilio error 21736" in alert and "--register" in alert
        report = doctor(settings(), sessions, "twilio.a2p.brand")
        result = report.result("twilio.a2p.brand")
        assert result.status is Status.FAILED
        assert str(code) in result.explanation and "email" in result.explanation.lower()
        assert result.fix

        pages = admin_pages(sessions, settings())
        page = pages.get("/config/registration").text
        assert "rejected" in page or "failed" in page
        saved = pages.post("/config/registration", {"contact_email": "grace.hopper@riverside.example.com"})
        assert saved.status_code == 303, saved.text

        output = setup_register(env)
        assert "resubmitted" in output, output
        assert len(simulator.registrations("brand")) == 1
        assert simulator.registration(brand.twilio_sid or "")["status"] in ("PENDING", "IN_REVIEW")


def admin_pages(sessions: sessionmaker[Session], settings: Settings) -> PageClient:
    with sessions() as db:
        office = db.scalars(select(Office)).one()
        admin = make_user(db, office, Role.ADMIN, email="manager@riverside.example.com")
        db.commit()
    # the session cookie is Secure with an https public URL: the browser is on https too
    return sign_in(TestClient(create_app(settings), base_url="https://testserver"), admin.email)


def test_an_admin_registers_from_the_page_once_the_fees_are_accepted(
    simulator: SimulatorClient, migrated_url: str, pki: dict[str, str]
) -> None:
    with office_served(simulator, migrated_url, pki) as (sessions, settings, env):
        setup_register(env, register=False)
        pages = admin_pages(sessions, settings())
        page = pages.get("/config/registration").text
        assert "Registering costs money" in page and "Submit registration" in page
        refused = pages.post("/config/registration/submit", {})
        assert refused.status_code == 303
        page = pages.get("/config/registration").text
        assert "confirm to go on" in page  # the brand waits for the fees to be accepted
        assert simulator.registrations("brand") == []
        pages.post("/config/registration/submit", {"accept_fees": "on"})
        page = pages.get("/config/registration").text
        [brand] = simulator.registrations("brand")
        assert f"brand {brand['sid']} submitted" in page
        assert registration(sessions, RegistrationKind.BRAND).twilio_sid == brand["sid"]
