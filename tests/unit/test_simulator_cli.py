"""`reminders simulator` takes its account's secrets as the service does: option, variable, or `NAME_FILE`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner

from clinic_reminders.simulator.cli import simulator_command
from clinic_reminders.simulator.config import SimulatorConfig


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[SimulatorConfig]:
    """The configuration each invocation would serve (uvicorn is not started)."""
    configs: list[SimulatorConfig] = []

    def run(app: Any, **_: Any) -> None:
        configs.append(app.simulator.config)

    monkeypatch.setattr(uvicorn, "run", run)
    return configs


def _token(started: list[SimulatorConfig], *args: str, env: dict[str, str | None]) -> str:
    result = CliRunner().invoke(simulator_command, list(args), env=env)
    assert result.exit_code == 0, result.output
    return started[-1].accounts[0].auth_token


def test_the_auth_token_comes_from_its_file_unless_given(started: list[SimulatorConfig], tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("from-the-file\n")
    env: dict[str, str | None] = {"TWILIO_AUTH_TOKEN_FILE": str(secret), "TWILIO_AUTH_TOKEN": None}
    assert _token(started, env=env) == "from-the-file"
    assert _token(started, env={**env, "TWILIO_AUTH_TOKEN": "from-the-variable"}) == "from-the-variable"
    assert _token(started, "--auth-token", "from-the-option", env=env) == "from-the-option"


def test_an_unreadable_secret_file_is_a_clear_error(started: list[SimulatorConfig], tmp_path: Path) -> None:
    env: dict[str, str | None] = {"TWILIO_AUTH_TOKEN_FILE": str(tmp_path / "missing"), "TWILIO_AUTH_TOKEN": None}
    result = CliRunner().invoke(simulator_command, [], env=env)
    assert result.exit_code == 2 and "TWILIO_AUTH_TOKEN_FILE points at" in result.output
    assert not started
