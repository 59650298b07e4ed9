"""What every write-back transport is: a destination's settings in, one payload sent, a short result or a failure.

A transport is synchronous and holds no state between sends; the delivery engine runs it in a thread with the
destination's own timeout, so a slow or broken destination never holds up another one or the reminders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypedDict

# "Send a test event": a transport checks that it reaches the destination and changes nothing there.
TEST_EVENT = "writeback.test"


def from_the_pms(payload: Payload) -> bool:
    """A change an import made: the PMS it came from knows it already, and an echo could undo a newer answer."""
    by = payload["data"]["details"].get("by")
    return isinstance(by, str) and by.startswith("import:")


class DeliveryFailed(Exception):
    """The destination did not take the payload. `reason` is shown on the deliveries page and in logs, so it never
    holds patient data: a status code, Twilio-style error code, ACK code or a short text of our own."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason[:300]
        self.permanent = permanent  # retrying the same payload cannot help (e.g. the receiver rejects its shape)


@dataclass(frozen=True)
class DestinationConfig:
    """A destination as a transport sees it: `settings` as saved (per kind), `secret` decrypted (or None)."""

    id: int
    office_id: int
    kind: str
    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    secret: str | None = None


class ClinicRef(TypedDict):
    id: int
    name: str
    code: str | None  # the PMS's location code mapped to this clinic (configuration page, "PMS codes")


class ProviderRef(TypedDict):
    id: int
    name: str
    code: str | None  # the PMS's provider code mapped to this provider


class AppointmentData(TypedDict):
    id: int
    external_id: str | None  # the PMS's id (HL7 SCH-2 filler id, FHIR Appointment.id, CSV appointment_id)
    status: str  # the status this event tells of (not necessarily the current one)
    starts_at: str  # ISO 8601, UTC, "Z"
    duration_minutes: int
    kind: str
    clinic: ClinicRef
    provider: ProviderRef | None


class PatientData(TypedDict):
    id: int
    external_id: str | None  # the PMS's patient id (HL7 PID-3, FHIR Patient.id)
    family_name: str
    given_name: str
    sms_opted_out: bool
    voice_opted_out: bool


class EventData(TypedDict):
    appointment: AppointmentData | None
    patient: PatientData | None
    reminder_id: int | None
    message_id: int | None
    details: dict[str, Any]  # the event's own payload: statuses, field names, reasons, the answer's choice


class Payload(TypedDict):
    """Version 1 of what a destination receives (documented in the OpenAPI description as `WritebackEvent`).
    `id` is stable across retries: receivers de-duplicate on it (`webhook-id` for signed webhooks)."""

    id: str  # "evt_<event id>"
    type: str  # models.EventType
    version: int  # 1
    created_at: str  # ISO 8601, UTC, "Z"
    office_id: int
    data: EventData


class Transport(Protocol):
    kind: ClassVar[str]  # models.DestinationKind

    def send(self, destination: DestinationConfig, payload: Payload, *, timeout: float) -> str:
        """Deliver one payload; return a short result for the page ("200", "AA"). Raise `DeliveryFailed`."""
        ...
