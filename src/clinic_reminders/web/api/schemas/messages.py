"""Messages and conversations as the API shows them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class MessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int | None
    appointment_id: int | None
    reminder_id: int | None
    direction: str
    channel: str
    to_number: str
    from_number: str
    body: str
    status: str
    error_code: int | None
    error_message: str | None
    num_segments: int | None
    encoding: str | None
    price: Decimal | None
    price_unit: str | None
    interpretation: str | None
    needs_person: bool
    unread: bool
    sent_by_user_id: int | None
    created_at: datetime


class ConversationSummary(BaseModel):
    patient_id: int | None = Field(description="None: texts from a number of no patient, waiting to be linked.")
    number: str | None = Field(default=None, description="That number, when the texts belong to no patient.")
    patient_name: str
    last_at: datetime
    unread: int
    needs_person: int


class Conversation(BaseModel):
    patient_id: int
    patient_name: str
    messages: list[MessageRead]


class StaffText(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=1600, description="The text to send.")
    urgent: bool = Field(
        default=False,
        description="Send even outside the allowed hours or without SMS consent (audited). Opt-outs still apply.",
    )
