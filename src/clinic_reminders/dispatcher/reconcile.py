"""Before anything is sent again, ask Twilio whether it already was.

A reminder left `sending` means a worker died (or lost its connection) between writing the message row and
recording Twilio's answer. When a status callback came meanwhile, the row has the SID it brought (the callback's
URL names the row): Twilio has the message, and it is recorded as sent. Otherwise Twilio's message list, filtered
by To, From and date, tells whether the request got through; only when it did not is the reminder sent again,
reusing the same row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import reminder_states
from ..gateways.dispatching import DispatchGateway
from ..models import Channel, Message, MessageStatus, Reminder, ReminderStatus
from . import metrics
from .outcomes import Sent, record_sent

# Clocks differ between us and Twilio; look a little earlier than the row's creation.
CLOCK_SKEW = timedelta(minutes=5)
RECENT_MESSAGES = 50  # looked at per reminder to reconcile: the latest between the clinic's number and the patient


@dataclass(frozen=True)
class Lookup:
    reminder_id: int
    office_id: int
    message_id: int
    channel: str
    to: str
    from_: str
    body: str
    since: datetime


def lookups_for(db: Session, reminder_ids: list[int], now: datetime) -> list[Lookup]:
    """For each taken-over reminder, its last message: recorded as sent if a callback brought its SID, to be
    looked up if it is pending, else (none, or one that ended unsent) the reminder is planned again at once."""
    lookups = []
    for reminder in db.scalars(select(Reminder).where(Reminder.id.in_(reminder_ids))):
        message = db.scalar(
            select(Message).where(Message.reminder_id == reminder.id).order_by(Message.id.desc()).limit(1)
        )
        if message is not None and (known := _known(message)):
            record_sent(db, reminder, message, known, now)
            metrics.RECONCILED.labels(found="yes").inc()
            continue
        if message is None or message.status != MessageStatus.PENDING:
            _send_again(db, reminder, now)
            continue
        lookups.append(
            Lookup(
                reminder_id=reminder.id,
                office_id=reminder.office_id,
                message_id=message.id,
                channel=message.channel,
                to=message.to_number,
                from_=message.from_number,
                body=message.body,
                since=message.created_at - CLOCK_SKEW,
            )
        )
    return lookups


async def find_at_twilio(gateway: DispatchGateway, lookup: Lookup) -> list[Sent]:
    """Twilio's records that could be this message, oldest first."""
    if lookup.channel == Channel.SMS:
        return await find_text_at_twilio(gateway, lookup.to, lookup.from_, lookup.body, lookup.since)
    calls = await gateway.list_calls(to=lookup.to, from_=lookup.from_, started_after=lookup.since)
    return [Sent(sid=c.sid, status=c.status) for c in calls]


async def find_text_at_twilio(gateway: DispatchGateway, to: str, from_: str, body: str, since: datetime) -> list[Sent]:
    """Twilio's texts from `from_` to `to` with this body, created since `since`, oldest first (also used for the
    office's own texts, dispatcher/outreach.py)."""
    # Not Twilio's DateSent> filter: a message still in Twilio's queue has no send date yet, and missing it
    # would send the text twice. The pair's latest messages are few: a patient gets a handful a week.
    records = await gateway.list_messages(to=to, from_=from_, limit=RECENT_MESSAGES)
    matches = [r for r in records if r.body == body and (r.date_created is None or r.date_created >= since)]
    matches.sort(key=lambda r: r.date_created or since)
    return [Sent(sid=r.sid, status=r.status, segments=r.num_segments) for r in matches]


def apply(db: Session, lookup: Lookup, candidates: list[Sent], now: datetime) -> bool:
    """Record the first candidate no other row claims; returns True when the message was found at Twilio."""
    reminder = db.get(Reminder, lookup.reminder_id)
    message = db.get(Message, lookup.message_id, with_for_update=True)  # see outcomes.record_all
    assert reminder is not None and message is not None
    if known := _known(message):  # a callback brought it while Twilio was asked
        record_sent(db, reminder, message, known, now)
        return True
    for candidate in candidates:
        if db.scalar(select(Message.id).where(Message.twilio_sid == candidate.sid)) is None:
            record_sent(db, reminder, message, candidate, now)
            return True
    _send_again(db, reminder, now)
    return False


def _known(message: Message) -> Sent | None:
    """What Twilio told by itself: a status callback (or a call's first request) named the row and brought the
    SID, so Twilio has the message and need not be asked."""
    return Sent(message.twilio_sid, MessageStatus.QUEUED) if message.twilio_sid else None


def _send_again(db: Session, reminder: Reminder, now: datetime) -> None:
    reason = "re-sending: the earlier attempt never reached Twilio"
    reminder_states.move(db, reminder, ReminderStatus.PLANNED, reason, due_at=now)
