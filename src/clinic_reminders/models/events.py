"""The outbox: one row per change of an appointment, a reminder, a patient's consent or a message's delivery."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, OfficeOwned, UTCDateTime, utcnow
from .messages import Message


class EventType(StrEnum):
    APPOINTMENT_CREATED = "appointment.created"
    APPOINTMENT_MOVED = "appointment.moved"  # its time, length, place or provider changed
    APPOINTMENT_UPDATED = "appointment.updated"  # anything else (kind, visit reason, patient)
    # One per appointment status it took (booking._ALLOWED).
    APPOINTMENT_SCHEDULED = "appointment.scheduled"
    APPOINTMENT_CONFIRMED = "appointment.confirmed"
    APPOINTMENT_CANCELLED = "appointment.cancelled"
    APPOINTMENT_RESCHEDULE_REQUESTED = "appointment.reschedule-requested"
    APPOINTMENT_COMPLETED = "appointment.completed"
    APPOINTMENT_NO_SHOW = "appointment.no-show"
    # One per reminder status it took (reminder_states): a worker's claim is its lease, not news.
    REMINDER_PLANNED = "reminder.planned"
    REMINDER_SENT = "reminder.sent"
    REMINDER_FAILED = "reminder.failed"
    REMINDER_SKIPPED = "reminder.skipped"
    REMINDER_CANCELLED = "reminder.cancelled"
    REMINDER_MISSED = "reminder.missed"
    PATIENT_ANSWERED = "patient.answered"  # a text or a key pressed in a call, as understood
    PATIENT_OPTED_OUT = "patient.opted-out"
    PATIENT_OPTED_IN = "patient.opted-in"
    # One per final status Twilio reported of a text or a call it took (messaging.delivery.FINAL); one it refused
    # outright is told by its reminder's event (reminder.failed).
    MESSAGE_DELIVERED = "message.delivered"
    MESSAGE_UNDELIVERED = "message.undelivered"
    MESSAGE_FAILED = "message.failed"
    MESSAGE_CANCELED = "message.canceled"
    MESSAGE_READ = "message.read"
    MESSAGE_COMPLETED = "message.completed"
    MESSAGE_BUSY = "message.busy"
    MESSAGE_NO_ANSWER = "message.no-answer"


class Event(OfficeOwned, Base):
    """Written in the transaction of the change it tells of (events.py). The ids are plain columns, not foreign
    keys: an event is history and outlives a reminder or a patient deleted later. `payload` holds statuses,
    field names and reasons from our own tables: never a patient's name, number or message text."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_office_id_id", "office_id", "id"),)  # a reader's page: one office, by id

    # 64 bits where the database has them: a busy deployment writes billions over the years.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"))  # indexed with the id
    type: Mapped[str] = mapped_column(String(40))
    appointment_id: Mapped[int | None] = mapped_column(Integer)
    patient_id: Mapped[int | None] = mapped_column(Integer)
    reminder_id: Mapped[int | None] = mapped_column(Integer)
    message_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    # For an event about a message not yet flushed (a patient's answer): its id is filled in when both are written.
    message: Mapped[Message | None] = relationship(primaryjoin="foreign(Event.message_id) == Message.id")
