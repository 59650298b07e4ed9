"""Broadcasts ("the office is closed on Friday"): one text to every patient with a visit at a clinic in a date
range, their visits flagged to reschedule. A broadcast is made once per confirmation token (a double submit finds
the first), and a patient is texted once per broadcast (`uq_broadcast_recipients_broadcast_id_patient_id`)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, OfficeOwned, Timestamps, UTCDateTime, utcnow
from .clinics import Clinic
from .patients import Patient


class BroadcastStatus(StrEnum):
    SENDING = "sending"  # recipients wait for their text (the dispatcher sends them, paced, in the allowed hours)
    SENT = "sent"  # every recipient was texted, or why not is told


class RecipientStatus(StrEnum):
    WAITING = "waiting"
    TEXTED = "texted"  # the message row is written (its own status tells the delivery)
    SKIPPED = "skipped"  # no consent, opted out, no number that takes texts, a sender on hold: staff call them
    FAILED = "failed"  # Twilio refused the text, or it never reached Twilio (it is not sent again)


class Broadcast(OfficeOwned, Timestamps, Base):
    __tablename__ = "broadcasts"
    __table_args__ = (UniqueConstraint("office_id", "token"),)  # one broadcast per confirmation

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(64))
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    first_day: Mapped[date] = mapped_column(Date)  # on the clinic's calendar
    last_day: Mapped[date] = mapped_column(Date)
    texts: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # what staff wrote, by language
    status: Mapped[str] = mapped_column(String(20), default=BroadcastStatus.SENDING)
    created_by: Mapped[str] = mapped_column(String(100))
    visits: Mapped[int] = mapped_column(Integer, default=0)  # flagged to reschedule
    patients: Mapped[int] = mapped_column(Integer, default=0)
    estimated_cost: Mapped[Decimal] = mapped_column(Numeric(10, 5), default=Decimal(0))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    clinic: Mapped[Clinic] = relationship()


class BroadcastRecipient(OfficeOwned, Timestamps, Base):
    __tablename__ = "broadcast_recipients"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "patient_id"),  # one text per patient: nothing goes twice
        Index("ix_broadcast_recipients_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default=RecipientStatus.WAITING)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # the allowed hours in the patient's zone
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"), index=True)
    reason: Mapped[str | None] = mapped_column(String(200))  # why skipped or failed, for staff; never patient data

    broadcast: Mapped[Broadcast] = relationship()
    patient: Mapped[Patient] = relationship()
