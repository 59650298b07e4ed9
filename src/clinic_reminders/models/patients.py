"""Patients, their phone numbers, and their consent and opt-out history."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal, get_args

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..search_text import fold_name
from .base import Base, OfficeOwned, Timestamps, UTCDateTime, utcnow

# Languages the reminder templates are (or will be) written in; more are added with their templates.
Language = Literal["en", "es", "fr", "pt", "zh", "vi", "ko", "ru", "ar", "ht", "tl"]
SUPPORTED_LANGUAGES: tuple[str, ...] = get_args(Language)


class Channel(StrEnum):
    SMS = "sms"
    VOICE = "voice"


class PhoneKind(StrEnum):
    MOBILE = "mobile"
    LANDLINE = "landline"
    UNKNOWN = "unknown"


class ConsentAction(StrEnum):
    CONSENT = "consent"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    WITHDRAW = "withdraw"


def _search_name_default(context: DefaultExecutionContext) -> str:
    """Fills the column on Core and bulk inserts (`insert(Patient)` with dicts), where `@validates` does not run."""
    row = context.get_current_parameters()  # type: ignore[no-untyped-call]  # untyped in SQLAlchemy
    return fold_name(row.get("first_name"), row.get("last_name"))


class Patient(OfficeOwned, Timestamps, Base):
    __tablename__ = "patients"
    __table_args__ = (UniqueConstraint("office_id", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    # The folded "first last" that search matches, kept in step with the names by `_fold_names` (ORM writes) and
    # `_search_name_default` (Core inserts). Text, not String(n): folding can lengthen a name ("ﬃ" -> "ffi").
    # Not indexed: search is by words anywhere in the name (LIKE '%word%'), which a B-tree index cannot serve.
    search_name: Mapped[str] = mapped_column(Text, default=_search_name_default)
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    language: Mapped[str] = mapped_column(String(10), default="en")
    preferred_channel: Mapped[str] = mapped_column(String(10), default=Channel.SMS)

    sms_consent: Mapped[bool] = mapped_column(Boolean, default=True)
    voice_consent: Mapped[bool] = mapped_column(Boolean, default=True)
    sms_opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sms_opt_out_source: Mapped[str | None] = mapped_column(String(50))
    voice_opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voice_opt_out_source: Mapped[str | None] = mapped_column(String(50))

    phones: Mapped[list[PatientPhone]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="PatientPhone.position"
    )

    @validates("first_name", "last_name")
    def _fold_names(self, key: str, value: str) -> str:
        first, last = (value, self.last_name) if key == "first_name" else (self.first_name, value)
        self.search_name = fold_name(first, last)
        return value

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def can_receive(self, channel: str) -> bool:
        if channel == Channel.SMS:
            return self.sms_consent and self.sms_opted_out_at is None
        return self.voice_consent and self.voice_opted_out_at is None

    def usable_phone(self, channel: str) -> PatientPhone | None:
        """The first number (by `position`) that can take `channel`: not known to be invalid, and for texts not a
        landline. Reminders, texts sent at once and staff texts all go to this one."""
        for phone in self.phones:
            if phone.invalid_at is not None:
                continue
            if channel == Channel.SMS and phone.kind == PhoneKind.LANDLINE:
                continue
            return phone
        return None


class PatientPhone(OfficeOwned, Base):
    __tablename__ = "patient_phones"
    # Inbound texts are matched to a patient by (office, number): this index keeps /app_confirm fast.
    __table_args__ = (Index("ix_patient_phones_office_number", "office_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(20))  # E.164
    kind: Mapped[str] = mapped_column(String(10), default=PhoneKind.UNKNOWN)
    position: Mapped[int] = mapped_column(Integer, default=0)  # 0 is the number to use first
    invalid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invalid_reason: Mapped[str | None] = mapped_column(String(200))

    patient: Mapped[Patient] = relationship(back_populates="phones")


class ConsentEvent(OfficeOwned, Base):
    """Every change of consent or opt-out, with when and from where (staff, SMS keyword, carrier error...)."""

    __tablename__ = "consent_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    action: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(50))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
