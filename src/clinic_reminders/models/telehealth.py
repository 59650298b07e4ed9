"""Telemedicine video rooms with their Twilio status callbacks, and the patients' short appointment links.

No PHI here: rooms are named `appt-<id>-<hash>`, participants are `provider-<id>` / `patient-<id>`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .appointments import Appointment
from .base import Base, OfficeOwned, UTCDateTime, utcnow


class VideoPurpose(StrEnum):
    VISIT = "visit"  # a telehealth appointment
    TEST = "test"  # the office's set-up "test chat"


class VideoRoomStatus(StrEnum):
    REQUESTED = "requested"  # written before Twilio is asked
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    FAILED = "failed"


class VideoVisit(OfficeOwned, Base):
    """One Twilio Video room: a visit's (an appointment may get a new room if the first one closed) or a test's."""

    __tablename__ = "video_visits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(10), default=VideoPurpose.VISIT)
    unique_name: Mapped[str] = mapped_column(String(100), index=True)
    room_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=VideoRoomStatus.REQUESTED)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_by: Mapped[str] = mapped_column(String(100), default="system")
    provider_joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    patient_joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    appointment: Mapped[Appointment | None] = relationship()


class VideoEvent(OfficeOwned, Base):
    """A room or participant status callback, as Twilio sent it (identities only, never names)."""

    __tablename__ = "video_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("video_visits.id", ondelete="CASCADE"), index=True)
    room_sid: Mapped[str] = mapped_column(String(64), index=True)
    event: Mapped[str] = mapped_column(String(40))
    participant_identity: Mapped[str | None] = mapped_column(String(100))
    sequence_number: Mapped[int | None] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PatientLink(OfficeOwned, Base):
    """The short link in a patient's reminders: revocable, with its own date-of-birth attempt counter."""

    __tablename__ = "patient_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(100))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    appointment: Mapped[Appointment] = relationship()
