"""Write-back destinations and their deliveries as the API shows and takes them. The settings of each kind are
checked by `writeback.destination_settings`; secrets are write-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr

from .common import ReadSchema, Schema

Kind = Literal["webhook", "hl7", "fhir"]
DestinationStatus = Literal["active", "paused", "disabled"]
DeliveryStatusName = Literal["pending", "delivered", "failed"]

SETTINGS_DOC = (
    "By kind. **webhook**: `url` (https://; http:// only to localhost or 127.0.0.1), `event_types` (a list of "
    "event types, or null for every event). **hl7**: `host`, `port`, `tls` (bool), `ca_certificate` (PEM; empty "
    "for the system's CAs), `sending_application`, `sending_facility`, `receiving_application`, "
    '`receiving_facility`, `opt_out_message` ("ADT^A31" or "none"), `ack_timeout` (seconds, 1-300). **fhir**: '
    '`base_url`, `auth` ("bearer" or "smart"), `event_types`; with "smart" also `client_id`, `token_url`, `key_id`, '
    '`alg` ("RS384" or "ES384"). Defaults are filled in; an unknown setting is refused.'
)
_WRITE_ONLY = (
    'Write-only; stored encrypted, never returned. fhir: the access token ("bearer") or the private key in PEM '
    '("smart"). A webhook\'s signing secret is made by the server (rotate-secret); an HL7 destination has none.'
)


class DestinationCreate(Schema):
    name: str = Field(min_length=1, max_length=100)
    kind: Kind
    settings: dict[str, Any] = Field(default_factory=dict, description=SETTINGS_DOC)
    secret: SecretStr | None = Field(default=None, description=_WRITE_ONLY)
    enabled: bool = True


class DestinationUpdate(Schema):
    """Only the fields sent change. `settings`, when sent, replaces the saved settings as a whole."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    settings: dict[str, Any] | None = Field(default=None, description=SETTINGS_DOC)
    secret: SecretStr | None = Field(default=None, description=_WRITE_ONLY + ' Leave out or send "" to keep it.')
    enabled: bool | None = None


class DestinationSummary(ReadSchema):
    """A destination in a few words (GET /api/office)."""

    id: int
    name: str
    kind: Kind
    target: str = Field(description="Where it sends: the URL, or host:port for HL7.")
    status: DestinationStatus = Field(
        description="paused: its deliveries failed for the whole retry window; it sends nothing until resumed."
    )
    paused_reason: str | None = Field(description="Why it was paused, while it is.")
    last_result: str | None = Field(description='The last test or delivery: "OK: ..." or "Failed: ...".')
    last_result_at: datetime | None


class DestinationRead(DestinationSummary):
    settings: dict[str, Any]
    secret_saved: bool = Field(description="Whether a secret is stored; the secret itself is never returned.")
    enabled: bool
    paused_at: datetime | None
    pending: int = Field(description="Deliveries waiting to be sent.")
    failed: int = Field(description="Deliveries given up after the retry window.")
    created_at: datetime
    updated_at: datetime


class DestinationCreated(DestinationRead):
    secret: str | None = Field(
        description='A webhook\'s signing secret ("whsec_" and base64), shown this once: store it in the receiver. '
        "Null for other kinds."
    )


class SecretRotated(BaseModel):
    secret: str = Field(description="The webhook's new signing secret, shown this once; the old one stops working.")


class SubscriptionToken(BaseModel):
    token: str = Field(
        description="For the Subscription's channel.header (`Authorization: Bearer <token>`), shown this once; the "
        "previous token stops working."
    )
    endpoint: str = Field(description="The Subscription's channel.endpoint (rest-hook).")


class TestResultRead(BaseModel):
    ok: bool
    result: str = Field(description='"OK: " and what the destination answered, or "Failed: " and why.')
    at: datetime


class Resumed(BaseModel):
    destination: DestinationRead
    sent_again: int = Field(description="Failed deliveries made pending again.")


class DeliveryRead(BaseModel):
    id: int
    destination_id: int
    destination_name: str
    event_id: int
    event_type: str | None = Field(description="The event's type; null once the event is gone.")
    appointment_id: int | None
    status: DeliveryStatusName
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None = Field(description="When it is tried next, while pending.")
    first_attempt_at: datetime | None = Field(description="The start of its retry window.")
    delivered_at: datetime | None
    created_at: datetime
