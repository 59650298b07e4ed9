"""Clinics (locations of the office) and the providers who see patients there."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, OfficeOwned, Timestamps


class Clinic(OfficeOwned, Timestamps, Base):
    __tablename__ = "clinics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Shown as caller ID on reminder calls: it must be a verified caller ID at Twilio (the seed's requirement).
    phone: Mapped[str] = mapped_column(String(20))
    timezone: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(Text, default="")
    # A clinic may text from a Twilio number of its own; otherwise the office's number is used.
    twilio_number: Mapped[str | None] = mapped_column(String(20), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Provider(OfficeOwned, Timestamps, Base):
    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(50), default="")
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinics.id", ondelete="SET NULL"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def display_name(self) -> str:
        return f"{self.title} {self.name}".strip()
