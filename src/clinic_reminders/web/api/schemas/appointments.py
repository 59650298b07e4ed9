"""Appointments as the API reads and writes them. Times in are aware ISO 8601; times out are UTC."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field, ValidationInfo, field_validator

from ....booking import MAX_DURATION_MINUTES as MAX_DURATION
from ....models import AppointmentKind, AppointmentStatus
from .common import AwareDatetime, ReadSchema, RowId, Schema

_STARTS_DOC = "ISO 8601 with a UTC offset or Z, e.g. 2030-01-15T09:30:00-05:00. A time without one is refused."
_ENDS_DOC = "Instead of duration_minutes: the end, ISO 8601 with an offset; must be after starts_at."


def end_after_start(starts_at: datetime | None, ends_at: datetime | None) -> int | None:
    """The duration in minutes that `ends_at` implies; ValueError when it is not after the start."""
    if starts_at is None or ends_at is None:
        return None
    minutes = (ends_at - starts_at) / timedelta(minutes=1)
    if minutes <= 0:
        raise ValueError("must be after starts_at")
    if minutes != int(minutes):
        raise ValueError("must be a whole number of minutes after starts_at")
    if minutes > MAX_DURATION:
        raise ValueError(f"must be at most {MAX_DURATION} minutes after starts_at")
    return int(minutes)


class AppointmentCreate(Schema):
    clinic_id: RowId
    provider_id: RowId | None = None
    patient_id: RowId
    starts_at: AwareDatetime = Field(description=_STARTS_DOC)
    duration_minutes: int | None = Field(
        default=None, ge=1, le=MAX_DURATION, description="Length of the visit; 30 when neither it nor ends_at is given."
    )
    ends_at: AwareDatetime | None = Field(default=None, description=_ENDS_DOC)
    kind: AppointmentKind = AppointmentKind.IN_PERSON
    external_id: str | None = Field(default=None, max_length=100, description="Id in the practice-management system.")
    reason: str = Field(default="", max_length=2000, description="Visit reason; never put in reminders by default.")

    @field_validator("ends_at")
    @classmethod
    def _ends_after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        minutes = end_after_start(info.data.get("starts_at"), value)
        given = info.data.get("duration_minutes")
        if minutes is not None and given is not None and given != minutes:
            raise ValueError("disagrees with duration_minutes; give one of the two")
        return value

    def minutes(self) -> int:
        return end_after_start(self.starts_at, self.ends_at) or self.duration_minutes or 30


class AppointmentUpdate(Schema):
    """Only the fields sent change. Status is changed with POST .../status or .../cancel, not here."""

    clinic_id: RowId | None = None
    provider_id: RowId | None = Field(default=None, description="null removes the provider.")
    patient_id: RowId | None = None
    starts_at: AwareDatetime | None = Field(default=None, description=_STARTS_DOC)
    duration_minutes: int | None = Field(default=None, ge=1, le=MAX_DURATION)
    ends_at: AwareDatetime | None = Field(default=None, description=_ENDS_DOC)
    kind: AppointmentKind | None = None
    external_id: str | None = Field(default=None, max_length=100)
    reason: str | None = Field(default=None, max_length=2000)


class StatusChange(Schema):
    status: AppointmentStatus = Field(
        description="scheduled, confirmed, cancelled, reschedule-requested, completed or no-show."
    )


class AppointmentRead(ReadSchema):
    id: int
    external_id: str | None
    clinic_id: int
    provider_id: int | None
    patient_id: int
    starts_at: datetime = Field(description="UTC.")
    ends_at: datetime = Field(description="UTC.")
    duration_minutes: int
    timezone: str = Field(description="The clinic's time zone.")
    starts_at_local: datetime = Field(description="The start on the clinic's clock, with its offset.")
    kind: str
    reason: str
    status: str
    status_changed_at: datetime
    status_changed_by: str
    staff_flag: str | None
    created_at: datetime
    updated_at: datetime
