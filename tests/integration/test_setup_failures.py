"""`reminders setup twilio` when Twilio answers some requests with HTTP 500 (the "Hardening" issue): every
failure is a step that failed, with Twilio's code and a hint to run it again, never a traceback and never "bad
credentials"; each run continues where the last one stopped, until everything is set up."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from clinic_reminders.cli import main
from clinic_reminders.db import make_engine, make_sessionmaker
from clinic_reminders.migrations import upgrade
from clinic_reminders.models import Office
from clinic_reminders.simulator import AccountConfig, SimulatorConfig
from tests.conftest import TEST_SECRET_KEY
from tests.fixtures.registration_fake import State
from tests.fixtures.simulator import SimulatorClient
from tests.integration.doctor_support import SID, TOKEN, make_office_with_clinics

STEP = re.compile(r"^(\S) (credentials|number|webhooks|messaging_service|caller_ids|api_key) +(.*)$", re.MULTILINE)


def test_it_reports_twilio_500s_as_failed_steps_and_finishes_over_reruns(
    simulator: SimulatorClient, tmp_path: Path, fake_registration: State
) -> None:
    url = f"sqlite:///{tmp_path / 'faults.db'}"
    upgrade(url)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as db:
        make_office_with_clinics(db)
    account = AccountConfig(sid=SID, auth_token=TOKEN, numbers=[], balance="50.00", verified_caller_ids=[])
    simulator.reset(SimulatorConfig(accounts=[account], callback_delay_ms=5, fault_seed=7))
    simulator.set_faults(rate_500=0.3)
    fake_registration.fail("create_service", status=500)  # the new step meets a 500 too
    env = {
        "REMINDERS_DATABASE_URL": url,
        "REMINDERS_SECRET_KEY": TEST_SECRET_KEY,
        "REMINDERS_PUBLIC_URL": "https://127.0.0.1:9",
        "TWILIO_API_BASE_URL": simulator.base_url,
    }
    args = ["setup", "twilio", "--account-sid", SID, "--auth-token", TOKEN, "--area-code", "415", "--yes"]
    failures: list[str] = []
    finished = {}
    for _run in range(12):
        result = CliRunner().invoke(main, args, env=env)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        steps = {name: (mark, text) for mark, name, text in STEP.findall(result.output)}
        failures += [text for mark, text in steps.values() if mark == "✗"]
        finished = {name for name, (mark, _text) in steps.items() if mark in "✓="}
        if {"credentials", "number", "webhooks", "messaging_service", "api_key"} <= finished:
            break
    simulator.set_faults(rate_500=0.0)
    engine.dispose()

    assert {"credentials", "number", "webhooks", "messaging_service", "api_key"} <= finished, failures
    assert failures, "30% of requests answered 500, yet no step failed: the faults did not apply"
    assert any(f.startswith("could not set up the Messaging Service (") for f in failures)
    for text in failures:
        assert "HTTP 500" in text and "run `reminders setup twilio` again" in text, text
        assert "refused the Account SID" not in text, text
    assert len(simulator.gateway().list_incoming_numbers()) == 1  # the re-runs never bought a second number
    assert len(fake_registration.services) == 1
    with make_sessionmaker(make_engine(url))() as db:
        assert db.scalars(select(Office)).one().twilio_messaging_service_sid in fake_registration.services
