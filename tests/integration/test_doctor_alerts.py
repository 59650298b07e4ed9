"""The running service's watch: banners for low balance and certificate expiry, and one admin alert by email
(to a tiny SMTP stub) or SMS (through the simulator) per condition and day, to the recipients of the environment
or, failing that, of the configuration screen, whose "Send a test alert" button goes through both channels."""

from __future__ import annotations

import base64
import logging
import socketserver
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.crypto import SecretBox
from clinic_reminders.doctor.alerts import Watch, current_banners
from clinic_reminders.models import Office, OfficeMark, Role
from clinic_reminders.tls import make_certificate, make_key
from clinic_reminders.web.app import create_app
from tests.conftest import TEST_SECRET_KEY
from tests.factories import make_office, make_user
from tests.fixtures.simulator import SimulatorClient
from tests.integration.doctor_support import NUMBER, healthy_config, make_office_with_clinics, settings_for
from tests.web.pages import sign_in

ADMIN_PHONE = "+15551239999"
MANAGER_PHONE = "+13035550199"
ADDRESSES = "manager@clinic.example.com, it@clinic.example.com"


class SmtpStub(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: every message's DATA lands in `server.received`, AUTH PLAIN in `server.logins`."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 stub ESMTP")
        while line := self.rfile.readline():
            command = line.decode().strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self.reply("250-stub")
                self.reply("250 AUTH PLAIN")
            elif command.startswith("AUTH PLAIN "):
                self.server.logins.append(line.decode().split()[2])  # type: ignore[attr-defined]
                self.reply("235 welcome")
            elif command == "DATA":
                self.reply("354 go ahead")
                lines = []
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(data.decode())
                self.server.received.append("".join(lines))  # type: ignore[attr-defined]
                self.reply("250 queued")
            elif command == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


@pytest.fixture
def smtp() -> Iterator[Any]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SmtpStub)
    server.received = []  # type: ignore[attr-defined]
    server.logins = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def office(session: Session, simulator: SimulatorClient) -> Office:
    simulator.reset(healthy_config())
    return make_office_with_clinics(session)


def test_it_shows_a_low_balance_banner_and_emails_the_admin_once_a_day(
    simulator: SimulatorClient, database_url: str, session_factory: sessionmaker[Session], office: Office, smtp: Any
) -> None:
    smtp_url = f"smtp://127.0.0.1:{smtp.server_address[1]}?from=alerts@clinic.example.com"
    settings = settings_for(simulator, database_url, smtp_url=smtp_url, alert_email="admin@clinic.example.com")
    clock = [datetime.now(UTC)]
    watch = Watch(settings, session_factory, clock=lambda: clock[0])
    assert watch.look() == [] and smtp.received == []
    simulator.set_account(balance="7.25")
    banners = watch.look()
    assert [(b.id, b.level) for b in banners] == [("balance.low", "warning")]
    assert "7.25 USD, below 20.00" in banners[0].text
    assert len(smtp.received) == 1
    mail = smtp.received[0]
    assert "To: admin@clinic.example.com" in mail and "From: alerts@clinic.example.com" in mail
    assert "add funds" in mail
    watch.look()
    assert len(smtp.received) == 1  # not again within the day
    clock[0] += timedelta(hours=25)
    watch.look()
    assert len(smtp.received) == 2
    app = SimpleNamespace(state=SimpleNamespace(watch=watch))
    assert [b.id for b in current_banners(app, office.id)] == ["balance.low"]
    assert current_banners(app, office.id + 1) == []
    assert current_banners(SimpleNamespace(state=SimpleNamespace()), office.id) == []


def test_two_replicas_watching_alert_once_between_them(
    simulator: SimulatorClient, database_url: str, session_factory: sessionmaker[Session], office: Office, smtp: Any
) -> None:
    smtp_url = f"smtp://127.0.0.1:{smtp.server_address[1]}?from=alerts@clinic.example.com"
    settings = settings_for(simulator, database_url, smtp_url=smtp_url, alert_email="admin@clinic.example.com")
    clock = [datetime.now(UTC)]
    replicas = [Watch(settings, session_factory, clock=lambda: clock[0]) for _ in range(2)]
    simulator.set_account(balance="7.25")
    for watch in replicas:
        assert [b.id for b in watch.look()] == ["balance.low"]  # both show the banner
    assert len(smtp.received) == 1  # one of them sent the email
    clock[0] += timedelta(hours=25)
    for watch in replicas:
        watch.look()
    assert len(smtp.received) == 2


def test_an_alert_no_channel_took_is_tried_again_at_the_next_look(
    simulator: SimulatorClient, database_url: str, session_factory: sessionmaker[Session], office: Office, smtp: Any
) -> None:
    closed = socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler)
    port = closed.server_address[1]
    closed.server_close()  # nothing listens there now
    down = settings_for(simulator, database_url, smtp_url=f"smtp://127.0.0.1:{port}", alert_email="a@clinic.example")
    simulator.set_account(balance="7.25")
    assert [b.id for b in Watch(down, session_factory).look()] == ["balance.low"]
    with session_factory() as db:
        assert db.scalars(select(OfficeMark)).all() == []  # the claim was given back
    up = f"smtp://127.0.0.1:{smtp.server_address[1]}?from=alerts@clinic.example.com"
    Watch(settings_for(simulator, database_url, smtp_url=up, alert_email="a@clinic.example"), session_factory).look()
    assert len(smtp.received) == 1


def test_every_office_that_is_not_suspended_is_watched_with_its_own_banners(
    simulator: SimulatorClient, database_url: str, session_factory: sessionmaker[Session], office: Office
) -> None:
    with session_factory() as db:
        second = make_office_with_clinics(db).id
        suspended = make_office(db, name="Closed Clinic", suspended_at=datetime.now(UTC))
        db.commit()
        suspended_id = suspended.id
    simulator.set_account(balance="7.25")  # the deployment's account, which both offices use
    watch = Watch(settings_for(simulator, database_url), session_factory)
    assert [b.id for b in watch.look()] == ["balance.low", "balance.low"]
    assert sorted(watch.banners) == [office.id, second] and suspended_id not in watch.banners


def test_it_texts_the_admin_when_the_balance_is_gone(
    simulator: SimulatorClient, database_url: str, session_factory: sessionmaker[Session], office: Office
) -> None:
    simulator.set_account(balance="0.00")
    watch = Watch(settings_for(simulator, database_url, alert_sms=ADMIN_PHONE), session_factory)
    assert [(b.id, b.level) for b in watch.look()] == [("balance.empty", "danger")]
    texts = simulator.messages(to=ADMIN_PHONE)
    assert len(texts) == 1 and texts[0]["from"] == NUMBER and "0.00 USD" in texts[0]["body"]


def test_it_warns_of_a_certificate_near_expiry_and_an_expired_one(
    simulator: SimulatorClient,
    database_url: str,
    session_factory: sessionmaker[Session],
    office: Office,
    tmp_path: Path,
) -> None:
    cert = tmp_path / "cert.pem"
    settings = settings_for(simulator, database_url, tls_certfile=str(cert))
    watch = Watch(settings, session_factory)
    cert.write_bytes(make_certificate(["clinic.example.com"], key=make_key("ec"), days=90).cert_pem)
    assert watch.look() == []
    cert.write_bytes(make_certificate(["clinic.example.com"], key=make_key("ec"), days=12).cert_pem)
    assert [(b.id, b.level) for b in watch.look()] == [("certificate.expiring", "warning")]
    assert "expires in 11 days" in watch.banners[office.id][0].text
    expired = make_certificate(
        ["clinic.example.com"], key=make_key("ec"), not_before=datetime.now(UTC) - timedelta(days=90), days=60
    )
    cert.write_bytes(expired.cert_pem)
    banner = watch.look()[0]
    assert (banner.id, banner.level) == ("certificate.expired", "danger") and "Renew it" in banner.text


def test_it_alerts_the_recipients_of_the_configuration_screen_unless_the_environment_names_others(
    simulator: SimulatorClient,
    database_url: str,
    session: Session,
    session_factory: sessionmaker[Session],
    office: Office,
    smtp: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = smtp.server_address[1]
    smtp_url = f"smtp://alerts:mail-pass-0123@127.0.0.1:{port}?from=alerts@clinic.example.com"
    office.alert_email, office.alert_sms = ADDRESSES, MANAGER_PHONE
    office.smtp_url_encrypted = SecretBox(TEST_SECRET_KEY).encrypt(smtp_url)
    session.commit()
    simulator.set_account(balance="0.00")
    caplog.set_level(logging.INFO, logger="clinic_reminders.doctor.alerts")
    Watch(settings_for(simulator, database_url), session_factory).look()
    [mail] = smtp.received
    assert f"To: {ADDRESSES}" in mail and "0.00 USD" in mail
    assert base64.b64decode(smtp.logins[0]) == b"\0alerts\0mail-pass-0123"
    assert len(simulator.messages(to=MANAGER_PHONE)) == 1
    where = f"email to {ADDRESSES} through 127.0.0.1:{port}; SMS to {MANAGER_PHONE}"
    assert f"admin alerts go to {where}" in caplog.text and "mail-pass-0123" not in caplog.text
    # the environment wins, setting by setting
    settings = settings_for(simulator, database_url, alert_email="owner@clinic.example.com", alert_sms=ADMIN_PHONE)
    Watch(settings, session_factory, clock=lambda: datetime.now(UTC) + timedelta(hours=25)).look()  # a day later
    assert "To: owner@clinic.example.com" in smtp.received[1]
    assert len(simulator.messages(to=ADMIN_PHONE)) == 1 and len(simulator.messages(to=MANAGER_PHONE)) == 1


def test_a_test_alert_goes_out_by_sms_through_the_simulator_and_by_email_through_smtp(
    simulator: SimulatorClient, database_url: str, engine: Engine, session: Session, office: Office, smtp: Any
) -> None:
    admin = make_user(session, office, Role.ADMIN, email="admin@clinic.example.com")
    session.commit()
    app = create_app(settings_for(simulator, database_url), engine)
    pages = sign_in(TestClient(app, base_url="https://testserver"), admin.email)  # an https public URL: Secure cookie
    pages.get("/config")
    smtp_url = f"smtp://alerts:mail-pass-0123@127.0.0.1:{smtp.server_address[1]}?from=alerts@clinic.example.com"
    saved = pages.post("/config", {"alert_email": ADDRESSES, "alert_sms": "(303) 555-0199", "smtp_url": smtp_url})
    assert saved.status_code == 303, saved.text
    response = pages.post("/config/alerts/test")
    assert (response.status_code, response.headers["location"]) == (303, "/config#alerts")
    page = pages.get("/config").text
    assert f"Test alert sent by email to {ADDRESSES}." in page
    assert f"Test alert sent by SMS to {MANAGER_PHONE}." in page
    assert "mail-pass-0123" not in page
    [mail] = smtp.received
    assert "Subject: clinic-reminders: test alert" in mail and f"To: {ADDRESSES}" in mail
    assert "From: alerts@clinic.example.com" in mail and "A test alert from the configuration screen" in mail
    [text] = simulator.messages(to=MANAGER_PHONE)
    assert text["from"] == NUMBER and text["body"].startswith("clinic-reminders: A test alert")
