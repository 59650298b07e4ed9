"""Broadcasts as the API takes and shows them: the ask (clinic, days, words), its preview, and the broadcast."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import Field

from ....broadcasts.affected import Ask
from ....broadcasts.confirm import CONFIRMATION_SHAPE
from ....models import BroadcastStatus
from .common import ReadSchema, RowId, Schema


class BroadcastAsk(Schema):
    clinic_id: RowId
    first_day: date = Field(description="The first day it covers, on the clinic's calendar.")
    last_day: date = Field(description="The last day (at most 31 days after the first).")
    texts: dict[str, str] = Field(
        description='The message by language: `{"en": "...", "es": "..."}`; English is required, and a patient '
        "whose language has none gets it. The clinic's name and how to opt out are added.",
        max_length=5,
    )

    def to_ask(self) -> Ask:
        return Ask(self.clinic_id, self.first_day, self.last_day, self.texts)


class BroadcastPreview(Schema):
    visits: int = Field(description="Visits at the clinic on those days that hold their time: flagged to reschedule.")
    patients: int
    to_text: int = Field(description="Patients who may be texted (consent, no opt-out, a number that takes texts).")
    not_texted: int = Field(description="Patients who may not be texted: staff call them.")
    segments: int
    cost: Decimal = Field(description="Segments times the office's price per segment.")
    bodies: dict[str, str] = Field(description="Each language's text as patients read it.")
    reasons: dict[str, int] = Field(description="Why patients are not texted, with how many for each reason.")
    token: str = Field(description="Send it with `POST /api/broadcasts`: a repeat of it finds the first broadcast.")


class BroadcastCreate(BroadcastAsk):
    token: str = Field(pattern=f"^{CONFIRMATION_SHAPE}$", description="The preview's token.")


class BroadcastRead(ReadSchema):
    id: int
    clinic_id: int
    first_day: date
    last_day: date
    texts: dict[str, str]
    status: BroadcastStatus
    visits: int
    patients: int
    estimated_cost: Decimal
    recipients: dict[str, int] = Field(description="Patients by status: waiting, texted, skipped, failed.")
    created_by: str
    created_at: datetime
    sent_at: datetime | None = Field(description="When no recipient waited any more.")
