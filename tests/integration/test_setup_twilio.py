"""`reminders setup twilio` from an empty simulated account to an all-green doctor, a second run that changes
nothing (no second number), and the same provisioning through Prism on Twilio's spec (requests accepted)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, cast

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from clinic_reminders.cli import main
from clinic_reminders.crypto import SecretBox
from clinic_reminders.db import make_engine, make_sessionmaker
from clinic_reminders.doctor import Status
from clinic_reminders.doctor.provision import Provisioner
from clinic_reminders.gateways import TwilioGateway
from clinic_reminders.migrations import upgrade
from clinic_reminders.models import Office
from clinic_reminders.settings import Settings
from clinic_reminders.simulator import AccountConfig, SimulatorConfig
from tests.conftest import TEST_SECRET_KEY
from tests.fixtures.registration_fake import State
from tests.fixtures.simulator import SimulatorClient
from tests.integration.doctor_support import SID, TOKEN, doctor, make_office_with_clinics, served_tls
from tests.integration.prism_support import TOKEN as PRISM_TOKEN
from tests.integration.prism_support import ConformingGateway

CODE = re.compile(r"at (\+\d+): answer and type (\d{6})")


def setup(env: dict[str, str], *extra: str) -> str:
    args = ["setup", "twilio", "--account-sid", SID, "--auth-token", TOKEN, "--area-code", "415", "--yes", *extra]
    result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def step_lines(output: str) -> dict[str, str]:
    steps = ("credentials", "number", "webhooks", "messaging_service", "caller_ids", "api_key")
    return {line.split()[1]: line for line in output.splitlines() if len(line.split()) > 1 and line.split()[1] in steps}


def test_it_sets_up_an_empty_account_until_the_doctor_is_all_green_and_then_changes_nothing(
    simulator: SimulatorClient, migrated_url: str, pki: dict[str, str], fake_registration: State
) -> None:
    account = AccountConfig(sid=SID, auth_token=TOKEN, numbers=[], balance="50.00")
    simulator.reset(SimulatorConfig(accounts=[account], callback_delay_ms=5, webhook_ca_file=pki["root"]))
    engine = make_engine(migrated_url)
    sessions = make_sessionmaker(engine)
    with sessions() as db:
        make_office_with_clinics(db)

    def settings(public: str) -> Settings:
        return Settings(
            database_url=migrated_url,
            secret_key=TEST_SECRET_KEY,
            public_url=public,
            twilio_api_base_url=simulator.base_url,
            tls_certfile=pki["cert"],
            tls_keyfile=pki["key"],
            heartbeat_seconds=0.5,
            alert_sms="+12125550199",  # the office manager's phone: the last item of the set-up
        )

    with served_tls(settings, pki["cert"], pki["key"]) as public:
        env = {
            "REMINDERS_DATABASE_URL": migrated_url,
            "REMINDERS_SECRET_KEY": TEST_SECRET_KEY,
            "REMINDERS_PUBLIC_URL": public,
            "TWILIO_API_BASE_URL": simulator.base_url,
        }
        first = setup(env)
        steps = step_lines(first)
        assert re.search(r"bought \+1415555010\d", steps["number"]), first
        assert f"SMS GET and voice {public}/app_confirm" in steps["webhooks"]  # set when buying
        assert "created key SK" in steps["api_key"]
        service = next(iter(fake_registration.services.values()))
        assert f"{service.sid}: created Messaging Service" in steps["messaging_service"]
        assert service.inbound_request_url == f"{public}/app_confirm" and service.inbound_method == "GET"
        assert service.status_callback == f"{public}/twilio/status" and service.sticky_sender
        assert [s.phone_number for s in fake_registration.senders[service.sid]] == [steps["number"].split()[-1]]
        codes = dict(CODE.findall(first))
        assert sorted(codes) == ["+12125550100", "+12125550101"], first
        for call in simulator.calls():  # the clinics' staff answer Twilio's call and type the code shown
            if call["verification"] and call["to"] in codes:
                simulator.answer(call["sid"])
                simulator.press(call["sid"], codes[call["to"]])

        brand = fake_registration.with_brand()  # the office registered in Twilio's console: adopted, green
        fake_registration.with_campaign(service.sid, brand.sid)
        report = doctor(settings(public), sessions, trusted_roots=[_load(pki["root"])])
        not_ok = {r.id: r.explanation for r in report.results if r.status is not Status.OK}
        assert not_ok == {"twilio.tollfree.verification": "no toll-free number sends texts: no verification needed"}
        assert report.ok and report.result("twilio.a2p.campaign").status is Status.OK

        calls_before = len(simulator.calls())
        with sessions() as db:
            office = db.scalars(select(Office)).one()
            saved = (office.twilio_phone_number, office.twilio_api_key, office.twilio_auth_token_encrypted)
            assert office.twilio_messaging_service_sid == service.sid
            secret = SecretBox(TEST_SECRET_KEY).decrypt(office.twilio_api_secret_encrypted or "")
        second = setup(env)
        assert all(line.lstrip().startswith("=") for line in step_lines(second).values()), second
    engine.dispose()

    assert len(simulator.gateway().list_incoming_numbers()) == 1  # never a second number
    assert len(fake_registration.services) == 1  # never a second Messaging Service
    assert fake_registration.calls["add_service_sender"] == 1
    assert len(simulator.calls()) == calls_before  # no new verification call
    with sessions() as db:
        office = db.scalars(select(Office)).one()
        assert (office.twilio_phone_number, office.twilio_api_key, office.twilio_auth_token_encrypted) == saved
    for output in (first, second):
        assert TOKEN not in output and secret not in output


def _load(path: str) -> Any:
    from cryptography import x509

    return x509.load_pem_x509_certificate(Path(path).read_bytes())


@pytest.mark.prism
def test_it_provisions_through_prism_with_requests_the_spec_accepts(
    prism_urls: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database does not matter here (Prism keeps no state): one SQLite file."""
    url = f"sqlite:///{tmp_path / 'prism.db'}"
    upgrade(url)
    engine = make_engine(url)
    session_factory = make_sessionmaker(engine)
    with session_factory() as session:
        make_office_with_clinics(session)
    gateway = ConformingGateway(prism_urls, monkeypatch)
    settings = Settings(
        database_url="sqlite://", secret_key=TEST_SECRET_KEY, public_url="https://clinic.example.com:8443"
    )
    provisioner = Provisioner(settings, session_factory, cast(TwilioGateway, gateway), auth_token=PRISM_TOKEN)
    steps = provisioner.run(area_code=415)
    assert [s.id for s in steps] == ["credentials", "number", "webhooks", "messaging_service", "caller_ids", "api_key"]
    assert {
        "fetch_account",
        "list_incoming_numbers",
        "search_available_numbers",
        "buy_number",
        "update_number_webhooks",
        "list_caller_ids",
        "start_caller_id_verification",
        "create_api_key",
    } <= set(gateway.calls)
    assert gateway.calls.count("start_caller_id_verification") == 2
    engine.dispose()
