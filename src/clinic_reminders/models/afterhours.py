"""After-hours auto-replies: each clinic's opening hours, the office's closed days, and one row per inbound text
the auto-reply looked at (`uq_auto_replies_inbound_id`: looked at once, however often the outbox is read)."""

from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, OfficeOwned, Timestamps, UTCDateTime
from .messages import ADDRESS_LENGTH


class AutoReplyOutcome(StrEnum):
    REPLIED = "replied"  # "we are closed, we will call you" was written and sent
    OPEN = "open"  # the clinic was open: staff answer from the inbox
    RECENT = "recent"  # the patient had an auto-reply less than 12 hours before
    NOT_TEXTED = "not-texted"  # no patient, no consent or opted out, no opening hours known, a sender on hold


class AfterHoursSettings(Timestamps, Base):
    """An office's auto-reply: on or off, its texts, its holidays, and where its reading of the outbox stands."""

    __tablename__ = "after_hours_settings"

    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    texts: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # by language; none: the default wording
    holiday_country: Mapped[str | None] = mapped_column(String(3))  # ISO 3166-1 ("US"), for the `holidays` library
    holiday_subdivision: Mapped[str | None] = mapped_column(String(10))  # a state or province ("CA")
    closed_dates: Mapped[list[str]] = mapped_column(JSON, default=list)  # ISO dates the office is closed besides
    events_from: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    event_cursor: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)


class OpeningHours(OfficeOwned, Base):
    """When a clinic is open on a weekday, on its own clock; a weekday without a row is closed."""

    __tablename__ = "opening_hours"
    __table_args__ = (UniqueConstraint("clinic_id", "weekday"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(Integer)  # 0 Monday .. 6 Sunday
    opens: Mapped[time] = mapped_column(Time)
    closes: Mapped[time] = mapped_column(Time)


class AutoReply(OfficeOwned, Base):
    __tablename__ = "auto_replies"
    __table_args__ = (
        UniqueConstraint("inbound_id"),
        Index("ix_auto_replies_number_created", "number", "created_at"),
        Index("ix_auto_replies_patient_created", "patient_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inbound_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))  # the number that texted
    outcome: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))  # the reply
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the dispatcher's clock, as the 12 hours are
