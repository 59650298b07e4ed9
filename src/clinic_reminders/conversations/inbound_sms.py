"""A patient's text at /app_confirm: record it, understand it, act on it, and answer in their language."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.twiml.messaging_response import MessagingResponse

from .. import booking
from ..booking import BookingError
from ..dispatcher.content import reminder_context
from ..messaging.compose import format_when
from ..messaging.replies import Intent, Interpretation, interpret
from ..messaging.reply_texts import ReplyKind, reply_text
from ..models import Appointment, AppointmentStatus, Channel, Direction, Message, MessageStatus
from ..phones import display
from . import consent
from .lookup import Party, find_party

_EFFECTS = {
    Intent.CONFIRM: (AppointmentStatus.CONFIRMED, ReplyKind.CONFIRMED),
    Intent.CANCEL: (AppointmentStatus.CANCELLED, ReplyKind.CANCELLED),
    Intent.RESCHEDULE: (AppointmentStatus.RESCHEDULE_REQUESTED, ReplyKind.RESCHEDULE_REQUESTED),
}
CARRIER_CANCEL_FLAG = "replied CANCEL: opted out by carrier keyword, call the patient"


def handle(db: Session, params: Mapping[str, str], now: datetime) -> str:
    """Returns the TwiML answer. A MessageSid seen before changes nothing and gets an empty answer."""
    with db.no_autoflush:  # one flush at commit: the hot path of /app_confirm
        return _handle(db, params, now)


def _handle(db: Session, params: Mapping[str, str], now: datetime) -> str:
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    if sid and db.scalar(select(Message.id).where(Message.twilio_sid == sid)) is not None:
        return str(MessagingResponse())
    to_number, from_number, body = params.get("To", ""), params.get("From", ""), params.get("Body", "")
    party = find_party(db, to_number, from_number, now)
    patient = party.patient
    reading = interpret(body, patient.language if patient else None)
    inbound = Message(
        office_id=party.office.id,
        patient_id=patient.id if patient else None,
        appointment_id=party.appointment.id if party.appointment else None,
        direction=Direction.INBOUND,
        channel=Channel.SMS,
        to_number=to_number,
        from_number=from_number,
        body=body,
        twilio_sid=sid or None,
        status=MessageStatus.RECEIVED,
        num_segments=int(params.get("NumSegments") or 1),
        interpretation=str(reading.intent),
        needs_person=reading.needs_person,
        unread=True,
    )
    db.add(inbound)
    text = _act(db, party, reading, inbound, now)
    response = MessagingResponse()
    opted_out = patient is not None and patient.sms_opted_out_at is not None
    if text and (not opted_out or reading.intent in (Intent.HELP, Intent.OPT_OUT)):
        response.message(text)
        db.add(
            Message(
                office_id=party.office.id,
                patient_id=inbound.patient_id,
                appointment_id=inbound.appointment_id,
                direction=Direction.OUTBOUND,
                channel=Channel.SMS,
                to_number=from_number,
                from_number=to_number,
                body=text,
                status=MessageStatus.QUEUED,  # Twilio sends the TwiML answer itself; no SID comes back to us
            )
        )
    return str(response)


def _act(db: Session, party: Party, reading: Interpretation, inbound: Message, now: datetime) -> str | None:
    """Apply the answer; returns the text to send back, if any."""
    source = f"sms:{reading.keyword}" if reading.carrier_keyword else "sms:patient"
    clinic = party.appointment.clinic if party.appointment else party.clinic
    clinic_name = clinic.name if clinic else party.office.name
    clinic_phone = display(clinic.phone) if clinic else ""
    language = party.patient.language if party.patient else reading.detected_language

    def say(kind: ReplyKind, appointment: Appointment | None = None, choices: tuple[str, ...] = ()) -> str | None:
        when = _when(appointment, party) if appointment else ""
        return reply_text(
            kind,
            language,
            clinic_name=clinic_name,
            clinic_phone=clinic_phone,
            when=when,
            choices=choices,
            carrier_keyword=reading.carrier_keyword,
        )

    if reading.carrier_action == Intent.OPT_OUT or reading.intent == Intent.OPT_OUT:
        for patient in party.patients:  # Twilio blocks the number, whoever it belongs to
            consent.opt_out(db, patient, Channel.SMS, source, now)
        if reading.keyword == "CANCEL" and party.appointment is not None:
            party.appointment.staff_flag = CARRIER_CANCEL_FLAG
            inbound.needs_person = True
        return say(ReplyKind.OPTED_OUT)
    if reading.carrier_action == Intent.OPT_IN:
        for patient in party.patients:
            consent.opt_in(db, patient, Channel.SMS, source, now)
        if reading.intent == Intent.OPT_IN:
            return say(ReplyKind.OPTED_IN)
    if reading.intent == Intent.HELP:
        return say(ReplyKind.HELP)
    if reading.intent not in _EFFECTS:
        inbound.needs_person = True
        return say(ReplyKind.NOT_UNDERSTOOD)
    if party.appointment is None:
        inbound.needs_person = True
        if party.candidates:
            return say(ReplyKind.WHICH_APPOINTMENT, choices=tuple(_when(a, party) for a in party.candidates))
        return say(ReplyKind.NOT_UNDERSTOOD)
    status, kind = _EFFECTS[reading.intent]
    try:
        booking.set_status(db, party.appointment, status, "patient:sms")
    except BookingError:
        inbound.needs_person = True  # e.g. "1" for an appointment staff already cancelled: a person should call
        return say(ReplyKind.NOT_UNDERSTOOD)
    return say(kind, party.appointment)


def _when(appointment: Appointment, party: Party) -> str:
    return format_when(reminder_context(appointment, party.office))[2]
