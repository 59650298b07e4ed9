"""Staff texting a patient: the same rules as reminders (consent, opt-out, quiet hours) and the same order of
writes (the message row before Twilio is called, the SID after), with an audited override for urgent texts.

`text_patient` is the whole of it, for the conversations API and the inbox's reply box alike."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from .. import audit
from ..db import transaction
from ..effective import NotConfigured, TwilioConfig, twilio_config
from ..gateways import TwilioError, TwilioGateway
from ..gateways.dispatching import DispatchGateway
from ..messaging.segments import count_segments
from ..models import Channel, Clinic, Direction, Message, MessageStatus, Office, Patient, StaffUser, utcnow
from ..planning import patient_zone, window_of
from ..refusals import Refusal, Refused
from ..registration.holds import text_hold
from ..scheduling.timing import next_allowed
from ..settings import Settings
from .delivery import act_on_error, callback_url

MAX_LENGTH = 1600  # Twilio's limit for one message body


class CannotSend(Refused):
    """The text may not or cannot go out; the message says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__("", message, Refusal.CONFLICT)


@dataclass(frozen=True)
class Draft:
    message_id: int
    to: str
    from_: str
    body: str
    status_callback: str | None
    messaging_service_sid: str | None = None  # through the office's service (its A2P campaign) when it has one


def draft(
    db: Session,
    office: Office,
    config: TwilioConfig,
    patient: Patient,
    user: StaffUser,
    body: str,
    urgent: bool,
    now: datetime,
) -> Draft:
    """Check and record the staff message (committed by the caller before sending)."""
    body = body.strip()
    if not body:
        raise CannotSend("body: write a message first")
    if len(body) > MAX_LENGTH:
        raise CannotSend(f"body: at most {MAX_LENGTH} characters")
    if patient.sms_opted_out_at is not None:
        raise CannotSend("the patient opted out of texts; call them instead")
    phone = patient.usable_phone(Channel.SMS)
    if phone is None:
        raise CannotSend("the patient has no number that can receive texts")
    if not patient.sms_consent and not urgent:
        raise CannotSend("the patient has not consented to texts; mark the message urgent to send it anyway")
    clinic = db.query(Clinic).filter(Clinic.office_id == office.id, Clinic.active.is_(True)).first()
    if clinic is not None and not urgent:
        zone = patient_zone(patient, clinic)
        opens = next_allowed(now, zone, window_of(office))
        if opens > now:
            local = opens.astimezone(zone).strftime("%H:%M")
            raise CannotSend(
                f"outside the allowed hours in the patient's time; texts may go from {local}, "
                "or mark the message urgent to send it now"
            )
    sender = (clinic.twilio_number if clinic else None) or config.phone_number
    if not sender:
        raise CannotSend("no Twilio number is configured (TWILIO_PHONE_NUMBER)")
    if held := text_hold(db, office.id, sender):  # carriers would block it, urgent or not
        raise CannotSend(held)
    segments = count_segments(body)
    message = Message(
        office_id=office.id,
        patient_id=patient.id,
        direction=Direction.OUTBOUND,
        channel=Channel.SMS,
        to_number=phone.number,
        from_number=sender,
        body=body,
        status=MessageStatus.PENDING,
        num_segments=segments.segments,
        encoding=segments.encoding,
        sent_by_user_id=user.id,
    )
    db.add(message)
    db.flush()
    audit.record(
        db,
        office.id,
        f"user:{user.id}",
        "urgent_text" if urgent else "text",
        "patient",
        patient.id,
        message_id=message.id,
    )
    return Draft(message.id, phone.number, sender, body, callback_url(config, message.id), config.messaging_service_sid)


async def send(gateway: DispatchGateway, outgoing: Draft) -> tuple[str | None, TwilioError | None]:
    try:
        sent = await gateway.send_sms(
            outgoing.to,
            outgoing.from_,
            outgoing.body,
            status_callback=outgoing.status_callback,
            messaging_service_sid=outgoing.messaging_service_sid,
        )
    except TwilioError as error:
        return None, error
    return sent.sid, None


def record(db: Session, message: Message, sid: str | None, error: TwilioError | None, now: datetime) -> None:
    if sid is not None:
        message.twilio_sid = sid
        message.status = MessageStatus.QUEUED if message.status == MessageStatus.PENDING else message.status
        return
    assert error is not None
    message.status = MessageStatus.FAILED
    message.error_code, message.error_message = error.code, error.reason
    if error.is_permanent:
        act_on_error(db, message, error, now)


async def text_patient(
    sessions: sessionmaker[Session],
    settings: Settings,
    gateway_for: Callable[[TwilioConfig], TwilioGateway],
    user: StaffUser,
    patient_id: int,
    body: str,
    urgent: bool,
) -> Message:
    """Checks and records the text (committed before Twilio is called), sends it, records the SID or Twilio's
    refusal. Refused: no such patient in the user's office (NOT_FOUND), the text may not go now or Twilio is not
    set up (CONFLICT, nothing kept), Twilio refused it (UPSTREAM, the failed text kept)."""

    def prepare() -> tuple[Draft, TwilioGateway]:
        with transaction(sessions) as db:
            office = db.get(Office, user.office_id)
            assert office is not None
            patient = db.get(Patient, patient_id)
            if patient is None or patient.office_id != office.id:
                raise Refused("", f"no patient {patient_id}", Refusal.NOT_FOUND)
            config = twilio_config(settings, office)
            try:
                gateway = gateway_for(config)
            except NotConfigured as exc:
                raise CannotSend(str(exc)) from exc
            return draft(db, office, config, patient, user, body, urgent, utcnow()), gateway

    outgoing, gateway = await asyncio.to_thread(prepare)
    sid, error = await send(gateway, outgoing)

    def finish() -> Message:
        with transaction(sessions) as db:
            message = db.get(Message, outgoing.message_id)
            assert message is not None
            record(db, message, sid, error, utcnow())
            db.flush()
            db.refresh(message)  # read in full: the caller has it after the session is gone
            return message

    message = await asyncio.to_thread(finish)
    if error is not None:
        raise Refused("", f"Twilio refused the text: {error.reason}", Refusal.UPSTREAM)
    return message
