"""Texts that bring patients back: one follow-up after a no-show, and recall series for patients due for a visit.

A no-show follow-up is made once per `appointment.no-show` event read from the outbox (a unique `event_id`) and
texted once: its move from waiting to sent is written in the transaction that writes its message row. A recall
series is one patient's due date (their last visit of a kind plus the office's interval for it, or a date from
the practice-management system), texted up to N times, spaced, until the patient books; each text is one row
(unique per series and number), written with its message row.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, OfficeOwned, Timestamps, UTCDateTime
from .patients import Patient


class FollowupStatus(StrEnum):
    WAITING = "waiting"  # until its delay has passed (and the allowed hours have come)
    SENT = "sent"  # its text is written (and, once recorded, went to Twilio)
    SKIPPED = "skipped"  # not texted: the patient rebooked, opted out, the visit is no longer a no-show...
    FAILED = "failed"  # the text did not go (Twilio refused it, or it never reached Twilio)


class FollowupAnswer(StrEnum):
    CALL = "call"  # the patient asked to be called to rebook: a person's work, in the inbox
    WAITLIST = "waitlist"  # the patient joined the waitlist


class RecallStatus(StrEnum):
    ACTIVE = "active"  # texted up to N times until booked
    BOOKED = "booked"  # the patient booked a visit after the series began
    ANSWERED = "answered"  # the patient answered (to be called, or on the waitlist): no more texts
    DONE = "done"  # all its texts went and the last spacing passed without a booking
    STOPPED = "stopped"  # the patient cannot be texted (no consent, opted out, no number), or recall was turned off


class RecallSource(StrEnum):
    VISIT = "visit"  # the last completed visit of the interval's kind plus its months
    IMPORT = "import"  # a due date the practice-management system gave


class FollowupSettings(Timestamps, Base):
    """An office's no-show follow-up and recall settings, and where its reading of the outbox stands."""

    __tablename__ = "followup_settings"

    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"), primary_key=True)
    noshow_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    noshow_delay_minutes: Mapped[int] = mapped_column(Integer, default=120)  # after the visit was marked
    recall_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    recall_texts: Mapped[int] = mapped_column(Integer, default=3)  # at most this many per due date
    recall_spacing_days: Mapped[int] = mapped_column(Integer, default=14)  # between them
    # The office's own texts by language ({"en": "...", "es": "..."}); a language not given gets the default.
    noshow_templates: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    recall_templates: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # The outbox is read after `events_from` (its highest id when the row was made) up to `event_cursor`.
    events_from: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    event_cursor: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)


class RecallInterval(OfficeOwned, Timestamps, Base):
    """ "Check-up: 12 months": a completed visit whose reason contains `matches` (any visit when empty), of
    `kind` (either when None), makes the patient due `months` later."""

    __tablename__ = "recall_intervals"
    __table_args__ = (UniqueConstraint("office_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    matches: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str | None] = mapped_column(String(20))
    months: Mapped[int] = mapped_column(Integer)


class NoshowFollowup(OfficeOwned, Timestamps, Base):
    __tablename__ = "noshow_followups"
    __table_args__ = (
        UniqueConstraint("event_id"),  # one follow-up per no-show, however often the outbox is read
        Index("ix_noshow_followups_status_due", "status", "due_at"),
        Index("ix_noshow_followups_patient", "patient_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the event's time
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=FollowupStatus.WAITING)
    reason: Mapped[str | None] = mapped_column(String(200))  # why it was skipped or failed; never patient data
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(String(20))  # FollowupAnswer
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    patient: Mapped[Patient] = relationship()


class RecallSeries(OfficeOwned, Timestamps, Base):
    __tablename__ = "recall_series"
    __table_args__ = (
        # One series per due date: "interval 3, visit 812" or "import 2031-01-15", however often it is computed.
        UniqueConstraint("patient_id", "key"),
        Index("ix_recall_series_status_next", "status", "next_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(60))
    source: Mapped[str] = mapped_column(String(20), default=RecallSource.VISIT)
    interval_id: Mapped[int | None] = mapped_column(ForeignKey("recall_intervals.id", ondelete="SET NULL"))
    visit_id: Mapped[int | None] = mapped_column(Integer)  # the last visit it counts from (history: no foreign key)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=RecallStatus.ACTIVE)
    texts_sent: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime)
    booked_appointment_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(200))  # why it stopped; never patient data

    patient: Mapped[Patient] = relationship()


class RecallText(OfficeOwned, Base):
    __tablename__ = "recall_texts"
    __table_args__ = (UniqueConstraint("series_id", "number"),)  # each text of a series goes once

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("recall_series.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # 1 for the first text of the series
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    series: Mapped[RecallSeries] = relationship()


class RecallDue(OfficeOwned, Timestamps, Base):
    """A recall due date the practice-management system gave for a patient (one per patient, the latest given)."""

    __tablename__ = "recall_due_dates"
    __table_args__ = (UniqueConstraint("patient_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    due_on: Mapped[date] = mapped_column(Date)
