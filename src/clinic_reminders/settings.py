"""Typed settings, read from the environment, `.env`, or `NAME_FILE` files.

The office's configuration screen stores the same Twilio and public-URL values in the database
(`models.offices.Office`); where both exist the environment wins (see `effective.py`).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

# Values that people leave in example files; never acceptable as a real secret key.
PLACEHOLDER_SECRETS = {"", "changeme", "changethis", "change-me", "secret", "please-change", "xxx"}
MIN_SECRET_KEY_LENGTH = 32
DEMO_SECRET_KEY = "demo-only-key-not-secret-do-not-use-in-production"  # noqa: S105  (refused outside demo)


class SettingsError(RuntimeError):
    """A setting is missing or unsafe; the message says which and how to fix it."""


def _env(name: str) -> Any:
    return Field(default=None, validation_alias=AliasChoices(name))


class FileVariantSource(PydanticBaseSettingsSource):
    """Reads `NAME_FILE` environment variables: the file's content (stripped) becomes `NAME`.

    This is the Docker/systemd-credentials convention, so secrets never sit in the environment.
    """

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for field_name, field in self.settings_cls.model_fields.items():
            alias = field.validation_alias
            names = alias.choices if isinstance(alias, AliasChoices) else [field_name.upper()]
            for name in names:
                path = os.environ.get(f"{name}_FILE")
                if path:
                    try:
                        values[field_name] = Path(path).read_text().strip()
                    except OSError as exc:
                        raise SettingsError(f"{name}_FILE points at {path!r}, which cannot be read: {exc}") from exc
        return values


class Settings(BaseSettings):
    """Every setting of the contract in DESIGN.md. Secrets are `SecretStr`: redacted in str, repr and JSON."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        default="sqlite:///./var/reminders.db", validation_alias=AliasChoices("REMINDERS_DATABASE_URL")
    )
    public_url: str | None = _env("REMINDERS_PUBLIC_URL")
    secret_key: SecretStr | None = _env("REMINDERS_SECRET_KEY")
    demo: bool = Field(default=False, validation_alias=AliasChoices("REMINDERS_DEMO"))
    host: str = Field(default="127.0.0.1", validation_alias=AliasChoices("REMINDERS_HOST"))
    port: int = Field(default=8080, ge=1, le=65535, validation_alias=AliasChoices("REMINDERS_PORT"))
    # Dispatch inside `reminders serve`; a deployment with separate `reminders worker` processes turns it off.
    embedded_worker: bool = Field(default=True, validation_alias=AliasChoices("REMINDERS_EMBEDDED_WORKER"))
    # Dispatch tuning. Pacing is per sending number (Twilio: long code 1 segment/s, toll-free 3/s, short code 100/s).
    sender_rate: float = Field(default=1.0, gt=0, validation_alias=AliasChoices("REMINDERS_SENDER_RATE"))
    sender_rates: dict[str, float] = Field(
        default_factory=dict, validation_alias=AliasChoices("REMINDERS_SENDER_RATES")
    )
    twilio_concurrency: int = Field(
        default=50, ge=1, le=1000, validation_alias=AliasChoices("REMINDERS_TWILIO_CONCURRENCY")
    )
    twilio_timeout: float = Field(default=15.0, gt=0, validation_alias=AliasChoices("REMINDERS_TWILIO_TIMEOUT"))
    lease_seconds: float = Field(default=120.0, gt=0, validation_alias=AliasChoices("REMINDERS_LEASE_SECONDS"))
    heartbeat_seconds: float = Field(default=5.0, gt=0, validation_alias=AliasChoices("REMINDERS_HEARTBEAT_SECONDS"))
    session_max_age: int = Field(default=8 * 3600, ge=60, validation_alias=AliasChoices("REMINDERS_SESSION_MAX_AGE"))
    # Write-back delivery (writeback/engine.py), beside the dispatcher in `reminders worker` and in the one
    # embedded in `reminders serve`; a process started with it off delivers nothing (others may).
    writeback: bool = Field(default=True, validation_alias=AliasChoices("REMINDERS_WRITEBACK"))
    # A destination's own settings["timeout"] wins over this one.
    writeback_timeout: float = Field(default=10.0, gt=0, validation_alias=AliasChoices("REMINDERS_WRITEBACK_TIMEOUT"))
    writeback_concurrency: int = Field(  # sends in flight per destination, each in a thread of its own
        default=4, ge=1, le=64, validation_alias=AliasChoices("REMINDERS_WRITEBACK_CONCURRENCY")
    )
    # Retries: first after about `retry_first` seconds, doubling up to `retry_longest`, with jitter; a delivery
    # still failing `retry_window` seconds after its first attempt is given up and its destination paused.
    writeback_retry_first: float = Field(
        default=10.0, gt=0, validation_alias=AliasChoices("REMINDERS_WRITEBACK_RETRY_FIRST")
    )
    writeback_retry_longest: float = Field(
        default=3600.0, gt=0, validation_alias=AliasChoices("REMINDERS_WRITEBACK_RETRY_LONGEST")
    )
    writeback_retry_window: float = Field(
        default=3 * 86400.0, gt=0, validation_alias=AliasChoices("REMINDERS_WRITEBACK_RETRY_WINDOW")
    )
    # PostgreSQL: how long after its creation an event is surely committed if it ever will be (twice the longest
    # transaction that writes events); the fan-out cursor only moves past events older than this.
    writeback_settle_seconds: float = Field(
        default=60.0, ge=0, validation_alias=AliasChoices("REMINDERS_WRITEBACK_SETTLE_SECONDS")
    )

    twilio_account_sid: str | None = _env("TWILIO_ACCOUNT_SID")
    twilio_auth_token: SecretStr | None = _env("TWILIO_AUTH_TOKEN")
    twilio_phone_number: str | None = _env("TWILIO_PHONE_NUMBER")
    twilio_api_key: str | None = _env("TWILIO_API_KEY")
    twilio_api_secret: SecretStr | None = _env("TWILIO_API_SECRET")
    twilio_api_base_url: str | None = _env("TWILIO_API_BASE_URL")
    # The office's Messaging Service (MG...), which `reminders setup twilio` creates and stores otherwise.
    twilio_messaging_service_sid: str | None = _env("TWILIO_MESSAGING_SERVICE_SID")

    # HTTPS served by `reminders serve` itself, or by a reverse proxy in front of it (tls.py).
    tls_certfile: str | None = _env("REMINDERS_TLS_CERTFILE")
    tls_keyfile: str | None = _env("REMINDERS_TLS_KEYFILE")
    behind_proxy: bool = Field(default=False, validation_alias=AliasChoices("REMINDERS_BEHIND_PROXY"))
    # Admin alerts on low balance and certificate expiry (doctor/alerts.py): email through SMTP, or SMS.
    alert_email: str | None = _env("REMINDERS_ALERT_EMAIL")
    alert_sms: str | None = _env("REMINDERS_ALERT_SMS")
    smtp_url: SecretStr | None = _env("REMINDERS_SMTP_URL")  # smtp://user:password@host:587?starttls=1&from=...

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, FileVariantSource(settings_cls), dotenv_settings)

    @field_validator("public_url")
    @classmethod
    def _public_url_is_absolute(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("REMINDERS_PUBLIC_URL must look like https://clinic.example.com:8080")
        if parts.path not in ("", "/") or parts.query:
            raise ValueError("REMINDERS_PUBLIC_URL must not have a path or query: Twilio calls <it>/app_confirm")
        return value.rstrip("/")

    def check_secret_key(self) -> None:
        """Refuse to start outside demo mode without a real secret key."""
        if self.demo:
            return
        key = self.secret_key.get_secret_value() if self.secret_key else ""
        if key.strip().lower() in PLACEHOLDER_SECRETS or key == DEMO_SECRET_KEY or len(key) < MIN_SECRET_KEY_LENGTH:
            raise SettingsError(
                "REMINDERS_SECRET_KEY is missing or a placeholder. It encrypts the Twilio secrets stored in the "
                f"database and signs logins and patient links: set it to at least {MIN_SECRET_KEY_LENGTH} random "
                "characters (python3 -c 'import secrets; print(secrets.token_urlsafe(48))' makes one), "
                "or point REMINDERS_SECRET_KEY_FILE at a file that holds it."
            )

    @property
    def secret_key_value(self) -> str:
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        if self.demo:
            return DEMO_SECRET_KEY
        raise SettingsError("REMINDERS_SECRET_KEY is not set")

    @property
    def http_type(self) -> Literal["http", "https"] | None:
        """The seed's "HTTP type": derived from the public URL."""
        if not self.public_url:
            return None
        return "https" if self.public_url.startswith("https://") else "http"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
