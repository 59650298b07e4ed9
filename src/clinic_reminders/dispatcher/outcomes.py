"""What happened to one send, and how each outcome is written down: by the worker that still holds the lease."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import reminder_states
from ..conversations import delivery
from ..gateways import TwilioError
from ..gateways.errors import CONFIGURATION_CODES, NOT_TAKEN
from ..models import Message, MessageStatus, Reminder, ReminderStatus
from . import metrics
from .leases import Lease, prove
from .prepare import SendJob

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# A reminder refused for the set-up waits 15 min, then 30 min, 1 h, and 2 h between tries until it is fixed (or
# the appointment passes): the first fix is often quick (a number typed wrong), a lasting one is not hammered.
SETUP_WAIT_FIRST = timedelta(minutes=15)
SETUP_WAIT_LONGEST = timedelta(hours=2)
# The reason such a reminder carries while it waits; the doctor counts the reminders that carry it.
WAITING_FOR_SETUP = "waiting for the Twilio set-up to be fixed"


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


@dataclass(frozen=True)
class NotSent:
    """Twilio was not called: the lease could not be proven right before the send (see `fence`)."""

    reason: str


Outcome = Sent | Failed | Unknown | NotSent
Result = tuple[Lease, SendJob, Outcome]
UNKNOWN_RECHECK = timedelta(seconds=5)  # how long to wait before asking Twilio about an unknown outcome


def is_unknown(error: TwilioError) -> bool:
    not_processed = error.status == 429 or error.code in NOT_TAKEN
    return error.is_transient and not not_processed and (error.status is None or error.status >= 500)


def backoff(attempts: int, hint: float | None) -> timedelta:
    base = hint if hint is not None else 2.0 ** min(attempts, 10)
    return timedelta(seconds=min(3600.0, base * random.uniform(0.5, 1.5)))  # jitter spreads a thundering herd


def record_all(db: Session, worker_id: str, results: list[Result], now: datetime, lease: timedelta) -> None:
    """Write a batch of outcomes in one transaction, each only while this worker still holds its reminder."""
    held = prove(db, worker_id, [claim for claim, _, _ in results], now, lease)
    if len(held) < len(results):
        results = _drop_lost(results, held)
    jobs = [job for _, job, _ in results]
    reminders = {r.id: r for r in db.scalars(select(Reminder).where(Reminder.id.in_([j.reminder_id for j in jobs])))}
    # Locked (on PostgreSQL): a status callback naming one of these messages writes it before this reads it or
    # after this commits, never in between (the answer's older status would overwrite the callback's).
    named = select(Message).where(Message.id.in_([j.message_id for j in jobs])).with_for_update()
    messages = {m.id: m for m in db.scalars(named)}
    for _, job, outcome in results:
        reminder, message = reminders[job.reminder_id], messages[job.message_id]
        if isinstance(outcome, Sent):
            record_sent(db, reminder, message, outcome, now)
            metrics.SENT.labels(channel=job.channel).inc()
        elif isinstance(outcome, Failed):
            record_failure(db, reminder, message, outcome.error, now)
            metrics.FAILED.labels(kind=outcome.error.kind.value, code=str(outcome.error.code or "")).inc()
        elif isinstance(outcome, NotSent):
            record_not_sent(db, reminder, now, outcome.reason)
        else:
            ask_twilio_soon(reminder, now, f"checking with Twilio: {outcome.error.reason}")
            metrics.UNKNOWN.inc()


def _drop_lost(results: list[Result], held: set[int]) -> list[Result]:
    """Outcomes of reminders another worker took over while this one was paused: that worker reconciles them
    with Twilio, so this one writes nothing. A text that went out anyway is logged by its SID."""
    lost = [(lease, outcome) for lease, _, outcome in results if lease.reminder_id not in held]
    metrics.FENCED.labels(at="record").inc(len(lost))
    log.warning("dispatch: %d outcomes dropped: another worker took their reminders over", len(lost))
    for lease, outcome in lost:
        if isinstance(outcome, Sent):
            log.warning(
                "dispatch: reminder %d went to Twilio (%s) after another worker took it over; "
                "if that worker sent it too, the patient got it twice",
                lease.reminder_id,
                outcome.sid,
            )
    return [result for result in results if result[0].reminder_id in held]


def ask_twilio_soon(reminder: Reminder, now: datetime, reason: str | None = None) -> None:
    """Release the lease so that it expires soon and reconciliation (by any worker) looks at Twilio."""
    reminder.lease_owner = None
    reminder.lease_expires_at = now + UNKNOWN_RECHECK
    if reason is not None:
        reminder.reason = reason


def record_sent(db: Session, reminder: Reminder, message: Message, outcome: Sent, now: datetime) -> None:
    """Status callbacks may have come first (they name the message): their status stands, and a failure they
    reported now acts on the reminder."""
    message.twilio_sid = outcome.sid
    if message.status == MessageStatus.PENDING:
        message.status = outcome.status or MessageStatus.QUEUED
    if outcome.segments:
        message.num_segments = outcome.segments
    reminder_states.move(db, reminder, ReminderStatus.SENT, None, message_id=message.id)
    delivery.settle_sent(db, message, now)


def record_not_sent(db: Session, reminder: Reminder, now: datetime, reason: str) -> None:
    """Due again at once; the pending message is sent as it is, and this try does not count as one."""
    reminder.attempts -= 1
    _plan_again(db, reminder, now, f"retrying: {reason}")


def setup_wait(earlier: int) -> timedelta:
    """How long a reminder waits after a configuration error, given how many of its messages such errors
    dropped before this one: 15 min, 30 min, 1 h, then 2 h each time."""
    return min(SETUP_WAIT_LONGEST, SETUP_WAIT_FIRST * (1 << min(earlier, 8)))


def record_failure(db: Session, reminder: Reminder, message: Message, error: TwilioError, now: datetime) -> None:
    """Transient: plan again with backoff; the pending message is sent again, unchanged. Configuration: this
    message is dropped (its sender may be what is wrong) and the reminder waits for the set-up to be fixed,
    longer after each such refusal (`setup_wait`); `reminders doctor` says what to fix (twilio.delivery_errors).
    Permanent: end it with the reason and act on what the error teaches."""
    if error.is_transient and reminder.attempts < MAX_ATTEMPTS:
        _plan_again(db, reminder, now + backoff(reminder.attempts, error.retry_after), f"retrying: {error.reason}")
        return
    message.error_code = error.code
    message.error_message = error.reason
    if error.is_configuration:
        message.status = MessageStatus.CANCELED
        reminder.attempts -= 1  # not a try at reaching the patient: a 429 after the fix still gets its retries
        wait = setup_wait(_dropped_for_setup(db, reminder, message))
        _plan_again(db, reminder, now + wait, f"{WAITING_FOR_SETUP}: {error.reason}")
        return
    message.status = MessageStatus.FAILED
    reason = error.reason if error.is_permanent else f"gave up after {reminder.attempts} attempts"
    reminder_states.move(db, reminder, ReminderStatus.FAILED, reason, message_id=message.id)
    delivery.act_on_error(db, message, error, now)


def _dropped_for_setup(db: Session, reminder: Reminder, message: Message) -> int:
    """How many earlier messages of this reminder a configuration error dropped (no schema change needed)."""
    return (
        db.scalar(
            select(func.count())
            .select_from(Message)
            .where(
                Message.reminder_id == reminder.id,
                Message.id != message.id,
                Message.status == MessageStatus.CANCELED,
                Message.error_code.in_(CONFIGURATION_CODES),
            )
        )
        or 0
    )


def _plan_again(db: Session, reminder: Reminder, due: datetime, reason: str) -> None:
    reminder_states.move(db, reminder, ReminderStatus.PLANNED, reason, due_at=due)
