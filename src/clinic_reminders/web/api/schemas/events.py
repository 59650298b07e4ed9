"""The outbox as the API shows it: a page of events after a cursor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ....models import EventType


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="Increasing; the cursor to read on from (`after`).")
    type: EventType = Field(description="What changed: `appointment.*`, `reminder.*`, `patient.*`, `message.*`.")
    appointment_id: int | None
    patient_id: int | None
    reminder_id: int | None
    message_id: int | None
    created_at: datetime
    payload: dict[str, Any] = Field(
        description="Details without patient data: `previous` status, changed `fields`, `by` whom, `reason`, "
        "`channel`, `interpretation` of an answer, `error_code`, `due_at`."
    )


class EventPage(BaseModel):
    items: list[EventRead] = Field(description="Oldest first.")
    after: int = Field(description="The cursor of the next page: the last event's id (the one given if none).")
    more: bool = Field(description="Whether more events follow this page now.")
