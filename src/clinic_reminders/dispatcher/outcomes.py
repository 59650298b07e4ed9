"""What happened to one send, and how each outcome is written down."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from ..conversations import delivery
from ..gateways import TwilioError
from ..models import Message, MessageStatus, Reminder, ReminderStatus
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


def record_sent(
    db: Session, reminder: Reminder, message: Message, outcome: Sent, now: datetime, *, callbacks_waiting: bool = True
) -> None:
    """`callbacks_waiting` False: the caller checked (in bulk) that no status callback beat us here."""
    message.twilio_sid = outcome.sid
    if message.status == MessageStatus.PENDING:
        message.status = outcome.status or MessageStatus.QUEUED
    if outcome.segments:
        message.num_segments = outcome.segments
    reminder.status = ReminderStatus.SENT
    reminder.reason = None
    release(reminder)
    if callbacks_waiting:
        delivery.adopt(db, message, now)


def record_failure(db: Session, reminder: Reminder, message: Message, error: TwilioError, now: datetime) -> None:
    """Transient: plan again with backoff; the pending message is sent again, unchanged. Configuration: this
    message is dropped (its sender may be what is wrong) and the reminder waits for the set-up to be fixed.
    Permanent: end it with the reason and act on what the error teaches."""
    if error.is_transient and reminder.attempts < MAX_ATTEMPTS:
        _plan_again(reminder, now + backoff(reminder.attempts, error.retry_after), f"retrying: {error.reason}")
        return
    message.error_code = error.code
    message.error_message = error.reason
    if error.is_configuration:
        message.status = MessageStatus.CANCELED
        _plan_again(reminder, now + timedelta(minutes=15), f"waiting for the Twilio set-up to be fixed: {error.reason}")
        return
    message.status = MessageStatus.FAILED
    reminder.status = ReminderStatus.FAILED
    reminder.reason = error.reason if error.is_permanent else f"gave up after {reminder.attempts} attempts"
    release(reminder)
    delivery.act_on_error(db, message, error, now)


def _plan_again(reminder: Reminder, due: datetime, reason: str) -> None:
    reminder.status = ReminderStatus.PLANNED
    reminder.due_at = due
    reminder.reason = reason
    release(reminder)
