"""The waitlist as the API reads and writes it: entries (who waits for what), freed slots and their offers."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated

from pydantic import Field

from ....models import AppointmentKind, EntrySource, EntryStatus, OfferStatus, SlotStatus
from ....waitlist.entries import Join
from .common import ReadSchema, RowId, Schema

Weekday = Annotated[int, Field(ge=0, le=6)]


class WaitlistEntryCreate(Schema):
    """What the patient waits for; a field left out (or null, or no weekdays) means any."""

    patient_id: RowId
    clinic_id: RowId | None = None
    provider_id: RowId | None = None
    kind: AppointmentKind | None = None
    earliest_date: date | None = Field(default=None, description="On the clinic's calendar.")
    latest_date: date | None = None
    weekdays: list[Weekday] = Field(default_factory=list, max_length=7, description="0 Monday .. 6 Sunday.")
    day_starts: time | None = Field(default=None, description="The hours that suit, on the clinic's clock.")
    day_ends: time | None = None
    appointment_id: RowId | None = Field(
        default=None,
        description="The patient's appointment to move when they take an offer (moved, not duplicated). While it "
        "is scheduled or confirmed only earlier times are offered; after a reschedule request any time.",
    )

    def to_join(self) -> Join:
        values = self.model_dump()
        values["weekdays"] = tuple(values["weekdays"])
        values["kind"] = str(self.kind) if self.kind else None
        return Join(**values)


class WaitlistEntryRead(ReadSchema):
    id: int
    patient_id: int
    clinic_id: int | None
    provider_id: int | None
    kind: str | None
    earliest_date: date | None
    latest_date: date | None
    weekdays: list[int]
    day_starts: time | None
    day_ends: time | None
    appointment_id: int | None
    source: EntrySource
    status: EntryStatus
    booked_appointment_id: int | None = Field(description="The appointment a taken offer booked or moved.")
    created_at: datetime


class WaitlistOfferRead(ReadSchema):
    id: int
    entry_id: int
    patient_id: int
    message_id: int | None = Field(description="The text of the offer (GET /api/messages shows its delivery).")
    wave: int
    status: OfferStatus
    expires_at: datetime
    answered_at: datetime | None
    created_at: datetime


class WaitlistSlotRead(ReadSchema):
    id: int
    appointment_id: int = Field(description="The cancelled appointment that freed it.")
    clinic_id: int
    provider_id: int | None
    kind: str
    starts_at: datetime
    duration_minutes: int
    status: SlotStatus
    closes_at: datetime = Field(description="The cut-off: nothing is offered or booked after it.")
    next_wave_at: datetime
    waves: int
    filled_appointment_id: int | None
    reason: str | None
    offers: list[WaitlistOfferRead]
