"""The Twilio account, public URL and alert recipients in force: the environment wins over the configuration
screen's row."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from pydantic import SecretStr

from .crypto import DecryptionError, SecretBox
from .gateways import TwilioGateway
from .models import Office
from .settings import Settings, SettingsError


class NotConfigured(RuntimeError):
    """Twilio cannot be used yet; the message names the missing settings (the set-up page fixes them)."""


@dataclass(frozen=True)
class TwilioConfig:
    account_sid: str | None
    auth_token: str | None = field(repr=False)
    phone_number: str | None
    api_key: str | None
    api_secret: str | None = field(repr=False)
    base_url: str | None
    public_url: str | None
    messaging_service_sid: str | None = None  # texts go through it when set (its A2P 10DLC campaign)

    def missing(self) -> list[str]:
        needed = {
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "TWILIO_AUTH_TOKEN": self.auth_token,
            "TWILIO_PHONE_NUMBER": self.phone_number,
        }
        return [name for name, value in needed.items() if not value]

    def with_credentials(self, account_sid: str, auth_token: str) -> TwilioConfig:
        """This configuration for an account not saved yet (the set-up's first step checks it)."""
        return replace(self, account_sid=account_sid, auth_token=auth_token)

    def gateway(
        self, *, timeout: float = 15.0, max_connections: int = 100, domain_urls: Mapping[str, str] | None = None
    ) -> TwilioGateway:
        """The one way the service makes a gateway. `domain_urls` points each Twilio domain elsewhere (the
        conformance tests' Prism mocks)."""
        if not self.account_sid or not self.auth_token:
            raise NotConfigured("Twilio is not configured: set " + ", ".join(self.missing()))
        return TwilioGateway(
            self.account_sid,
            self.auth_token,
            base_url=self.base_url,
            domain_urls=domain_urls,
            timeout=timeout,
            max_connections=max_connections,
        )

    def url(self, path: str) -> str | None:
        """An absolute URL Twilio can call back, or None when no public URL is configured."""
        return f"{self.public_url}{path}" if self.public_url else None


def twilio_config(settings: Settings, office: Office, *, lenient: bool = False) -> TwilioConfig:
    """Field by field, the environment over the office row (the account's fields only for an office the operator
    did not add, see `Office.hosted`; the public URL and API base for every office). A stored secret that cannot
    be decrypted (another secret key, or none set) raises, or with `lenient` reads as missing (the doctor reports
    it by its own check)."""
    try:
        box: SecretBox | None = SecretBox(settings.secret_key_value)
    except SettingsError:
        if not lenient:
            raise
        box = None

    def secret(env: SecretStr | None, stored: str | None) -> str | None:
        if env is not None:
            return env.get_secret_value()
        if not stored or box is None:
            return None
        try:
            return box.decrypt(stored)
        except DecryptionError:
            if not lenient:
                raise
            return None

    env = _NO_ACCOUNT if office.hosted else settings  # an office the operator added has its own account only
    return TwilioConfig(
        account_sid=env.twilio_account_sid or office.twilio_account_sid,
        auth_token=secret(env.twilio_auth_token, office.twilio_auth_token_encrypted),
        phone_number=env.twilio_phone_number or office.twilio_phone_number,
        api_key=env.twilio_api_key or office.twilio_api_key,
        api_secret=secret(env.twilio_api_secret, office.twilio_api_secret_encrypted),
        base_url=settings.twilio_api_base_url,
        public_url=settings.public_url or office.public_url,
        messaging_service_sid=env.twilio_messaging_service_sid or office.twilio_messaging_service_sid,
    )


@dataclass(frozen=True)
class _NoAccount:
    """The TWILIO_* account settings of nobody: what an office the operator added takes from the environment."""

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_phone_number: str | None = None
    twilio_api_key: str | None = None
    twilio_api_secret: SecretStr | None = None
    twilio_messaging_service_sid: str | None = None


_NO_ACCOUNT = _NoAccount()


@dataclass(frozen=True)
class AlertConfig:
    """Where the balance and certificate alerts go (doctor/alerts.py)."""

    email: str | None  # one address or several, comma-separated
    sms: str | None
    smtp_url: str | None = field(repr=False)
    smtp_url_unreadable: bool = False  # saved, but not with the current REMINDERS_SECRET_KEY


def alert_config(settings: Settings, office: Office) -> AlertConfig:
    """Field by field, as for Twilio. A stored SMTP URL that no longer decrypts is reported, not raised: the SMS
    channel must still work."""
    smtp_url = settings.smtp_url.get_secret_value() if settings.smtp_url is not None else None
    unreadable = False
    if not smtp_url and office.smtp_url_encrypted:
        try:
            smtp_url = SecretBox(settings.secret_key_value).decrypt(office.smtp_url_encrypted)
        except DecryptionError:
            unreadable = True
    return AlertConfig(
        email=settings.alert_email or office.alert_email,
        sms=settings.alert_sms or office.alert_sms,
        smtp_url=smtp_url or None,
        smtp_url_unreadable=unreadable,
    )
