"""Every text and call, in and out, and the delivery events Twilio reported for them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, Numeric, String, Text, and_, or_, text
from sqlalchemy.orm import Mapped, mapped_column

from ..messaging.delivery import MessageStatus as MessageStatus  # defined beside the delivery state machine
from .base import Base, OfficeOwned, Timestamps, UTCDateTime, utcnow

# Column sizes for what Twilio sends. Its SIDs are 34 characters; the column also holds keys built on them
# ("CA.../answer"). An address is an E.164 number or a channel address ("whatsapp:+14155550100", "messenger:...").
# Its longest status is "partially_delivered" (19).
SID_LENGTH = 64
ADDRESS_LENGTH = 100
STATUS_LENGTH = 20


class Direction(StrEnum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


class Message(OfficeOwned, Timestamps, Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_patient_created", "patient_id", "created_at"),
        Index("ix_messages_office_created", "office_id", "created_at"),  # the dashboard's and the doctor's days
        # The open "which appointment?" questions, found by number when a patient texts one letter.
        Index(
            "ix_messages_open_question",
            "to_number",
            "created_at",
            sqlite_where=text("pending_choice IS NOT NULL"),
            postgresql_where=text("pending_choice IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id", ondelete="SET NULL"))
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id", ondelete="SET NULL"), index=True)
    reminder_id: Mapped[int | None] = mapped_column(ForeignKey("reminders.id", ondelete="SET NULL"), index=True)
    direction: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(10))
    to_number: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    from_number: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    body: Mapped[str] = mapped_column(Text, default="")
    twilio_sid: Mapped[str | None] = mapped_column(String(SID_LENGTH), unique=True)
    status: Mapped[str] = mapped_column(String(STATUS_LENGTH), default=MessageStatus.PENDING)
    error_code: Mapped[int | None] = mapped_column(Integer)
    error_message: Mapped[str | None] = mapped_column(String(300))
    num_segments: Mapped[int | None] = mapped_column(Integer)
    encoding: Mapped[str | None] = mapped_column(String(10))  # GSM-7 or UCS-2
    price: Mapped[Decimal | None] = mapped_column(Numeric(10, 5))
    price_unit: Mapped[str | None] = mapped_column(String(3))
    sent_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    # What the answer was understood as (confirm, cancel, reschedule, opt-out, unknown...).
    interpretation: Mapped[str | None] = mapped_column(String(30))
    needs_person: Mapped[bool] = mapped_column(Boolean, default=False)
    unread: Mapped[bool] = mapped_column(Boolean, default=False)
    # On the reply that asked "which appointment?": {"intent": "cancel", "appointment_ids": [12, 15]}, in the
    # order of the letters offered; cleared (SQL NULL) once the patient picks one.
    pending_choice: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


class DeliveryEvent(OfficeOwned, Base):
    """A status callback as received, with the message its URL named (or whose SID it brought); `message_id` is
    unset when there is none of ours, and the event stays in the trail only. A status is kept once per SID,
    however often Twilio reports it (also when the reports arrive at the same instant)."""

    __tablename__ = "delivery_events"
    __table_args__ = (Index("uq_delivery_events_sid_status", "twilio_sid", "status", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    twilio_sid: Mapped[str] = mapped_column(String(SID_LENGTH))
    status: Mapped[str] = mapped_column(String(STATUS_LENGTH))
    error_code: Mapped[int | None] = mapped_column(Integer)
    params: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# A reminder text: planned by the office's rules (it has a reminder row), or sent now by staff (a staff text
# about an appointment; staff texts from the inbox are about no appointment, answers to patients by no one).
REMINDER_TEXT = or_(
    Message.reminder_id.is_not(None), and_(Message.sent_by_user_id.is_not(None), Message.appointment_id.is_not(None))
)
