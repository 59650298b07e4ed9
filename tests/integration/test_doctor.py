"""Every service and Twilio check of the doctor in both states against the simulator, with its fix text."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.cli import main
from clinic_reminders.db import make_engine, make_sessionmaker
from clinic_reminders.doctor import Report, Status
from clinic_reminders.gateways import ServiceSender
from clinic_reminders.migrations import upgrade
from clinic_reminders.models import (
    Clinic,
    Office,
    Registration,
    RegistrationKind,
    RegistrationState,
    Reminder,
    WorkerHeartbeat,
)
from clinic_reminders.planning import ensure_default_rules
from clinic_reminders.registration.senders import WAITING_FOR_REGISTRATION
from clinic_reminders.simulator import NumberConfig
from tests.conftest import TEST_SECRET_KEY
from tests.factories import make_appointment, make_clinic, make_patient
from tests.fixtures.registration_fake import State
from tests.fixtures.simulator import SimulatorClient
from tests.integration.doctor_support import (
    CLINIC_PHONES,
    KEY_SID,
    NUMBER,
    PUBLIC,
    SID,
    TOKEN,
    doctor,
    healthy_config,
    make_office_with_clinics,
    number,
    served,
    settings_for,
)

TWILIO_CHECKS = (
    "twilio.credentials",
    "twilio.account.type",
    "twilio.account.status",
    "twilio.balance",
    "twilio.number.exists",
    "twilio.number.capabilities",
    "twilio.number.sms_url",
    "twilio.number.voice_url",
    "twilio.caller_ids",
    "twilio.api_key",
    "twilio.video",
    "twilio.alerts",
    "twilio.messaging_service",
    "twilio.a2p.brand",
    "twilio.a2p.campaign",
)


@pytest.fixture
def office(session: Session) -> Office:
    return make_office_with_clinics(session)


@pytest.fixture
def sim(simulator: SimulatorClient, fake_registration: State) -> SimulatorClient:
    """A healthy account, registered for US texting: its Messaging Service holds the number, under an approved
    brand and a verified campaign."""
    simulator.reset(healthy_config())
    service = fake_registration.with_service(
        inbound_request_url=f"{PUBLIC}/app_confirm", inbound_method="GET", status_callback=f"{PUBLIC}/twilio/status"
    )
    fake_registration.senders[service.sid] = [ServiceSender("PN" + "1" * 32, NUMBER)]
    brand = fake_registration.with_brand()
    fake_registration.with_campaign(service.sid, brand.sid)
    return simulator


def check(report: Report, check_id: str, status: Status, explanation: str = "", fix: str = "") -> None:
    result = report.result(check_id)
    assert result.status is status, result
    assert explanation in result.explanation, result
    assert fix in result.fix, result


def run(
    sim: SimulatorClient, database_url: str, sessions: sessionmaker[Session], *ids: str, **overrides: object
) -> Report:
    return doctor(settings_for(sim, database_url, **overrides), sessions, *(ids or TWILIO_CHECKS))


def test_it_passes_every_twilio_check_on_a_healthy_account(
    sim: SimulatorClient, database_url: str, session_factory: sessionmaker[Session], office: Office
) -> None:
    report = run(sim, database_url, session_factory)
    assert {r.id: r.status for r in report.results if r.status is not Status.OK} == {}
    check(report, "twilio.number.sms_url", Status.OK, f"GET {PUBLIC}/app_confirm")
    check(report, "twilio.caller_ids", Status.OK, "all 2 clinic phone(s) verified")
    check(report, "twilio.video", Status.OK, "signed a video token and opened test room RM")
    assert report.ok


def test_it_fails_a_trial_and_a_suspended_account(
    sim: SimulatorClient, database_url: str, session_factory: sessionmaker[Session], office: Office
) -> None:
    sim.set_account(trial=True, status="suspended")
    report = run(sim, database_url, session_factory, "twilio.account.type", "twilio.account.status")
    check(report, "twilio.account.type", Status.FAILED, "the account is a Trial", "Billing → Upgrade")
    check(report, "twilio.account.status", Status.FAILED, "the account is suspended", "settle the account")


def test_it_warns_of_a_low_balance_and_fails_an_empty_one(
    sim: SimulatorClient, database_url: str, session_factory: sessionmaker[Session], session: Session, office: Office
) -> None:
    office.low_balance_threshold = Decimal("25.00")
    session.commit()
    sim.set_account(balance="12.50")
    report = run(sim, database_url, session_factory, "twilio.balance")
    check(report, "twilio.balance", Status.WARNING, "12.50 USD, below the office's threshold of 25.00", "add funds")
    sim.set_account(balance="0.00")
    check(run(sim, database_url, session_factory, "twilio.balance"), "twilio.balance", Status.FAILED, "Twilio stops")


def test_it_fails_wrong_credentials_and_skips_what_needs_them(
    sim: SimulatorClient, database_url: str, session_factory: sessionmaker[Session], office: Office
) -> None:
    report = run(sim, database_url, session_factory, twilio_auth_token=TOKEN + "-wrong")
    check(report, "twilio.credentials", Status.FAILED, "refused the Account SID and Auth Token", "Account info")
    skipped = [r.id for r in report.results if r.status is Status.SKIPPED]
    assert set(skipped) == set(TWILIO_CHECKS) - {"twilio.credentials"}


def test_it_fails_a_number_the_account_does_not_own_or_that_cannot_call(
    sim: SimulatorClient, database_url: str, session_factory: sessionmaker[Session], office: Office
) -> None:
    report = run(sim, database_url, session_factory, "twilio.number.exists", twilio_phone_number="+14155550199")
    check(report, "twilio.number.exists", Status.FAILED, f"not a number of this account (it owns: {NUMBER})", "setup")
    sim.reset(healthy_config(numbers=number(voice=False)))
    report = run(sim, database_url, session_factory, "twilio.number.capabilities")
    check(report, "twilio.number.capabilities", Status.FAILED, "has no voice capability", "SMS and voice")


def test_it_fails_an_sms_url_sent_by_post_or_elsewhere(
    sim: SimulatorClient, database_url: str, session_factory: sessionmaker[Session], office: Office
) -> None:
    sim.reset(healthy_config(numbers=number(sms_method="POST")))
    report = run(sim, database_url, session_factory, "twilio.number.sms_url", "twilio.number.voice_url")
    check(report, "twilio.number.sms_url", Status.FAILED, "uses HTTP POST; it must be GET", "HTTP GET")
    check(report, "twilio.number.voice_url", Status.OK)
    sim.reset(healthy_config(numbers=number(sms_url="https://old-host.example.com/sms", voice_url=None)))
    report = run(sim, database_url, session_factory, "twilio.number.sms_url", "twilio.number.voice_url")
    check(report, "twilio.number.sms_url", Status.FAILED, "go to https://old-host.example.com/sms, not", "setup twilio")
    check(report, "twilio.number.voice_url", Status.FAILED, "calls to the number go to nowhere", "A call comes in")


def test_it_fails_a_clinic_phone_that_is_not_a_verified_caller_id(
    sim: SimulatorClient, database_url: str, session_factory: sessionmaker[Session], session: Session, office: Office
) -> None:
    sim.reset(healthy_config(verified_caller_ids=[CLINIC_PHONES[0]]))
    report = run(sim, database_url, session_factory, "twilio.caller_ids")
    check(
        report,
        "twilio.caller_ids",
        Status.FAILED,
        f"1 of 2 clinic phone(s) are not verified caller IDs: Clinic 2 ({CLINIC_PHONES[1]})",
        "6-digit code",
    )
    clinic = session.query(Clinic).filter_by(phone=CLINIC_PHONES[1]).one()
    clinic.phone = NUMBER  # a number the account owns needs no verification
    session.commit()
    check(run(sim, database_url, session_factory, "twilio.caller_ids"), "twilio.caller_ids", Status.OK)


def test_it_fails_a_missing_api_key_and_one_that_cannot_sign(
    sim: SimulatorClient, database_url: str, session_factory: sessionmaker[Session], office: Office
) -> None:
    report = run(sim, database_url, session_factory, "twilio.video", twilio_api_key=None, twilio_api_secret=None)
    check(report, "twilio.api_key", Status.FAILED, "no API key and secret", "creates a key")
    check(report, "twilio.video", Status.SKIPPED)
    report = run(
        sim, database_url, session_factory, "twilio.video", twilio_api_secret="not-the-secret-but-as-long-as-one-is"
    )
    check(report, "twilio.api_key", Status.OK, KEY_SID)
    check(report, "twilio.video", Status.FAILED, f"Twilio refused API key {KEY_SID} with the stored secret", "replaces")


def test_it_explains_webhook_failures_from_twilios_alerts(
    sim: SimulatorClient, database_url: str, session_factory: sessionmaker[Session], office: Office
) -> None:
    sim.api("POST", "alerts", {"error_code": "11200", "request_url": "https://elsewhere.example.org/x"})
    check(run(sim, database_url, session_factory, "twilio.alerts"), "twilio.alerts", Status.OK, "no webhook failure")
    sim.api("POST", "alerts", {"error_code": "11200", "request_url": f"{PUBLIC}/app_confirm", "minutes_ago": 200})
    sim.api("POST", "alerts", {"error_code": "11236", "request_url": f"{PUBLIC}/twilio/status", "minutes_ago": 5})
    report = run(sim, database_url, session_factory, "twilio.alerts")
    check(report, "twilio.alerts", Status.FAILED, "2 time(s) in 24 h (11200 ×1, 11236 ×1)", "renew the certificate")
    assert "/twilio/status: the certificate has expired" in report.result("twilio.alerts").explanation
    sim.reset(healthy_config())
    sim.api("POST", "alerts", {"error_code": "11205", "request_url": f"{PUBLIC}/app_confirm", "minutes_ago": 180})
    report = run(sim, database_url, session_factory, "twilio.alerts")
    check(report, "twilio.alerts", Status.WARNING, "Twilio could not connect (none in the last hour)", "port is open")


def test_it_checks_the_dispatcher_heartbeat(
    sim: SimulatorClient, database_url: str, session_factory: sessionmaker[Session], session: Session, office: Office
) -> None:
    check(
        run(sim, database_url, session_factory, "dispatcher.heartbeat"),
        "dispatcher.heartbeat",
        Status.FAILED,
        "no dispatcher has ever run",
        "reminders worker",
    )
    now = datetime.now(UTC)
    beat = WorkerHeartbeat(
        worker_id="w1", hostname="h", pid=1, started_at=now - timedelta(hours=1), seen_at=now - timedelta(minutes=10)
    )
    session.add(beat)
    session.commit()
    report = run(sim, database_url, session_factory, "dispatcher.heartbeat")
    check(report, "dispatcher.heartbeat", Status.FAILED, "last seen 10 min ago", "reminders serve")
    beat.seen_at = now - timedelta(seconds=3)
    session.commit()
    check(
        run(sim, database_url, session_factory, "dispatcher.heartbeat"),
        "dispatcher.heartbeat",
        Status.OK,
        "last heartbeat",
    )


def test_it_checks_the_database_is_migrated(
    sim: SimulatorClient, database_url: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    report = run(sim, database_url, session_factory, "database.migrated")
    check(report, "database.migrated", Status.FAILED, "no schema version", "reminders db upgrade")
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    upgrade(url)
    engine = make_engine(url)
    report = run(sim, url, make_sessionmaker(engine), "database.migrated")
    engine.dispose()
    check(report, "database.migrated", Status.OK, "at the latest version")


def test_it_checks_settings_are_present(
    sim: SimulatorClient, database_url: str, session_factory: sessionmaker[Session], office: Office
) -> None:
    ids = ("settings.public_url", "settings.twilio_account", "settings.twilio_number", "settings.secret_key")
    report = run(sim, database_url, session_factory, *ids)
    assert all(report.result(i).status is Status.OK for i in ids)
    report = run(
        sim,
        database_url,
        session_factory,
        *ids,
        public_url=None,
        twilio_account_sid="SK" + "1" * 32,
        twilio_phone_number=None,
    )
    check(report, "settings.public_url", Status.FAILED, "no public URL", "REMINDERS_PUBLIC_URL=https://")
    check(report, "settings.twilio_account", Status.FAILED, "does not look like one", "not an API key SID")
    check(report, "settings.twilio_number", Status.FAILED, "no Twilio phone number", "to buy one")


def test_it_has_the_simulator_send_a_signed_webhook_to_the_service(
    simulator: SimulatorClient, database_url: str, session_factory: sessionmaker[Session], office: Office
) -> None:
    with served(lambda url: settings_for(simulator, database_url, public_url=url)) as public:
        simulator.reset(healthy_config(public))
        report = run(simulator, database_url, session_factory, "twilio.webhook.signed", public_url=public)
        check(report, "twilio.webhook.signed", Status.OK, "arrived at /twilio/doctor-ping and validated")
    with served(
        lambda url: settings_for(simulator, database_url, public_url=url, twilio_auth_token="rotated-token")
    ) as public:
        report = run(simulator, database_url, session_factory, "twilio.webhook.signed", public_url=public)
        check(report, "twilio.webhook.signed", Status.FAILED, "signature did not validate", "current auth token")
    report = run(simulator, database_url, session_factory, "twilio.webhook.signed", public_url=public)
    check(report, "twilio.webhook.signed", Status.FAILED, "did not arrive", "service runs at the public URL")


def test_it_prints_the_report_as_json_and_exits_non_zero_on_failure(sim: SimulatorClient, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    env = {
        "REMINDERS_DATABASE_URL": url,
        "REMINDERS_SECRET_KEY": TEST_SECRET_KEY,
        "REMINDERS_PUBLIC_URL": PUBLIC,
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_PHONE_NUMBER": NUMBER,
        "TWILIO_API_BASE_URL": sim.base_url,
    }
    result = CliRunner().invoke(main, ["doctor", "--json"], env=env)
    assert result.exit_code == 1
    report = json.loads(result.stdout)  # logs go to stderr
    statuses = {c["id"]: c["status"] for c in report["checks"]}
    assert report["ok"] is False and statuses["server.dns"] == "failed" and statuses["twilio.number.sms_url"] == "ok"
    assert statuses["dispatcher.heartbeat"] == "failed" and statuses["twilio.api_key"] == "failed"
    text = CliRunner().invoke(main, ["doctor"], env=env).stdout
    assert "FAIL  twilio.api_key" in text and "fix: run `reminders setup twilio`" in text
    assert TOKEN not in text and TOKEN not in result.output


def test_it_says_where_admin_alerts_go(
    sim: SimulatorClient, database_url: str, session_factory: sessionmaker[Session], office: Office
) -> None:
    report = run(sim, database_url, session_factory, "settings.alerts", alert_email=None, alert_sms=None)
    check(report, "settings.alerts", Status.WARNING, "alerts: nowhere", "configuration screen (Alerts)")
    report = run(sim, database_url, session_factory, "settings.alerts", alert_email="it@clinic.example")
    check(report, "settings.alerts", Status.WARNING, "no email to it@clinic.example (no SMTP URL", "REMINDERS_SMTP_URL")
    report = run(
        sim,
        database_url,
        session_factory,
        "settings.alerts",
        alert_email="it@clinic.example",
        smtp_url="smtp://mailer:s3cret@mail.clinic.example:587",
        alert_sms="+12125550199",
    )
    check(report, "settings.alerts", Status.OK, "email to it@clinic.example through mail.clinic.example:587", "")
    assert "s3cret" not in report.result("settings.alerts").explanation
    assert "SMS to +12125550199" in report.result("settings.alerts").explanation


def test_it_explains_a_rejected_brand_with_its_code_field_and_fix_and_the_texts_waiting(
    sim: SimulatorClient,
    database_url: str,
    session_factory: sessionmaker[Session],
    session: Session,
    office: Office,
    fake_registration: State,
) -> None:
    brand = next(iter(fake_registration.brands.values()))
    fake_registration.reject(brand.sid, [{"code": 30799, "description": "unverified", "fields": []}])
    ensure_default_rules(session, office)
    patient = make_patient(session, office)
    appointment = make_appointment(session, make_clinic(session, office), patient)
    waiting = session.scalars(select(Reminder).where(Reminder.appointment_id == appointment.id)).all()
    for reminder in waiting:
        reminder.reason = f"{WAITING_FOR_REGISTRATION}: brand rejected on Dec 1"
    session.commit()
    assert waiting
    report = run(sim, database_url, session_factory, "twilio.a2p.brand", "twilio.a2p.campaign")
    check(
        report, "twilio.a2p.brand", Status.FAILED, f"brand {brand.sid} FAILED: Twilio error 30799", "business profile"
    )
    assert "(field: ein)" in report.result("twilio.a2p.brand").explanation
    assert f"; {len(waiting)} text(s) waiting (calls go out meanwhile)" in report.result("twilio.a2p.brand").explanation
    check(report, "twilio.a2p.campaign", Status.SKIPPED)
    with session_factory() as db:  # what Twilio said is recorded in the office's row
        row = db.scalars(select(Registration).where(Registration.kind == RegistrationKind.BRAND)).one()
        assert row.twilio_sid == brand.sid and row.state == RegistrationState.FAILED


def test_it_waits_for_a_brand_in_review_and_wants_a_messaging_service(
    sim: SimulatorClient,
    database_url: str,
    session_factory: sessionmaker[Session],
    office: Office,
    fake_registration: State,
) -> None:
    brand = next(iter(fake_registration.brands.values()))
    fake_registration.brands[brand.sid] = replace(brand, status="IN_REVIEW")
    fake_registration.campaigns.clear()
    report = run(sim, database_url, session_factory, "twilio.a2p.brand", "twilio.a2p.campaign")
    check(report, "twilio.a2p.brand", Status.WARNING, "IN_REVIEW: carriers review it", "nothing to do but wait")
    check(report, "twilio.a2p.campaign", Status.WARNING, "registered once brand", "by itself")
    fake_registration.services.clear()
    report = run(sim, database_url, session_factory, "twilio.messaging_service")
    check(report, "twilio.messaging_service", Status.WARNING, "no Messaging Service: texts go out", "setup twilio")
    fake_registration.with_service()  # ours by name, but pointing elsewhere and without the number
    report = run(sim, database_url, session_factory, "twilio.messaging_service")
    check(report, "twilio.messaging_service", Status.FAILED, f"lacks the sender(s) {NUMBER}", "puts them right")
    assert "incoming-message URL is not set" in report.result("twilio.messaging_service").explanation


def test_it_checks_a_toll_free_numbers_verification_only_when_one_sends(
    sim: SimulatorClient, database_url: str, session_factory: sessionmaker[Session], office: Office
) -> None:
    report = run(sim, database_url, session_factory, "twilio.tollfree.verification")
    check(report, "twilio.tollfree.verification", Status.SKIPPED, "no toll-free number sends texts")
    sim.reset(healthy_config(numbers=[NumberConfig("+18335550123")]))
    report = run(sim, database_url, session_factory, "twilio.tollfree.verification", twilio_phone_number="+18335550123")
    check(report, "twilio.tollfree.verification", Status.FAILED, "+18335550123 is not verified", "--register")
