"""Texts the office starts itself beside reminders: waitlist offers now (no-show follow-ups, recall and broadcasts
are to go the same way). One text is one message row with no reminder and no staff user behind it.

They go the one path reminders and staff texts go: the patient's consent and opt-out, a number that takes texts
and the sender's carrier registration are checked here (`sender`, `reachable`), the allowed hours in the
patient's zone by the caller (`scheduling.timing.next_allowed`); the message row is written and committed before
Twilio is called, its StatusCallback URL names the row, and Twilio's answer is recorded after
(`conversations.staff_sms.send` and `record`), at the sender's pace shared with the reminders. A text is never
sent again by this path: a row left pending by a worker that died (`left_pending`) is looked up in Twilio's
message list (`look_up`) and either takes the SID found there or is cancelled as never sent (`settle`), so the
kind that wrote it can move on (a waitlist offers the slot to someone else).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..conversations.delivery import callback_url
from ..conversations.staff_sms import Draft, record, send
from ..effective import TwilioConfig
from ..gateways import TwilioError
from ..gateways.dispatching import DispatchGateway
from ..messaging.segments import count_segments
from ..models import Channel, Clinic, Direction, Message, MessageStatus, Office, Patient, PatientPhone
from ..registration.holds import text_hold
from ..settings import Settings
from .outcomes import Sent
from .pacing import Pacer, pace_key
from .reconcile import CLOCK_SKEW, find_text_at_twilio

NEVER_SENT = "never reached Twilio (the sender stopped before it was recorded)"


@dataclass(frozen=True)
class Reachable:
    """The patient may get a text: to this phone, from this sender."""

    phone: PatientPhone
    sender: str


@dataclass(frozen=True)
class Sender:
    number: str


def sender(db: Session, office: Office, config: TwilioConfig, clinic: Clinic) -> Sender | str:
    """The number texts about something at `clinic` go from, or why none may go (words for staff)."""
    number = clinic.twilio_number or config.phone_number
    if not number:
        return "no sending number configured (TWILIO_PHONE_NUMBER)"
    if held := text_hold(db, office.id, number):
        return held
    return Sender(number)


def reachable(patient: Patient, sender: Sender) -> Reachable | str:
    """Whether `patient` may get a text from `sender`, or why not (words for staff, no PHI). The allowed hours
    in the patient's zone are the caller's to check (`scheduling.timing.next_allowed`, with `patient_zone`): a
    wave of offers waits for them rather than being refused."""
    if not patient.can_receive(Channel.SMS):
        return "no consent to texts, or opted out"
    phone = patient.usable_phone(Channel.SMS)
    if phone is None:
        return "no number that takes texts"
    return Reachable(phone, sender.number)


def write(db: Session, office: Office, config: TwilioConfig, patient: Patient, to: Reachable, body: str) -> Draft:
    """The message row (pending, flushed for its id) and what to send; the caller commits before sending."""
    segments = count_segments(body)
    message = Message(
        office_id=office.id,
        patient_id=patient.id,
        direction=Direction.OUTBOUND,
        channel=Channel.SMS,
        to_number=to.phone.number,
        from_number=to.sender,
        body=body,
        status=MessageStatus.PENDING,
        num_segments=segments.segments,
        encoding=segments.encoding,
    )
    db.add(message)
    db.flush()
    callback = callback_url(config, message.id)
    return Draft(message.id, to.phone.number, to.sender, body, callback, config.messaging_service_sid)


@dataclass(frozen=True)
class Result:
    draft: Draft
    sid: str | None
    error: TwilioError | None


async def send_all(gateway: DispatchGateway, drafts: Sequence[Draft], pacer: Pacer) -> list[Result]:
    """Each text at the pace its sender allows, shared with the reminders (the dispatcher's `pacer`)."""

    async def one(draft: Draft) -> Result:
        not_before = pacer.reserve(pace_key(Channel.SMS, draft.from_), count_segments(draft.body).segments)
        if (wait := not_before - pacer.clock()) > 0:
            await asyncio.sleep(wait)
        sid, error = await send(gateway, draft)
        return Result(draft, sid, error)

    return list(await asyncio.gather(*(one(d) for d in drafts)))


def record_all(db: Session, results: Sequence[Result], now: datetime) -> list[int]:
    """Twilio's answers recorded; returns the ids of the messages Twilio refused."""
    refused = []
    for result in results:
        message = db.get(Message, result.draft.message_id, with_for_update=True)  # a callback may write it too
        assert message is not None
        record(db, message, result.sid, result.error, now)
        if result.sid is None:
            refused.append(message.id)
    return refused


# --- after a crash ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lookup:
    message_id: int
    office_id: int
    to: str
    from_: str
    body: str
    since: datetime


def left_pending(db: Session, ids: Sequence[int], before: datetime) -> list[Lookup]:
    """Of the messages `ids`, those still pending without a SID that were written before `before` (their sender
    died, or lost the database, between writing them and recording Twilio's answer)."""
    rows = db.scalars(
        select(Message).where(
            Message.id.in_(ids),
            Message.status == MessageStatus.PENDING,
            Message.twilio_sid.is_(None),
            Message.created_at < before,
        )
    )
    return [Lookup(m.id, m.office_id, m.to_number, m.from_number, m.body, m.created_at - CLOCK_SKEW) for m in rows]


async def look_up(gateway: DispatchGateway, lookups: Sequence[Lookup]) -> list[list[Sent] | None]:
    """Twilio's records that could be each message (None: Twilio could not be asked, try again later)."""

    async def one(lookup: Lookup) -> list[Sent] | None:
        try:
            return await find_text_at_twilio(gateway, lookup.to, lookup.from_, lookup.body, lookup.since)
        except TwilioError:
            return None

    return list(await asyncio.gather(*(one(lookup) for lookup in lookups)))


def settle(db: Session, lookups: Sequence[Lookup], found: Sequence[list[Sent] | None], now: datetime) -> list[int]:
    """Each looked-up message takes the first SID Twilio has that no other row claims, or is cancelled as never
    sent; returns the ids of those cancelled. One whose callback brought a SID meanwhile is left as it is."""
    never_sent = []
    for lookup, candidates in zip(lookups, found, strict=True):
        if candidates is None:
            continue
        message = db.get(Message, lookup.message_id, with_for_update=True)
        assert message is not None
        if message.twilio_sid is not None or message.status != MessageStatus.PENDING:
            continue
        free = [c for c in candidates if db.scalar(select(Message.id).where(Message.twilio_sid == c.sid)) is None]
        if free:
            record(db, message, free[0].sid, None, now)
            continue
        message.status, message.error_message = MessageStatus.CANCELED, NEVER_SENT
        never_sent.append(message.id)
    return never_sent


def left_behind_after(settings: Settings) -> timedelta:
    """How old a pending row must be before it counts as left behind: longer than a send and its recording take
    (a request's longest wait for Twilio, and a worker's lease for the database)."""
    return timedelta(seconds=settings.twilio_timeout + settings.lease_seconds)
