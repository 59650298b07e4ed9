"""Reminder rules (what the office wants sent) and planned reminders (one row per appointment and rule)."""

from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .appointments import Appointment
from .base import Base, OfficeOwned, Timestamps, UTCDateTime


class RuleCondition(StrEnum):
    ALWAYS = "always"
    # Escalation: only when the patient has not answered an earlier reminder.
    UNANSWERED = "unanswered"
    # Only when the patient has no usable mobile number or an earlier SMS failed.
    UNANSWERED_AND_NO_SMS = "unanswered-and-no-sms"


class ReminderStatus(StrEnum):
    PLANNED = "planned"
    SENDING = "sending"  # claimed by a worker; the outbound message row exists before Twilio is called
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"
    MISSED = "missed"  # the appointment passed before the reminder could go out
    CANCELLED = "cancelled"


class ReminderRule(OfficeOwned, Timestamps, Base):
    """When and how to remind. `clinic_id` set = an override that replaces office rules of the same name."""

    __tablename__ = "reminder_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(10))
    # Either "N days before at a local clock time" (days_before + at_local_time)...
    days_before: Mapped[int | None] = mapped_column(Integer)
    at_local_time: Mapped[time | None] = mapped_column(Time)
    # ...or "N minutes before the start".
    minutes_before: Mapped[int | None] = mapped_column(Integer)
    appointment_kinds: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["in-person", "telehealth"])
    skip_if_confirmed: Mapped[bool] = mapped_column(Boolean, default=True)
    condition: Mapped[str] = mapped_column(String(30), default=RuleCondition.ALWAYS)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Reminder(OfficeOwned, Timestamps, Base):
    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("appointment_id", "rule_id"),
        # Whether anything is due (`worker --once`), and each office's due rows, oldest first (the fair claim).
        Index("ix_reminders_status_due", "status", "due_at"),
        Index("ix_reminders_status_office_due", "status", "office_id", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"))
    rule_id: Mapped[int] = mapped_column(ForeignKey("reminder_rules.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The appointment start this reminder was planned for: a move re-plans even reminders already sent.
    planned_for: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=ReminderStatus.PLANNED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Raised by every claim: a worker proves it still holds the lease by its owner and generation (fencing).
    lease_generation: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(String(300))

    appointment: Mapped[Appointment] = relationship()
    rule: Mapped[ReminderRule] = relationship()
