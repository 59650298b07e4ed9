"""Status callbacks at /twilio/status: forward-only, idempotent, and acting on what error codes teach.

Every text and call we send carries a StatusCallback URL that names its message row (`?m=ID`, see
`callback_url`). Twilio signs the whole URL, query included, so the id is as trustworthy as the parameters. A
callback can beat the dispatcher to its own bookkeeping (Twilio answers the create request, then calls back
within milliseconds): it still finds its row by the id, and the row takes the SID it brings. A callback whose URL
names no row (sent before URLs named them, or a Messaging Service's own callback) finds its message by SID.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, events, reminder_states
from ..effective import TwilioConfig
from ..gateways import ErrorAction, TwilioError, error_for_code
from ..gateways.errors import REGISTRATION_BLOCKS
from ..messaging.delivery import FINAL, advances
from ..models import (
    Channel,
    DeliveryEvent,
    Direction,
    EventType,
    Message,
    Patient,
    PatientPhone,
    PhoneKind,
    Reminder,
    ReminderStatus,
)
from ..registration.holds import mark_blocked
from ..registration.senders import WAITING_FOR_REGISTRATION
from . import consent
from .params import currency, integer, price

log = logging.getLogger(__name__)

# Kept with each event for the trail; numbers and bodies are already on the message.
_KEPT = (
    "MessageStatus",
    "SmsStatus",
    "CallStatus",
    "ErrorCode",
    "NumSegments",
    "Price",
    "PriceUnit",
    "CallDuration",
    "AnsweredBy",
    "SequenceNumber",
)


STATUS_PATH = "/twilio/status"
NAMED = "m"  # the query parameter of a status callback URL that names our message row


def callback_url(config: TwilioConfig, message_id: int) -> str | None:
    """The StatusCallback to give Twilio for one of our messages (None without a public URL)."""
    return config.url(f"{STATUS_PATH}?{NAMED}={message_id}")


def handle(db: Session, office_id: int, params: Mapping[str, str], now: datetime, named: str | None = None) -> None:
    """`office_id`: the office the callback is for (its account and number); only its messages are touched.
    `named`: the message id the callback's URL carries, if any."""
    sid = params.get("MessageSid") or params.get("SmsSid") or params.get("CallSid") or ""
    status = params.get("MessageStatus") or params.get("SmsStatus") or params.get("CallStatus") or ""
    if not sid or not status:
        return
    seen = (DeliveryEvent.twilio_sid == sid) & (DeliveryEvent.status == status) & (DeliveryEvent.office_id == office_id)
    if db.scalar(select(DeliveryEvent.id).where(seen)):
        return  # the same callback again: nothing new
    message = _message_for(db, office_id, named, sid)
    event = DeliveryEvent(
        office_id=office_id,
        message_id=message.id if message else None,
        twilio_sid=sid,
        status=status,
        error_code=integer(params.get("ErrorCode")),  # when no number, it is kept as sent in `params` alone
        params={k: params[k] for k in _KEPT if k in params},
        received_at=now,
    )
    db.add(event)
    if message is not None:
        apply(db, message, event, now)


def _message_for(db: Session, office_id: int, named: str | None, sid: str) -> Message | None:
    """The row the URL names, when it is ours and this SID is (or can become) its own; else the row with the SID.

    A row named but holding another SID was sent twice (an answer lost, the text not found at Twilio, sent again):
    the other SID's callbacks are kept in the trail, unattached."""
    message_id = integer(named)
    message = db.get(Message, message_id) if message_id else None
    if message is not None and message.office_id == office_id and message.direction == Direction.OUTBOUND:
        if message.twilio_sid is None and db.scalar(select(Message.id).where(Message.twilio_sid == sid)) is None:
            message.twilio_sid = sid  # the callback came before the sender recorded Twilio's answer
        if message.twilio_sid == sid:
            return message
    return db.scalar(select(Message).where(Message.twilio_sid == sid, Message.office_id == office_id))


def settle_sent(db: Session, message: Message, now: datetime) -> None:
    """The dispatcher recorded the send of `message`: a failure a callback reported before (while the reminder
    was still being sent, so `apply` left the reminder alone) now has its consequence for the reminder."""
    if message.error_code:
        _retry_reminder(db, message, error_for_code(message.error_code), now)


def apply(db: Session, message: Message, event: DeliveryEvent, now: datetime) -> None:
    params = event.params
    if (segments := integer(params.get("NumSegments"))) is not None:
        message.num_segments = segments
    if (charged := price(params.get("Price"))) is not None:
        message.price = charged
        message.price_unit = currency(params.get("PriceUnit")) or message.price_unit
    if not advances(message.channel, message.status, event.status):
        return
    previous, message.status = message.status, event.status
    error = error_for_code(event.error_code) if event.error_code else None
    if error is not None:
        message.error_code, message.error_message = event.error_code, error.reason
    if event.status in FINAL:
        _record_outcome(db, message, previous)
    if error is not None:
        act_on_error(db, message, error, now)
        _retry_reminder(db, message, error, now)


def _record_outcome(db: Session, message: Message, previous: str) -> None:
    events.record(
        db,
        message.office_id,
        EventType(f"message.{message.status}"),
        appointment_id=message.appointment_id,
        patient_id=message.patient_id,
        reminder_id=message.reminder_id,
        message_id=message.id,
        previous=previous,
        channel=message.channel,
        error_code=message.error_code,
    )


def _retry_reminder(db: Session, message: Message, error: TwilioError, now: datetime) -> None:
    """A handset unreachable for now (30003) gets one more try later, once: not when an earlier message of the
    same reminder already failed with that code (`attempts` would also count the dispatcher's own retries after
    a 429 or a 5xx). A sender carriers do not take (30032, 30034) says nothing about the patient: the reminder
    waits with the sender's other texts until its registration is put right. Other failures end the reminder:
    after a carrier's verdict on the text itself (30007) it is not sent again; the doctor and the admins' alert
    say what to fix."""
    if message.reminder_id is None:
        return
    reminder = db.get(Reminder, message.reminder_id)
    if reminder is None or reminder.status != ReminderStatus.SENT:
        return
    if error.code in REGISTRATION_BLOCKS:
        reason = f"{WAITING_FOR_REGISTRATION}: carriers refused the text ({error.reason})"
        reminder_states.move(db, reminder, ReminderStatus.PLANNED, reason, due_at=now, message_id=message.id)
    elif error.is_transient and not _failed_before_with(db, message, error.code):
        later = now + timedelta(seconds=error.retry_after or 3600)
        reason = f"retrying: {error.reason}"
        reminder_states.move(db, reminder, ReminderStatus.PLANNED, reason, due_at=later, message_id=message.id)
    else:
        reminder_states.move(db, reminder, ReminderStatus.FAILED, error.reason, message_id=message.id)


def _failed_before_with(db: Session, message: Message, code: int | None) -> bool:
    """Did another message of this message's reminder already fail with `code`?"""
    earlier = select(Message.id).where(
        Message.reminder_id == message.reminder_id, Message.id != message.id, Message.error_code == code
    )
    return db.scalar(earlier.limit(1)) is not None


def act_on_error(db: Session, message: Message, error: TwilioError, now: datetime) -> None:
    """What an error teaches about the patient's number: opted out, a landline, not a number, or a region the
    account may not reach (permanent for that number: later reminders skip it). Carrier filtering and sender
    registration (ALERT_STAFF) concern the office, not the patient: they are logged by code and message id, and
    reach staff through the doctor's check `twilio.delivery_errors` and the admins' alert (doctor/alerts.py); a
    sender carriers refused for its registration is marked, so that its later texts wait."""
    if error.action == ErrorAction.ALERT_STAFF:
        log.warning("message %s: %s", message.id, error)  # the reason comes from our table: no patient data
    if error.code in REGISTRATION_BLOCKS and message.direction == Direction.OUTBOUND:
        mark_blocked(db, message.office_id, message.from_number, error.code, error.reason, now)
    patient = db.get(Patient, message.patient_id) if message.patient_id else None
    if patient is None:
        return
    phone = db.scalar(
        select(PatientPhone).where(PatientPhone.patient_id == patient.id, PatientPhone.number == message.to_number)
    )
    source = f"twilio:{error.code}" if error.code else "twilio"
    if error.action == ErrorAction.OPT_OUT:
        consent.opt_out(db, patient, Channel.SMS, source, now)
    elif error.action in (ErrorAction.SWITCH_TO_VOICE, ErrorAction.TRY_VOICE) and phone is not None:
        phone.kind = PhoneKind.LANDLINE  # later texts skip it; the voice rule calls instead
        audit.record(db, patient.office_id, source, "landline", "patient", patient.id)
    elif error.action == ErrorAction.FLAG_INVALID_NUMBER and phone is not None:
        phone.invalid_at, phone.invalid_reason = now, error.reason
        audit.record(db, patient.office_id, source, "invalid_number", "patient", patient.id)
    elif error.action == ErrorAction.NO_PERMISSION and phone is not None:
        phone.invalid_at, phone.invalid_reason = now, error.reason  # until the geo permission is enabled
        audit.record(db, patient.office_id, source, "no_permission", "patient", patient.id)
