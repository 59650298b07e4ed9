"""Clinics and providers as the API reads and writes them."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from .common import Phone, ReadSchema, RowId, Schema, TimeZoneName

_PHONE_DOC = (
    "E.164. Shown as caller ID on reminder calls, so it must be a verified caller ID at Twilio "
    "(Console > Phone Numbers > Verified Caller IDs) or a Twilio number of the account."
)


class ClinicCreate(Schema):
    name: str = Field(min_length=1, max_length=200)
    phone: Phone = Field(description=_PHONE_DOC)
    timezone: TimeZoneName = Field(description="IANA name; appointment times are shown in it.")
    address: str = Field(default="", max_length=1000)
    twilio_number: Phone | None = Field(
        default=None, description="The clinic's own Twilio number, if it texts from one; else the office's."
    )


class ClinicUpdate(Schema):
    """Only the fields sent change."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    phone: Phone | None = Field(default=None, description=_PHONE_DOC)
    timezone: TimeZoneName | None = None
    address: str | None = Field(default=None, max_length=1000)
    twilio_number: Phone | None = Field(default=None, description="null removes it.")
    active: bool | None = None


class ClinicRead(ReadSchema):
    id: int
    name: str
    phone: str
    timezone: str
    address: str
    twilio_number: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


class ProviderCreate(Schema):
    name: str = Field(min_length=1, max_length=200)
    title: str = Field(default="", max_length=50, examples=["Dr."])
    clinic_id: RowId | None = Field(default=None, description="The clinic they usually work at, if any.")


class ProviderUpdate(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    title: str | None = Field(default=None, max_length=50)
    clinic_id: RowId | None = Field(default=None, description="null detaches the provider from any clinic.")
    active: bool | None = None


class ProviderRead(ReadSchema):
    id: int
    name: str
    title: str
    display_name: str
    clinic_id: int | None
    active: bool
    created_at: datetime
    updated_at: datetime
