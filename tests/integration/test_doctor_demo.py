"""`reminders doctor` beside the demo checks the demo with the demo's own settings (from the file `reminders
demo` writes), and says so; for any other database the file is ignored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from clinic_reminders import demo
from clinic_reminders.cli import main
from clinic_reminders.migrations import upgrade
from tests.fixtures.simulator import SimulatorClient
from tests.integration.doctor_support import NUMBER, PUBLIC, SID, TOKEN, healthy_config


@pytest.fixture
def beside_the_demo(tmp_path: Path, simulator: SimulatorClient, monkeypatch: pytest.MonkeyPatch) -> str:
    """A demo's database and settings file in the working directory, as `make demo` leaves them."""
    simulator.reset(healthy_config())
    monkeypatch.chdir(tmp_path)
    url = "sqlite:///./var/reminders.db"
    (tmp_path / "var").mkdir()
    upgrade(url)
    simulated = {
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_PHONE_NUMBER": NUMBER,
        "TWILIO_API_BASE_URL": simulator.base_url,
        "REMINDERS_PUBLIC_URL": PUBLIC,
    }
    demo.save_settings(url, simulated)
    for name in ("REMINDERS_SECRET_KEY", "REMINDERS_DATABASE_URL", *simulated):
        monkeypatch.delenv(name, raising=False)
    return url


def _statuses(output: str) -> dict[str, str]:
    return {c["id"]: c["status"] for c in json.loads(output)["checks"]}


def test_the_doctor_beside_the_demo_checks_it_with_the_demos_settings(beside_the_demo: str) -> None:
    result = CliRunner().invoke(main, ["doctor", "--json"])
    statuses = _statuses(result.stdout)
    assert statuses["settings.secret_key"] == "ok"  # the demo's key, not "missing"
    assert statuses["settings.public_url"] == "ok" and statuses["twilio.credentials"] == "ok"
    text = CliRunner().invoke(main, ["doctor"]).output
    assert "This database belongs to the demo" in text and "var/demo-settings.json" in text
    assert TOKEN not in text


def test_another_database_is_checked_with_the_environment_alone(beside_the_demo: str, tmp_path: Path) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    upgrade(other)
    result = CliRunner().invoke(main, ["doctor", "--json", "--database-url", other])
    statuses = _statuses(result.stdout)
    assert statuses["settings.secret_key"] == "failed" and statuses["settings.twilio_account"] == "failed"
    assert "belongs to the demo" not in CliRunner().invoke(main, ["doctor", "--database-url", other]).output
