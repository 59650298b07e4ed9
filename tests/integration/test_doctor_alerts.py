"""The running service's watch: banners for low balance and certificate expiry, and one admin alert by email
(to a tiny SMTP stub) or SMS (through the simulator) per condition and day."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from clinic_reminders.doctor.alerts import Watch, current_banners
from clinic_reminders.doctor.tls import make_certificate, make_key
from clinic_reminders.models import Office
from tests.fixtures.simulator import SimulatorClient
from tests.integration.doctor_support import NUMBER, healthy_config, make_office_with_clinics, settings_for

ADMIN_PHONE = "+15551239999"


class SmtpStub(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: every message's DATA lands in `server.received`."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 stub ESMTP")
        while line := self.rfile.readline():
            command = line.decode().strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self.reply("250 stub")
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
    assert [b.id for b in current_banners(SimpleNamespace(state=SimpleNamespace(watch=watch)))] == ["balance.low"]
    assert current_banners(SimpleNamespace(state=SimpleNamespace())) == []


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
    assert "expires in 11 days" in watch.banners[0].text
    expired = make_certificate(
        ["clinic.example.com"], key=make_key("ec"), not_before=datetime.now(UTC) - timedelta(days=90), days=60
    )
    cert.write_bytes(expired.cert_pem)
    banner = watch.look()[0]
    assert (banner.id, banner.level) == ("certificate.expired", "danger") and "Renew it" in banner.text
