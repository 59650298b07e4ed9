"""What happened to one send, and how each outcome is written down."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit
from ..gateways import ErrorAction, TwilioError
from ..models import (
    Channel,
    ConsentAction,
    ConsentEvent,
    Message,
    MessageStatus,
    Patient,
    PatientPhone,
    PhoneKind,
    Reminder,
    ReminderStatus,
)
from .leases import release

MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Sent:
    sid: str
    status: str
    segments: int | None = None


@dataclass(frozen=True)
class Failed:
    error: TwilioError


@dataclass(frozen=True)
class Unknown:
    """Twilio may or may not have acted (timeout, dropped connection, 5xx): look before sending again."""

    error: TwilioError


Outcome = Sent | Failed | Unknown


def is_unknown(error: TwilioError) -> bool:
    not_processed = error.status == 429 or error.code in (20429, 21611)
    return error.is_transient and not not_processed and (error.status is None or error.status >= 500)


def backoff(attempts: int, hint: float | None) -> timedelta:
    base = hint if hint is not None else 2.0 ** min(attempts, 10)
    return timedelta(seconds=min(3600.0, base * random.uniform(0.5, 1.5)))  # jitter spreads a thundering herd


def record_sent(reminder: Reminder, message: Message, outcome: Sent) -> None:
    message.twilio_sid = outcome.sid
    if message.status == MessageStatus.PENDING:  # a status callback may already have moved it further
        message.status = outcome.status or MessageStatus.QUEUED
    if outcome.segments:
        message.num_segments = outcome.segments
    reminder.status = ReminderStatus.SENT
    reminder.reason = None
    release(reminder)


def record_failure(db: Session, reminder: Reminder, message: Message, error: TwilioError, now: datetime) -> None:
    """Transient: plan again with backoff. Permanent: end it with the reason and act. Configuration: wait."""
    if error.is_transient and reminder.attempts < MAX_ATTEMPTS:
        reminder.status = ReminderStatus.PLANNED
        reminder.due_at = now + backoff(reminder.attempts, error.retry_after)
        reminder.reason = f"retrying: {error.reason}"
        release(reminder)
        return  # the message stays pending and is sent again, unchanged, on the next attempt
    message.status = MessageStatus.FAILED
    message.error_code = error.code
    message.error_message = error.reason
    if error.is_configuration:
        reminder.status = ReminderStatus.PLANNED
        reminder.due_at = now + timedelta(minutes=15)
        reminder.reason = f"waiting for the Twilio set-up to be fixed: {error.reason}"
        message.status = MessageStatus.CANCELED
        release(reminder)
        return
    reminder.status = ReminderStatus.FAILED
    reminder.reason = error.reason if error.is_permanent else f"gave up after {reminder.attempts} attempts"
    release(reminder)
    act_on_error(db, message, error, now)


def act_on_error(db: Session, message: Message, error: TwilioError, now: datetime) -> None:
    """What a permanent error teaches about the patient's number (shared with status callbacks)."""
    if message.patient_id is None:
        return
    patient = db.get(Patient, message.patient_id)
    phone = db.scalar(
        select(PatientPhone).where(
            PatientPhone.patient_id == message.patient_id, PatientPhone.number == message.to_number
        )
    )
    if patient is None:
        return
    source = f"twilio:{error.code}" if error.code else "twilio"
    if error.action == ErrorAction.OPT_OUT and patient.sms_opted_out_at is None:
        patient.sms_opted_out_at = now
        patient.sms_opt_out_source = source
        db.add(
            ConsentEvent(
                office_id=patient.office_id,
                patient_id=patient.id,
                channel=Channel.SMS,
                action=ConsentAction.OPT_OUT,
                source=source,
                at=now,
            )
        )
    elif error.action in (ErrorAction.SWITCH_TO_VOICE, ErrorAction.TRY_VOICE) and phone is not None:
        phone.kind = PhoneKind.LANDLINE  # later texts skip it; the voice rule calls instead
    elif error.action == ErrorAction.FLAG_INVALID_NUMBER and phone is not None:
        phone.invalid_at = now
        phone.invalid_reason = error.reason
    else:
        return
    audit.record(db, patient.office_id, source, str(error.action), "patient", patient.id)
