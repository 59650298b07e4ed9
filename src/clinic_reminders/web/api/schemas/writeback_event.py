"""Version 1 of the write-back payload (`writeback.transports.Payload`) as /openapi.json documents it for receivers:
`WritebackEvent`, the body of every signed webhook. tests/web/test_api_writeback.py keeps the two in step."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WritebackClinic(_Doc):
    id: int
    name: str
    code: str | None = Field(description="The PMS's location code mapped to this clinic, if any.")


class WritebackProvider(_Doc):
    id: int
    name: str
    code: str | None = Field(description="The PMS's provider code mapped to this provider, if any.")


class WritebackAppointment(_Doc):
    id: int = Field(description="Our appointment id.")
    external_id: str | None = Field(
        description="The practice-management system's id (HL7 SCH-2 filler id, FHIR Appointment.id, the CSV's "
        "appointment_id); null for an appointment made here."
    )
    status: str = Field(
        description="The status this event tells of: scheduled, confirmed, cancelled, reschedule-requested, "
        "completed or no-show. A retry days later still tells the status of its event, not the current one.",
        examples=["confirmed"],
    )
    starts_at: str = Field(description="ISO 8601, UTC.", examples=["2030-01-15T14:30:00Z"])
    duration_minutes: int
    kind: str = Field(examples=["in-person", "telehealth"])
    clinic: WritebackClinic
    provider: WritebackProvider | None


class WritebackPatient(_Doc):
    id: int = Field(description="Our patient id.")
    external_id: str | None = Field(description="The practice-management system's patient id (HL7 PID-3).")
    family_name: str
    given_name: str
    sms_opted_out: bool
    voice_opted_out: bool


class WritebackEventData(_Doc):
    appointment: WritebackAppointment | None
    patient: WritebackPatient | None
    reminder_id: int | None
    message_id: int | None
    details: dict[str, Any] = Field(
        description="The event's own facts: the previous status, the fields that changed, who changed it, the "
        "answer's choice, a reason. Never message text.",
        examples=[{"previous": "scheduled", "by": "patient"}],
    )


class WritebackEvent(_Doc):
    """One change in an office, as every write-back destination receives it (payload version 1)."""

    id: str = Field(
        description='"evt_" and the event\'s id: the same on every retry, and the `webhook-id` header. De-duplicate '
        'on it. A test event\'s id is "evt_test_" and random digits.',
        examples=["evt_1042"],
    )
    type: str = Field(
        description="What happened: one of the event types of GET /api/events (appointment.confirmed, "
        'appointment.cancelled, patient.opted-out...), or "writeback.test" for "Send a test event", which is '
        "about nobody: check the connection and change nothing.",
        examples=["appointment.confirmed"],
    )
    version: int = Field(description="The payload's version: 1.", examples=[1])
    created_at: str = Field(description="When the change happened, ISO 8601, UTC.", examples=["2030-01-14T18:02:11Z"])
    office_id: int
    data: WritebackEventData
