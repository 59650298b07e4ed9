"""The `reminders` command: migrate, seed the demo twice, add users, issue tokens that the API accepts."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from clinic_reminders.benchmarks import synthetic
from clinic_reminders.cli import main
from clinic_reminders.db import make_engine, make_sessionmaker
from clinic_reminders.models import Appointment, Clinic, Patient, StaffUser
from clinic_reminders.settings import Settings
from clinic_reminders.web.app import create_app
from tests.conftest import TEST_SECRET_KEY


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def _invoke(*args: str, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_it_seeds_a_believable_demo_once(db_url: str) -> None:
    assert "seeded a demo office" in _invoke("demo", "--seed-only", "--database-url", db_url)
    assert "already seeded" in _invoke("demo", "--seed-only", "--database-url", db_url)
    with make_sessionmaker(make_engine(db_url))() as db:
        clinics = db.scalars(select(Clinic)).all()
        assert len({c.timezone for c in clinics}) == 2
        patients = db.scalars(select(Patient)).all()
        assert 50 <= len(patients) <= 70
        assert {p.language for p in patients} == {"en", "es"}
        assert {ph.kind for p in patients for ph in p.phones} == {"mobile", "landline"}
        assert db.scalar(select(func.count()).select_from(Appointment)) >= len(patients)
        assert db.scalar(select(func.count()).select_from(StaffUser)) == 2


def test_it_adds_an_admin_whose_token_opens_the_api(db_url: str, tmp_path: Path) -> None:
    _invoke("db", "upgrade", "--database-url", db_url)
    password = tmp_path / "password"
    password.write_text("a long enough password\n")
    _invoke(
        "user", "add", "Boss@Example.com", "--role", "admin", "--password-file", str(password), "--database-url", db_url
    )
    token = _invoke("token", "boss@example.com", "--database-url", db_url).strip()
    app = create_app(Settings(database_url=db_url, secret_key=TEST_SECRET_KEY, embedded_worker=False))
    with TestClient(app) as client:
        assert client.get("/api/clinics").status_code == 401
        assert client.get("/api/clinics", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_it_refuses_a_duplicate_user_and_a_short_password(db_url: str, tmp_path: Path) -> None:
    _invoke("db", "upgrade", "--database-url", db_url)
    password = tmp_path / "password"
    password.write_text("a long enough password")
    _invoke("user", "add", "a@example.com", "--password-file", str(password), "--database-url", db_url)
    again = CliRunner().invoke(
        main, ["user", "add", "a@example.com", "--password-file", str(password), "--database-url", db_url]
    )
    assert again.exit_code != 0 and "already exists" in again.output
    password.write_text("short")
    short = CliRunner().invoke(
        main, ["user", "add", "b@example.com", "--password-file", str(password), "--database-url", db_url]
    )
    assert short.exit_code != 0 and "at least" in short.output


def test_it_refuses_to_serve_without_a_real_secret_key(db_url: str) -> None:
    result = CliRunner().invoke(main, ["serve", "--database-url", db_url], env={"REMINDERS_SECRET_KEY": "changeme"})
    assert result.exit_code != 0
    assert "REMINDERS_SECRET_KEY" in result.output


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        found.append((prefix + name, command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, prefix + name + " "))
    return found


def test_every_option_reads_an_environment_variable_shown_in_help() -> None:
    for name, command in _commands(main):
        for param in command.params:
            if isinstance(param, click.Option) and param.name != "help":
                assert param.envvar and param.show_envvar, f"reminders {name} {param.opts[0]}"
                help_text = CliRunner().invoke(main, [*name.split(), "--help"], terminal_width=200).output
                help_text = " ".join(help_text.split())  # click wraps long help at 80 columns
                assert f"env var: {param.envvar}" in help_text, f"reminders {name} {param.opts[0]}"


_NO_TWILIO = {
    "REMINDERS_SECRET_KEY": TEST_SECRET_KEY,
    **dict.fromkeys(("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_PHONE_NUMBER", "TWILIO_API_BASE_URL")),
}


def test_worker_once_exits_with_an_error_when_reminders_are_due_and_twilio_is_not_set_up(db_url: str) -> None:
    _invoke("db", "upgrade", "--database-url", db_url)
    assert CliRunner().invoke(main, ["worker", "--once", "--database-url", db_url], env=_NO_TWILIO).exit_code == 0
    synthetic.seed_due_reminders(make_sessionmaker(make_engine(db_url)), 3)
    result = CliRunner().invoke(main, ["worker", "--once", "--database-url", db_url], env=_NO_TWILIO)
    assert result.exit_code == 1, result.output
    assert "nothing sent: Twilio is not configured: set" in result.output


@pytest.mark.timeout(60)
def test_options_read_dot_env_like_the_settings_do(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _invoke("db", "upgrade", "--database-url", db_url)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("REMINDERS_WORKER_ONCE=true\nREMINDERS_WORKER_BATCH_SIZE=oops\n")
    env = {**_NO_TWILIO, "REMINDERS_WORKER_ONCE": None, "REMINDERS_WORKER_BATCH_SIZE": "5"}
    result = CliRunner().invoke(main, ["worker", "--database-url", db_url], env=env)
    assert result.exit_code == 0, result.output  # --once from the file (else it would run on); the environment won
