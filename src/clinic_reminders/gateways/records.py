"""Small typed values the gateway returns instead of SDK objects.

Fields holding patient data (numbers, bodies) are left out of `repr`, so logging a record leaks nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class SentMessage:
    sid: str
    status: str
    num_segments: int | None = None
    date_created: datetime | None = None


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """A message as Twilio lists it, for reconciliation."""

    sid: str
    status: str
    direction: str
    to: str = field(repr=False)
    from_: str = field(repr=False)
    body: str = field(repr=False, default="")
    date_sent: datetime | None = None
    date_created: datetime | None = None
    error_code: int | None = None
    num_segments: int | None = None


@dataclass(frozen=True, slots=True)
class PlacedCall:
    sid: str
    status: str


@dataclass(frozen=True, slots=True)
class CallRecord:
    """A call as Twilio lists it, for reconciliation."""

    sid: str
    status: str
    direction: str
    to: str = field(repr=False)
    from_: str = field(repr=False)
    start_time: datetime | None = None
    date_created: datetime | None = None
    duration: int | None = None
    answered_by: str | None = None


@dataclass(frozen=True, slots=True)
class AccountInfo:
    sid: str
    friendly_name: str
    type: str  # "Trial" or "Full"
    status: str  # "active", "suspended" or "closed"

    @property
    def is_trial(self) -> bool:
        return self.type.lower() == "trial"


@dataclass(frozen=True, slots=True)
class Balance:
    amount: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class IncomingNumber:
    sid: str
    phone_number: str
    friendly_name: str
    sms_url: str | None
    sms_method: str | None
    voice_url: str | None
    voice_method: str | None
    sms_capable: bool
    voice_capable: bool


@dataclass(frozen=True, slots=True)
class CallerId:
    sid: str
    phone_number: str
    friendly_name: str


@dataclass(frozen=True, slots=True)
class CallerIdVerification:
    """Twilio now calls `phone_number`; the person types `validation_code` on the keypad."""

    phone_number: str
    validation_code: str
    call_sid: str | None


@dataclass(frozen=True, slots=True)
class AvailableNumber:
    phone_number: str
    friendly_name: str
    locality: str | None
    region: str | None
    postal_code: str | None
    sms_capable: bool
    voice_capable: bool


@dataclass(frozen=True, slots=True)
class ApiKey:
    """`secret` is shown by Twilio only once, at creation."""

    sid: str
    friendly_name: str
    secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class VideoRoom:
    sid: str
    unique_name: str
    status: str
    type: str
    max_participants: int | None
    url: str | None


@dataclass(frozen=True, slots=True)
class Alert:
    """What went wrong on Twilio's side, e.g. 11200 when our webhook could not be reached."""

    sid: str
    error_code: str
    log_level: str
    date_created: datetime | None
    more_info: str | None
    alert_text: str = field(repr=False, default="")  # Twilio quotes the request, numbers included
    request_url: str | None = field(repr=False, default=None)


@dataclass(frozen=True, slots=True)
class LineType:
    """Lookup v2's line type intelligence: "mobile", "landline", "fixedVoip", "nonFixedVoip", ..."""

    phone_number: str = field(repr=False)
    valid: bool
    line_type: str | None
    carrier_name: str | None
