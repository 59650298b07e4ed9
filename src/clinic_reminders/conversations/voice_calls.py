"""Voice at /app_confirm: reminder calls we placed, calls patients make to the Twilio number, and key presses.

The same handler serves all three, as the seed configures one URL for voice. Twilio asks for instructions when
the call is answered (AnsweredBy tells a person from a machine), then posts the key pressed to the Gather action.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import booking
from ..booking import BookingError
from ..messaging.voice import (
    VoiceOutcome,
    answer_twiml,
    dial_clinic_twiml,
    outcome_for_digits,
    reminder_call_twiml,
    unknown_caller_twiml,
    voicemail_twiml,
)
from ..models import Appointment, AppointmentStatus, Channel, Clinic, Direction, Message, MessageStatus, Office
from ..reminder_text import reminder_context
from . import consent
from .inbound_sms import record_answer
from .lookup import find_party
from .params import integer

R = TypeVar("R", Message, Appointment)

_STATUS = {
    VoiceOutcome.CONFIRMED: AppointmentStatus.CONFIRMED,
    VoiceOutcome.CANCELLED: AppointmentStatus.CANCELLED,
    VoiceOutcome.RESCHEDULE_REQUESTED: AppointmentStatus.RESCHEDULE_REQUESTED,
}


def handle(
    db: Session, office_id: int, params: Mapping[str, str], query: Mapping[str, str], public_url: str, now: datetime
) -> str:
    """`office_id`: the office the webhook is for; the call or appointment its URL names must be that office's."""
    call_id = integer(query.get("call"))
    placed = _owned(db.get(Message, call_id) if call_id else None, office_id)
    if query.get("step") == "answer":
        appointment_id = placed.appointment_id if placed else integer(query.get("appointment"))
        appointment = _owned(db.get(Appointment, appointment_id) if appointment_id else None, office_id)
        return _answer(db, params, appointment, placed, now)
    if placed is not None and placed.appointment_id is not None:
        return _reminder_call(db, params, placed, public_url)
    return _inbound_call(db, office_id, params, public_url, now)


def _owned(row: R | None, office_id: int) -> R | None:
    return row if row is not None and row.office_id == office_id else None


def _reminder_call(db: Session, params: Mapping[str, str], placed: Message, public_url: str) -> str:
    if placed.twilio_sid is None:  # Twilio answered before the dispatcher recorded the SID
        placed.twilio_sid = params.get("CallSid") or None
    appointment = db.get(Appointment, placed.appointment_id)
    assert appointment is not None
    ctx = reminder_context(appointment, _office(db, appointment))
    if params.get("AnsweredBy", "").startswith(("machine", "fax")):
        return voicemail_twiml(ctx)
    return reminder_call_twiml(ctx, f"{public_url}/app_confirm?call={placed.id}&step=answer")


def _inbound_call(db: Session, office_id: int, params: Mapping[str, str], public_url: str, now: datetime) -> str:
    party = find_party(db, office_id, params.get("To", ""), params.get("From", ""), now)
    clinic = party.appointment.clinic if party.appointment else party.clinic
    if party.appointment is None:
        phone = clinic.phone if clinic else _any_clinic_phone(db, party.office)
        language = party.patient.language if party.patient else None
        return dial_clinic_twiml(phone, language) if party.patients else unknown_caller_twiml(phone)
    sid = params.get("CallSid")
    if sid and db.scalar(select(Message.id).where(Message.twilio_sid == sid)) is None:
        db.add(_voice_message(party.office.id, party.appointment, params, Direction.INBOUND, sid, "(incoming call)"))
    ctx = reminder_context(party.appointment, party.office)
    return reminder_call_twiml(ctx, f"{public_url}/app_confirm?appointment={party.appointment.id}&step=answer")


def _answer(
    db: Session, params: Mapping[str, str], appointment: Appointment | None, placed: Message | None, now: datetime
) -> str:
    if appointment is None:
        return unknown_caller_twiml(_any_clinic_phone(db, None))
    outcome = outcome_for_digits(params.get("Digits"))
    ctx = reminder_context(appointment, _office(db, appointment))
    sid = f"{params.get('CallSid', '')}/answer"
    if db.scalar(select(Message.id).where(Message.twilio_sid == sid)) is not None:
        return answer_twiml(outcome, ctx)  # a replay: answer again, change nothing
    record = _voice_message(
        appointment.office_id,
        appointment,
        params,
        Direction.INBOUND,
        sid,
        f"pressed {params.get('Digits') or 'nothing'}",
    )
    record.interpretation = str(outcome)
    record.unread = True
    db.add(record)
    record_answer(db, record)
    if outcome in _STATUS:
        try:
            booking.set_status(db, appointment, _STATUS[outcome], "patient:voice")
        except BookingError:
            record.needs_person = True
    elif outcome == VoiceOutcome.OPTED_OUT:
        consent.opt_out(db, appointment.patient, Channel.VOICE, "voice:9", now)
    elif outcome in (VoiceOutcome.NOT_UNDERSTOOD, VoiceOutcome.NO_INPUT):
        record.needs_person = outcome == VoiceOutcome.NOT_UNDERSTOOD
    return answer_twiml(outcome, ctx)


def _voice_message(
    office_id: int, appointment: Appointment, params: Mapping[str, str], direction: Direction, sid: str, body: str
) -> Message:
    return Message(
        office_id=office_id,
        patient_id=appointment.patient_id,
        appointment_id=appointment.id,
        direction=direction,
        channel=Channel.VOICE,
        to_number=params.get("To", ""),
        from_number=params.get("From", ""),
        body=body,
        twilio_sid=sid,
        status=MessageStatus.RECEIVED,
    )


def _office(db: Session, appointment: Appointment) -> Office:
    office = db.get(Office, appointment.office_id)
    assert office is not None
    return office


def _any_clinic_phone(db: Session, office: Office | None) -> str:
    query = select(Clinic.phone).where(Clinic.active.is_(True)).order_by(Clinic.id).limit(1)
    if office is not None:
        query = query.where(Clinic.office_id == office.id)
    return db.scalar(query) or ""
