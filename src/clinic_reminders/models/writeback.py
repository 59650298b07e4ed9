"""Write-back to the practice-management system: where an office's events go, and each event's delivery there."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, OfficeOwned, Timestamps, UTCDateTime, utcnow
from .events import Event

# A new destination starts at the end of the outbox: it gets what happens from now on, not the office's history.
_END_OF_OUTBOX = select(func.coalesce(func.max(Event.id), 0)).scalar_subquery()


class DestinationKind(StrEnum):
    WEBHOOK = "webhook"  # signed JSON (Standard Webhooks) to an HTTPS URL
    HL7 = "hl7"  # HL7 v2 over MLLP (TLS optional) to the PMS's interface engine
    FHIR = "fhir"  # Appointment / AppointmentResponse updates to a FHIR R4 server


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its turn or its next attempt
    DELIVERED = "delivered"  # the destination took it (2xx, AA)
    FAILED = "failed"  # given up after the retry window; "send again" makes it pending


class Destination(OfficeOwned, Timestamps, Base):
    """One place an office's events are written back to. `settings` holds the kind's plain options (URL, host and
    port, TLS, HL7 application names, FHIR auth mode, event types); `secret_encrypted` its one secret (webhook
    signing secret, FHIR bearer token or private key), a Fernet token never shown again after it is saved."""

    __tablename__ = "writeback_destinations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secret_encrypted: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when deliveries failed for the whole retry window; staff resume it from the page.
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_reason: Mapped[str | None] = mapped_column(String(300))
    # Every event up to this id has its delivery (writeback/fanout.py); the events after it are read each round.
    cursor: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=_END_OF_OUTBOX)
    last_result: Mapped[str | None] = mapped_column(String(300))  # never patient data
    last_result_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Delivery(OfficeOwned, Base):
    """One event on its way to one destination. Sent in event-id order per (destination, appointment), and per
    (destination, patient) for an event about no appointment (an opt-out): a delivery waits while an earlier one
    of the same appointment or patient is not delivered. `lease_owner` names the worker and its claim."""

    __tablename__ = "writeback_deliveries"
    __table_args__ = (
        UniqueConstraint("destination_id", "event_id"),
        Index("ix_writeback_deliveries_due", "destination_id", "status", "next_attempt_at"),
        Index("ix_writeback_deliveries_appointment", "destination_id", "appointment_id", "event_id"),
        Index("ix_writeback_deliveries_patient", "destination_id", "patient_id", "event_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"))
    destination_id: Mapped[int] = mapped_column(ForeignKey("writeback_destinations.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    appointment_id: Mapped[int | None] = mapped_column(Integer)  # the ordering key; events are history, no FK
    patient_id: Mapped[int | None] = mapped_column(Integer)  # the ordering key of an event about no appointment
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))  # never patient data
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    destination: Mapped[Destination] = relationship()
