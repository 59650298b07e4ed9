"""The practice-management system's codes for locations and providers, and the clinic or provider each stands for.

A row is made by an import that meets a code the office has not mapped (with how often and when it was last
met, and the name sent with it), or by an admin who maps a code ahead of the imports (`pms_codes`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, OfficeOwned, Timestamps, UTCDateTime
from .clinics import Clinic, Provider


class PmsCodeKind(StrEnum):
    LOCATION = "location"  # HL7 AIL-3, PV1-3, a location AIG; a CSV or FHIR clinic name: a clinic
    PROVIDER = "provider"  # HL7 AIP-3, PV1-7, a person AIG; a CSV or FHIR provider name: a provider


class PmsCode(OfficeOwned, Timestamps, Base):
    __tablename__ = "pms_codes"
    __table_args__ = (UniqueConstraint("office_id", "kind", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(100))
    # What the import sent with the code (AIL-3.9, the AIP name and prefix): never patient data.
    name: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(String(50), default="")
    # What it stands for: a clinic for a location, a provider for a provider; neither while it is not mapped.
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinics.id", ondelete="SET NULL"))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id", ondelete="SET NULL"))
    # Counted while the code is not mapped: how often imports met it, and when last.
    seen_count: Mapped[int] = mapped_column(Integer, default=0)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    clinic: Mapped[Clinic | None] = relationship()
    provider: Mapped[Provider | None] = relationship()

    @property
    def mapped(self) -> bool:
        return (self.clinic_id if self.kind == PmsCodeKind.LOCATION else self.provider_id) is not None
