"""The waitlist: patients who want an earlier (or any) time, the slots cancellations free, and the offers texted.

An entry is one patient's wish: a clinic, a provider and/or a kind of visit, the dates, weekdays and hours that
suit them, and the appointment to move if they have one. A slot is a freed time, one per `appointment.cancelled`
event read from the outbox. An offer is one text to one patient for one slot; a patient is offered a slot once
at most (`uq_waitlist_offers_slot_id_patient_id`), and at most one offer of a slot is accepted (a partial unique
index, beside the conditional UPDATE of the slot that decides between two answers at the same instant).
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, OfficeOwned, Timestamps, UTCDateTime, utcnow
from .clinics import Clinic, Provider
from .patients import Patient


class EntryStatus(StrEnum):
    WAITING = "waiting"
    BOOKED = "booked"  # an offer was taken
    REMOVED = "removed"  # by staff or the API


class EntrySource(StrEnum):
    STAFF = "staff"  # the patient's page or the schedule
    API = "api"
    RESCHEDULE = "reschedule"  # the patient answered "3" (joined automatically when the office wants it)


class SlotStatus(StrEnum):
    OPEN = "open"  # offered in waves until its cut-off
    FILLED = "filled"  # an offer was taken: booked through `booking`
    TAKEN = "taken"  # gone another way: the appointment was reinstated, or staff booked someone then
    EXPIRED = "expired"  # its cut-off passed with no taker


class OfferStatus(StrEnum):
    OPEN = "open"  # the text is written; a YES takes the slot until `expires_at`
    ACCEPTED = "accepted"  # this patient's YES won: booked
    TOO_LATE = "too-late"  # a YES after the slot went (or after the offer expired): told kindly
    CLOSED = "closed"  # the slot went before this patient answered
    EXPIRED = "expired"  # not answered in time
    FAILED = "failed"  # the text did not go (Twilio refused it, or it never reached Twilio)


class WaitlistSettings(Timestamps, Base):
    """An office's waitlist settings, and where its reading of the outbox stands."""

    __tablename__ = "waitlist_settings"

    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    wave_size: Mapped[int] = mapped_column(Integer, default=5)  # offers per wave
    wave_minutes: Mapped[int] = mapped_column(Integer, default=10)  # between waves
    cutoff_hours: Mapped[int] = mapped_column(Integer, default=2)  # never offered inside the last N hours
    # How long an offer stays open; None: until the slot's cut-off.
    offer_minutes: Mapped[int | None] = mapped_column(Integer)
    join_on_reschedule: Mapped[bool] = mapped_column(Boolean, default=False)  # a "3" joins the waitlist by itself
    # The outbox is read after `events_from` (its highest id when the office first used the waitlist, so that
    # older cancellations are not offered) up to `event_cursor`, re-reading a short stretch behind it.
    events_from: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    event_cursor: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)


class WaitlistEntry(OfficeOwned, Timestamps, Base):
    __tablename__ = "waitlist_entries"
    __table_args__ = (
        Index("ix_waitlist_entries_office_status", "office_id", "status"),
        UniqueConstraint("event_id"),  # one entry per "3" answer, however often the outbox is read
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinics.id", ondelete="SET NULL"))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id", ondelete="SET NULL"))
    kind: Mapped[str | None] = mapped_column(String(20))  # AppointmentKind; None: either
    earliest_date: Mapped[date | None] = mapped_column(Date)  # on the slot's clinic's calendar
    latest_date: Mapped[date | None] = mapped_column(Date)
    weekdays: Mapped[list[int]] = mapped_column(JSON, default=list)  # 0 Monday .. 6 Sunday; empty: any day
    day_starts: Mapped[time | None] = mapped_column(Time)  # the hours that suit, on the clinic's clock
    day_ends: Mapped[time | None] = mapped_column(Time)
    # The appointment to move when an offer is taken (it is moved, not duplicated).
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(20), default=EntrySource.STAFF)
    status: Mapped[str] = mapped_column(String(20), default=EntryStatus.WAITING)
    created_by: Mapped[str] = mapped_column(String(100), default="system")
    booked_appointment_id: Mapped[int | None] = mapped_column(Integer)
    event_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))

    patient: Mapped[Patient] = relationship()
    clinic: Mapped[Clinic | None] = relationship()
    provider: Mapped[Provider | None] = relationship()


class WaitlistSlot(OfficeOwned, Timestamps, Base):
    __tablename__ = "waitlist_slots"
    __table_args__ = (
        UniqueConstraint("event_id"),  # one slot per cancellation, however often the outbox is read
        Index("ix_waitlist_slots_status_next_wave", "status", "next_wave_at"),
        Index("ix_waitlist_slots_appointment", "appointment_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    appointment_id: Mapped[int] = mapped_column(Integer)  # the cancelled appointment (history: no foreign key)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=SlotStatus.OPEN)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the cut-off: no offer, no booking after it
    next_wave_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    waves: Mapped[int] = mapped_column(Integer, default=0)
    filled_appointment_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(200))  # why it closed, for staff; never patient data

    clinic: Mapped[Clinic] = relationship()
    provider: Mapped[Provider | None] = relationship()


class WaitlistOffer(OfficeOwned, Timestamps, Base):
    __tablename__ = "waitlist_offers"
    __table_args__ = (
        UniqueConstraint("slot_id", "patient_id"),  # a slot is offered to a patient once: nothing goes twice
        Index(
            "uq_waitlist_offers_accepted",
            "slot_id",
            unique=True,
            sqlite_where=text("status = 'accepted'"),
            postgresql_where=text("status = 'accepted'"),
        ),
        Index("ix_waitlist_offers_patient_created", "patient_id", "created_at"),
        Index("ix_waitlist_offers_status_expires", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("waitlist_slots.id", ondelete="CASCADE"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("waitlist_entries.id", ondelete="CASCADE"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"), index=True)
    wave: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=OfferStatus.OPEN)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    slot: Mapped[WaitlistSlot] = relationship()
    entry: Mapped[WaitlistEntry] = relationship()
    patient: Mapped[Patient] = relationship()
