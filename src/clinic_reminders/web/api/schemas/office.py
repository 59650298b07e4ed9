"""The office configuration (the seed's configuration screen) as the API reads and writes it.

The Auth Token, API Secret and SMTP URL are write-only: reads show them masked ("••••1234", "••••@host:587")
or null.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from ....office_config import SMTP_URL_FORM
from .common import LocalTime, Phone, ReadSchema, Schema
from .writeback import DestinationSummary

# A domain name or an IPv4 address (which the same pattern accepts): no scheme, port or path.
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")
_WRITE_ONLY_DOC = (
    'Write-only; stored encrypted. Leave out, send "" or the masked value to keep the stored one; send null '
    "(or the clear_ flag) to remove it."
)


MAX_ALERT_EMAILS = 5
_EMAIL = re.compile(rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]{{1,64}}@(?=.{{1,253}}$){_LABEL}(\.{_LABEL})+$")


def _alert_emails(value: str | None) -> str | None:
    """One to MAX_ALERT_EMAILS addresses, stored as "a@x.org, b@y.org"; messages count, never quote, them."""
    if value is None:
        return None
    addresses = [a.strip() for a in value.split(",") if a.strip()]
    if not addresses:
        return None
    if len(addresses) > MAX_ALERT_EMAILS:
        raise ValueError(f"give at most {MAX_ALERT_EMAILS} addresses, separated by commas")
    for number, address in enumerate(addresses, start=1):
        if not _EMAIL.match(address):
            which = "it" if len(addresses) == 1 else f"address {number} of {len(addresses)}"
            raise ValueError(f"{which} is not an email address such as office@clinic.example.com")
    return ", ".join(addresses)


def _host(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not _HOST.match(value):
        raise ValueError("give the domain name or IP address alone, e.g. clinic.example.com (no scheme, port or path)")
    return value.lower()


class OfficeUpdate(Schema):
    """Only the fields sent change (PUT and PATCH behave the same)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    public_host: str | None = Field(
        default=None, max_length=255, description="The seed's External IP: domain or IP that Twilio reaches."
    )
    http_type: Literal["http", "https"] | None = Field(default=None, description="The seed's HTTP type.")
    public_port: int | None = Field(default=None, ge=1, le=65535)
    twilio_phone_number: Phone | None = None
    twilio_account_sid: str | None = Field(default=None, pattern=r"^AC[0-9a-fA-F]{32}$")
    twilio_api_key: str | None = Field(default=None, pattern=r"^SK[0-9a-fA-F]{32}$")
    twilio_auth_token: SecretStr | None = Field(default=None, description=_WRITE_ONLY_DOC)
    twilio_api_secret: SecretStr | None = Field(default=None, description=_WRITE_ONLY_DOC)
    clear_twilio_auth_token: bool = False
    clear_twilio_api_secret: bool = False
    alert_email: str | None = Field(
        default=None,
        max_length=1300,
        description=f"Who gets the low-balance and certificate alerts by email: up to {MAX_ALERT_EMAILS} addresses, "
        "comma-separated. REMINDERS_ALERT_EMAIL wins when set.",
    )
    alert_sms: Phone | None = Field(
        default=None, description="Who gets them by SMS (E.164). REMINDERS_ALERT_SMS wins when set."
    )
    smtp_url: SecretStr | None = Field(
        default=None,
        description=f"The mail server for alert emails: {SMTP_URL_FORM} REMINDERS_SMTP_URL wins when set. "
        + _WRITE_ONLY_DOC,
    )
    clear_smtp_url: bool = False
    quiet_hours_start: LocalTime | None = Field(default=None, description="Local time before which nothing is sent.")
    quiet_hours_end: LocalTime | None = Field(default=None, description="Local time after which nothing is sent.")
    max_reminders_per_day: int | None = Field(default=None, ge=0, le=10)
    max_reminders_per_week: int | None = Field(default=None, ge=0, le=50)
    include_visit_reason: bool | None = None
    sms_price_per_segment: Decimal | None = Field(default=None, ge=0, le=10, decimal_places=5)
    low_balance_threshold: Decimal | None = Field(default=None, ge=0, le=100000, decimal_places=2)

    _public_host = field_validator("public_host")(_host)
    _alert_email = field_validator("alert_email")(_alert_emails)


class OfficeRead(ReadSchema):
    id: int
    name: str
    public_host: str | None
    http_type: str
    public_port: int
    public_url: str | None = Field(description="Where Twilio sends webhooks: <public_url>/app_confirm.")
    twilio_phone_number: str | None
    twilio_account_sid: str | None
    twilio_api_key: str | None
    twilio_auth_token: str | None = Field(description="Masked; the token itself is never returned.")
    twilio_api_secret: str | None = Field(description="Masked; the secret itself is never returned.")
    alert_email: str | None
    alert_sms: str | None
    smtp_url: str | None = Field(description="Masked: '••••@' and the mail server; never the URL itself.")
    quiet_hours_start: LocalTime
    quiet_hours_end: LocalTime
    max_reminders_per_day: int
    max_reminders_per_week: int
    include_visit_reason: bool
    sms_price_per_segment: Decimal
    low_balance_threshold: Decimal
    updated_at: datetime
    writeback_destinations: list[DestinationSummary] = Field(
        description="Where the office's events are written back (no secrets): see /api/writeback/destinations."
    )
