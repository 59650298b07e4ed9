"""The office's mapping of PMS codes, as the API reads and writes it."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from ....models import PmsCodeKind
from .common import ReadSchema, RowId, Schema


class PmsCodeRead(ReadSchema):
    id: int
    kind: PmsCodeKind = Field(description="location: stands for a clinic; provider: for a provider.")
    code: str = Field(description="As the practice-management system sends it (HL7 AIL-3, AIP-3...).")
    name: str = Field(description="The name the import sent with the code (AIL-3.9, the AIP name), if any.")
    title: str = Field(description="A provider's prefix as sent (Dr.).")
    mapped: bool
    clinic_id: int | None
    provider_id: int | None
    seen_count: int = Field(description="How often imports met the code while it was not mapped.")
    last_seen_at: datetime | None


class PmsCodeCreate(Schema):
    """A code mapped before the imports meet it: give clinic_id for a location, provider_id for a provider."""

    kind: PmsCodeKind
    code: str = Field(min_length=1, max_length=100)
    clinic_id: RowId | None = None
    provider_id: RowId | None = None


class PmsCodeMap(Schema):
    """What the code stands for; both null (or left out) unmaps it."""

    clinic_id: RowId | None = None
    provider_id: RowId | None = None


class ProviderFromCode(Schema):
    clinic_id: RowId | None = Field(default=None, description="The clinic the new provider usually works at.")
