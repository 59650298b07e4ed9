"""Who gets the admin alerts: each of the three settings from the environment when set, else from the office row;
the SMTP URL's password never shows where alerts are described."""

from __future__ import annotations

from typing import Any

import pytest

from clinic_reminders.crypto import SecretBox
from clinic_reminders.doctor.alerts import describe, smtp_server
from clinic_reminders.effective import alert_config
from clinic_reminders.models import Office
from clinic_reminders.settings import Settings

KEY = "unit-test-secret-key-0123456789-abcdefghijklmnop"
ROW_SMTP = "smtp://row-user:row-pass-1234@smtp.row.example:587?starttls=1"
ENV_SMTP = "smtps://env-user:env-pass-5678@smtp.env.example"


@pytest.fixture(autouse=True)
def _no_alert_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REMINDERS_ALERT_EMAIL", "REMINDERS_ALERT_SMS", "REMINDERS_SMTP_URL"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, secret_key=KEY, **values)


def office(key: str = KEY) -> Office:
    return Office(
        name="Riverside",
        alert_email="row@clinic.example, it@clinic.example",
        alert_sms="+13035550199",
        smtp_url_encrypted=SecretBox(key).encrypt(ROW_SMTP),
    )


def test_it_takes_the_office_row_when_the_environment_says_nothing() -> None:
    config = alert_config(settings(), office())
    assert config.email == "row@clinic.example, it@clinic.example"
    assert (config.sms, config.smtp_url) == ("+13035550199", ROW_SMTP)


def test_the_environment_wins_field_by_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMINDERS_ALERT_EMAIL", "env@clinic.example")
    monkeypatch.setenv("REMINDERS_SMTP_URL", ENV_SMTP)
    config = alert_config(settings(), office())
    assert (config.email, config.smtp_url) == ("env@clinic.example", ENV_SMTP)
    assert config.sms == "+13035550199"  # not set in the environment: the row's
    monkeypatch.setenv("REMINDERS_ALERT_SMS", "+13035550100")
    assert alert_config(settings(), office()).sms == "+13035550100"


def test_an_empty_environment_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMINDERS_ALERT_EMAIL", "")
    monkeypatch.setenv("REMINDERS_SMTP_URL", "")
    config = alert_config(settings(), office())
    assert (config.email, config.smtp_url) == ("row@clinic.example, it@clinic.example", ROW_SMTP)


def test_a_stored_smtp_url_of_another_secret_key_is_reported_not_raised() -> None:
    config = alert_config(settings(), office(key="another-secret-key-0123456789-abcdefghijklmn"))
    assert config.smtp_url is None and config.smtp_url_unreadable
    assert config.sms == "+13035550199"
    assert "cannot be decrypted" in describe(config)


def test_describing_where_alerts_go_leaves_out_the_password() -> None:
    config = alert_config(settings(), office())
    text = describe(config)
    assert text == "email to row@clinic.example, it@clinic.example through smtp.row.example:587; SMS to +13035550199"
    assert "row-pass" not in text and "row-pass" not in repr(config)
    assert smtp_server(ENV_SMTP) == "smtp.env.example:465"
    assert describe(alert_config(settings(), Office(name="Empty"))).startswith("nowhere")
