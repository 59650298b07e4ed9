"""The office configuration (the seed's configuration screen) as the API reads and writes it.

The Auth Token and API Secret are write-only: reads show them masked ("••••1234") or null.
"""

from __future__ import annotations

import re
from datetime import datetime, time
from decimal import Decimal
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from .common import Phone, ReadSchema, Schema

MASK = "••••"
# A domain name or an IPv4 address (which the same pattern accepts): no scheme, port or path.
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")
_WRITE_ONLY_DOC = (
    'Write-only; stored encrypted. Leave out, send "" or the masked value to keep the stored one; send null '
    "(or the clear_ flag) to remove it."
)


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
    quiet_hours_start: time | None = Field(default=None, description="Local time before which nothing is sent.")
    quiet_hours_end: time | None = Field(default=None, description="Local time after which nothing is sent.")
    max_reminders_per_day: int | None = Field(default=None, ge=0, le=10)
    max_reminders_per_week: int | None = Field(default=None, ge=0, le=50)
    include_visit_reason: bool | None = None
    sms_price_per_segment: Decimal | None = Field(default=None, ge=0, le=10, decimal_places=5)
    low_balance_threshold: Decimal | None = Field(default=None, ge=0, le=100000, decimal_places=2)

    _public_host = field_validator("public_host")(_host)


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
    quiet_hours_start: time
    quiet_hours_end: time
    max_reminders_per_day: int
    max_reminders_per_week: int
    include_visit_reason: bool
    sms_price_per_segment: Decimal
    low_balance_threshold: Decimal
    updated_at: datetime
