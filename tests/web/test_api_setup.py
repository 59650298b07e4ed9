"""/api/setup: the doctor's report and the guided Twilio set-up for admins, against the simulator."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from clinic_reminders.doctor.checks import Banner
from clinic_reminders.gateways import TwilioGateway
from clinic_reminders.models import Office
from clinic_reminders.settings import Settings
from clinic_reminders.simulator import AccountConfig, SimulatorConfig
from tests.conftest import TEST_SECRET_KEY
from tests.factories import make_clinic
from tests.fixtures.simulator import SimulatorClient
from tests.web.helpers import audit_trail

SID = "AC" + "5e" * 16
TOKEN = "api-setup-test-auth-token-0123456789"
PUBLIC = "https://clinic.example.com:8443"


@pytest.fixture
def settings(database_url: str, simulator: SimulatorClient) -> Settings:
    """The app's settings with Twilio at the simulator, whose account is empty (no number, key or caller ID)."""
    simulator.reset(SimulatorConfig(accounts=[AccountConfig(sid=SID, auth_token=TOKEN, numbers=[])]))
    return Settings(
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        public_url=PUBLIC,
        twilio_api_base_url=simulator.base_url,
        embedded_worker=False,
    )


def test_it_keeps_the_setup_for_admins(staff_client: TestClient, admin_client: TestClient) -> None:
    assert staff_client.get("/api/setup/checks").status_code == 403
    assert staff_client.post("/api/setup/twilio/api-key").status_code == 403
    report = admin_client.get("/api/setup/checks").json()
    statuses = {c["id"]: c["status"] for c in report["checks"]}
    assert report["ok"] is False
    assert statuses["settings.public_url"] == "ok" and statuses["settings.twilio_account"] == "failed"
    assert statuses["twilio.credentials"] == "skipped"
    failed = next(c for c in report["checks"] if c["id"] == "settings.twilio_account")
    assert "reminders setup twilio" in failed["fix"]


def test_it_guides_an_admin_through_the_twilio_setup(
    admin_client: TestClient, simulator: SimulatorClient, session: Session, office: Office
) -> None:
    make_clinic(session, office, phone="+12125550177")
    session.commit()
    refused = admin_client.post("/api/setup/twilio/credentials", json={"account_sid": SID, "auth_token": "wrong-token"})
    assert refused.json()["status"] == "failed"
    accepted = admin_client.post("/api/setup/twilio/credentials", json={"account_sid": SID, "auth_token": TOKEN})
    assert accepted.json()["status"] == "done" and accepted.json()["data"]["type"] == "Full"

    offered = admin_client.get("/api/setup/twilio/available-numbers", params={"area_code": 415}).json()
    chosen = offered[2]["phone_number"]
    assert re.fullmatch(r"\+1415555010\d", chosen)
    bought = admin_client.post("/api/setup/twilio/number", json={"phone_number": chosen}).json()
    assert (bought["status"], bought["data"]) == ("done", {"phone_number": chosen, "bought": True})
    again = admin_client.post("/api/setup/twilio/number", json={"phone_number": offered[0]["phone_number"]}).json()
    assert again["status"] == "unchanged"
    owned = TwilioGateway(SID, TOKEN, base_url=simulator.base_url).list_incoming_numbers()
    assert [n.phone_number for n in owned] == [chosen]  # never a second number

    assert admin_client.post("/api/setup/twilio/webhooks").json()["status"] == "unchanged"  # set when bought
    verifying = admin_client.post("/api/setup/twilio/caller-ids").json()
    assert verifying["status"] == "action_needed"
    [verification] = verifying["data"]["verifications"]
    assert verification["phone_number"] == "+12125550177" and re.fullmatch(r"\d{6}", verification["validation_code"])

    key = admin_client.post("/api/setup/twilio/api-key").json()
    assert key["status"] == "done" and key["data"]["api_key"].startswith("SK")
    assert admin_client.post("/api/setup/twilio/api-key").json()["status"] == "unchanged"

    state = admin_client.get("/api/setup/twilio")
    assert state.json() == {
        "account_sid": SID,
        "auth_token_set": True,
        "phone_number": chosen,
        "api_key": key["data"]["api_key"],
        "api_secret_set": True,
        "public_url": PUBLIC,
        "simulator": True,
        "last_doctor_ping": state.json()["last_doctor_ping"],
    }
    assert TOKEN not in state.text and TOKEN not in accepted.text
    assert {e.detail["step"] for e in audit_trail(session, "twilio")} == {"credentials", "number", "api_key"}


def test_it_shows_the_watchs_banners_of_the_users_office_to_staff(
    app: FastAPI, staff_client: TestClient, office: Office, other_office: Office
) -> None:
    assert staff_client.get("/api/setup/banners").json() == []
    app.state.watch.banners = {
        office.id: [Banner("balance.low", "warning", "The Twilio balance is 3.00 USD")],
        other_office.id: [Banner("certificate.expiring", "warning", "The certificate expires in 3 days")],
    }
    assert staff_client.get("/api/setup/banners").json() == [
        {"id": "balance.low", "level": "warning", "text": "The Twilio balance is 3.00 USD"}
    ]
