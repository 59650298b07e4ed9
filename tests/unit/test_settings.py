"""Settings: secrets never show in any string form, NAME_FILE works, unsafe secret keys are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from clinic_reminders.settings import DEMO_SECRET_KEY, Settings, SettingsError

AUTH_TOKEN = "0123456789abcdef0123456789abcdef"


def test_it_redacts_secrets_in_every_string_form() -> None:
    settings = Settings(twilio_auth_token=AUTH_TOKEN, twilio_api_secret="api-secret-value", secret_key="k" * 40)
    for text in (str(settings), repr(settings), settings.model_dump_json(), str(settings.model_dump())):
        assert AUTH_TOKEN not in text
        assert "api-secret-value" not in text
        assert "k" * 40 not in text
    assert settings.twilio_auth_token is not None
    assert settings.twilio_auth_token.get_secret_value() == AUTH_TOKEN


def test_it_reads_environment_variables_by_contract_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMINDERS_DATABASE_URL", "postgresql+psycopg://db/reminders")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("REMINDERS_PUBLIC_URL", "https://clinic.example.com:8080/")
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://db/reminders"
    assert settings.twilio_account_sid == "AC" + "0" * 32
    assert settings.public_url == "https://clinic.example.com:8080"
    assert settings.http_type == "https"


def test_it_reads_a_secret_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret_file = tmp_path / "token"
    secret_file.write_text(AUTH_TOKEN + "\n")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN_FILE", str(secret_file))
    settings = Settings()
    assert settings.twilio_auth_token is not None
    assert settings.twilio_auth_token.get_secret_value() == AUTH_TOKEN


def test_it_names_an_unreadable_secret_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REMINDERS_SECRET_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(SettingsError, match="REMINDERS_SECRET_KEY_FILE"):
        Settings()


@pytest.mark.parametrize("key", [None, "", "changeme", "CHANGETHIS", "secret", "too-short-key"])
def test_it_refuses_a_missing_or_placeholder_secret_key(key: str | None) -> None:
    settings = Settings(secret_key=key) if key is not None else Settings()
    with pytest.raises(SettingsError, match="REMINDERS_SECRET_KEY"):
        settings.check_secret_key()


def test_it_accepts_a_real_secret_key_and_any_key_in_demo_mode() -> None:
    real = Settings(secret_key="a-real-key-with-enough-randomness-1234567")
    real.check_secret_key()
    assert real.secret_key_value == "a-real-key-with-enough-randomness-1234567"
    demo = Settings(demo=True)
    demo.check_secret_key()
    assert demo.secret_key_value == DEMO_SECRET_KEY  # the demo encrypts and signs with its built-in key...
    with pytest.raises(SettingsError, match="REMINDERS_SECRET_KEY"):
        Settings(secret_key=DEMO_SECRET_KEY).check_secret_key()  # ...which nothing else may use
    placeholder = Settings(demo=True, secret_key="changeme")
    placeholder.check_secret_key()
    assert placeholder.secret_key_value == "changeme"
    with pytest.raises(SettingsError, match="REMINDERS_SECRET_KEY is not set"):
        _ = Settings().secret_key_value


@pytest.mark.parametrize("url", ["clinic.example.com", "ftp://x", "https://x.example.com/app_confirm"])
def test_it_rejects_a_public_url_that_twilio_could_not_call(url: str) -> None:
    with pytest.raises(ValidationError, match="REMINDERS_PUBLIC_URL"):
        Settings(public_url=url)
