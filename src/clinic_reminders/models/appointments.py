"""Appointments, as kept here or taken from the practice-management system."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, OfficeOwned, Timestamps, UTCDateTime, utcnow
from .clinics import Clinic, Provider
from .patients import Patient


class AppointmentStatus(StrEnum):
    SCHEDULED = "scheduled"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    RESCHEDULE_REQUESTED = "reschedule-requested"
    COMPLETED = "completed"
    NO_SHOW = "no-show"


class AppointmentKind(StrEnum):
    IN_PERSON = "in-person"
    TELEHEALTH = "telehealth"


# Statuses in which the patient is still expected: reminders apply.
ACTIVE_STATUSES = (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED)


class Appointment(OfficeOwned, Timestamps, Base):
    __tablename__ = "appointments"
    __table_args__ = (
        UniqueConstraint("office_id", "external_id"),
        Index("ix_appointments_office_starts", "office_id", "starts_at"),
        Index("ix_appointments_clinic_starts", "clinic_id", "starts_at"),
        Index("ix_appointments_patient_starts", "patient_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100))
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="RESTRICT"))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id", ondelete="SET NULL"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="RESTRICT"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int] = mapped_column(Integer, default=30)
    kind: Mapped[str] = mapped_column(String(20), default=AppointmentKind.IN_PERSON)
    # The visit reason is PHI: kept for staff, never put in a reminder unless the office turns that on.
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(30), default=AppointmentStatus.SCHEDULED)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_changed_by: Mapped[str] = mapped_column(String(100), default="system")
    # Set when something needs a person (e.g. the patient replied CANCEL, a carrier opt-out keyword).
    staff_flag: Mapped[str | None] = mapped_column(String(300))

    clinic: Mapped[Clinic] = relationship()
    provider: Mapped[Provider | None] = relationship()
    patient: Mapped[Patient] = relationship()

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    def set_status(self, status: AppointmentStatus, by: str) -> None:
        self.status = status
        self.status_changed_at = utcnow()
        self.status_changed_by = by
