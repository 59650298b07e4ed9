"""A patient's text at /app_confirm: record it, understand it, act on it, and answer in their language."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session
from twilio.twiml.messaging_response import MessagingResponse

from .. import booking, events
from ..booking import BookingError
from ..followup import answers as followup_answers
from ..messaging.compose import format_when
from ..messaging.replies import Intent, Interpretation, interpret
from ..messaging.reply_texts import ReplyKind, reply_text
from ..models import (
    Appointment,
    AppointmentStatus,
    Channel,
    Direction,
    EventType,
    Message,
    MessageStatus,
    WaitlistOffer,
)
from ..phones import display
from ..reminder_text import reminder_context
from ..waitlist import answers as waitlist_answers
from . import answered_text, choices, consent, delivery
from .lookup import Party, find_party
from .params import integer

_EFFECTS = {
    Intent.CONFIRM: (AppointmentStatus.CONFIRMED, ReplyKind.CONFIRMED),
    Intent.CANCEL: (AppointmentStatus.CANCELLED, ReplyKind.CANCELLED),
    Intent.RESCHEDULE: (AppointmentStatus.RESCHEDULE_REQUESTED, ReplyKind.RESCHEDULE_REQUESTED),
}
# Built once: the hot path. The answer's own rows are plain INSERTs, a fraction of the ORM's flush of objects.
_SEEN = select(Message.id).where(Message.twilio_sid == bindparam("sid"))
_MESSAGES = cast(Table, Message.__table__)
_INSERT_INBOUND = insert(_MESSAGES).returning(
    _MESSAGES.c.id,
    _MESSAGES.c.office_id,
    _MESSAGES.c.appointment_id,
    _MESSAGES.c.patient_id,
    _MESSAGES.c.channel,
    _MESSAGES.c.interpretation,
)
_SETTLE_INBOUND = (
    update(_MESSAGES)
    .where(_MESSAGES.c.id == bindparam("message"))
    .values(appointment_id=bindparam("appointment"), needs_person=bindparam("person"))
)
_INSERT_REPLY = insert(_MESSAGES).returning(_MESSAGES.c.id)
CARRIER_CANCEL_FLAG = "replied CANCEL: opted out by carrier keyword, call the patient"


def handle(db: Session, office_id: int, params: Mapping[str, str], now: datetime, status_url: str | None = None) -> str:
    """Returns the TwiML answer. A MessageSid seen before changes nothing and gets an empty answer.

    With `status_url` (the public `/twilio/status`), the automatic reply's delivery is followed like any text's:
    its `<Message action>` names the reply's row (`?m=ID`), whose SID Twilio's first callback brings.
    """
    with db.no_autoflush:  # one flush at commit: the hot path of /app_confirm
        return _handle(db, office_id, params, now, status_url)


def _handle(db: Session, office_id: int, params: Mapping[str, str], now: datetime, status_url: str | None) -> str:
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    if sid and db.scalar(_SEEN, {"sid": sid}) is not None:
        return str(MessagingResponse())
    to_number, from_number, body = params.get("To", ""), params.get("From", ""), params.get("Body", "")
    party = find_party(db, office_id, to_number, from_number, now)
    index = choices.letter_index(body)  # only a single letter can pick from a "which appointment?" question
    choice = choices.find(db, party, from_number, index, now) if index is not None else None
    if choice is not None:
        party.appointment, party.candidates = choice.appointment, []
        reading = Interpretation(choice.intent)
    else:
        language = party.patient.language if party.patient else None
        reading = interpret(body, language, params.get("OptOutType"))
    # A YES to a waitlist offer, or a "1" or "3" to a no-show follow-up or recall text, when that text is the
    # patient's newest: it is about the offer or the follow-up, not an appointment.
    offer: WaitlistOffer | None = None
    asked = None
    if reading.intent in followup_answers.INTENTS:
        newest = answered_text.newest(db, party.patients, now)
        if newest is not None and newest.id is not None:
            if newest.kind == answered_text.Kind.OFFER and reading.intent == Intent.CONFIRM:
                offer = db.get(WaitlistOffer, newest.id)
            elif newest.kind in (answered_text.Kind.FOLLOWUP, answered_text.Kind.RECALL):
                asked = followup_answers.asked(
                    db, newest.id, newest.at, recall=newest.kind == answered_text.Kind.RECALL
                )
    if offer is not None or asked is not None:
        party.appointment, party.candidates = None, []
    patient = party.patient
    thread = {
        "office_id": party.office.id,
        "patient_id": patient.id if patient else None,
        "appointment_id": party.appointment.id if party.appointment else None,
        "channel": Channel.SMS,
    }
    needs_person = reading.needs_person
    inbound = db.execute(
        _INSERT_INBOUND,
        {
            **thread,
            "direction": Direction.INBOUND,
            "to_number": to_number,
            "from_number": from_number,
            "body": body,
            "twilio_sid": sid or None,
            "status": MessageStatus.RECEIVED,
            "num_segments": integer(params.get("NumSegments")) or 1,
            "interpretation": str(reading.intent),
            "needs_person": needs_person,
            "unread": True,
        },
    ).one()
    record_answer(db, inbound)  # before what the answer changes, so that the outbox tells them in that order
    answer = _act(db, party, reading, now, offer, asked)
    if choice is not None and not answer.needs_person:
        choices.settle(db, choice)
    settled = needs_person or answer.needs_person or answer.follow_up
    if answer.booked is not None or settled != needs_person:  # what the answer did tells more of it
        appointment_id = answer.booked if answer.booked is not None else inbound.appointment_id
        db.execute(_SETTLE_INBOUND, {"message": inbound.id, "appointment": appointment_id, "person": settled})
    response = MessagingResponse()
    opted_out = patient is not None and patient.sms_opted_out_at is not None
    if answer.text and (not opted_out or reading.intent in (Intent.HELP, Intent.OPT_OUT)):
        reply = {
            **thread,
            "direction": Direction.OUTBOUND,
            "to_number": from_number,
            "from_number": to_number,
            "body": answer.text,
            "status": MessageStatus.QUEUED,  # Twilio sends the TwiML answer itself; its SID comes with its callbacks
            "pending_choice": answer.pending_choice,
        }
        db.flush()  # what the answer changed, before the reply (in id order, as the conversation reads)
        reply_id = db.execute(_INSERT_REPLY, reply).scalar_one()
        if status_url is None:
            response.message(answer.text)
        else:  # the reply's id goes into its status callback URL
            response.message(answer.text, action=f"{status_url}?{delivery.NAMED}={reply_id}", method="POST")
    return str(response)


class Answered(Protocol):
    """What the outbox tells of an answer: a `Message`, or the row the answer's INSERT returned."""

    @property
    def id(self) -> int | None: ...
    @property
    def office_id(self) -> int: ...
    @property
    def appointment_id(self) -> int | None: ...
    @property
    def patient_id(self) -> int | None: ...
    @property
    def channel(self) -> str: ...
    @property
    def interpretation(self) -> str | None: ...


def record_answer(db: Session, inbound: Answered) -> None:
    """The outbox event of a patient's answer (a text, or a key pressed in a call), as it was understood; a
    message without its id yet is flushed first."""
    if inbound.id is None:
        db.flush()
    events.record(
        db,
        inbound.office_id,
        EventType.PATIENT_ANSWERED,
        appointment_id=inbound.appointment_id,
        patient_id=inbound.patient_id,
        message_id=inbound.id,
        channel=inbound.channel,
        interpretation=inbound.interpretation,
    )


@dataclass(frozen=True)
class _Answer:
    text: str | None
    needs_person: bool = False  # the answer could not be acted on: a person must
    pending_choice: dict[str, Any] | None = None  # the "which appointment?" question the text asks, if it does
    follow_up: bool = False  # acted on, and a person still has work: a new time to find for a reschedule
    booked: int | None = None  # the appointment a YES to a waitlist offer booked


def _act(
    db: Session,
    party: Party,
    reading: Interpretation,
    now: datetime,
    offer: WaitlistOffer | None = None,
    asked: followup_answers.Asked | None = None,
) -> _Answer:
    """Apply the answer; returns the text to send back (if any) and whether a person must follow up. `offer`: the
    waitlist offer a YES answers; `asked`: the no-show follow-up or recall text a "1" or "3" answers."""
    source = f"sms:{reading.keyword}" if reading.carrier_keyword else "sms:patient"
    clinic = party.appointment.clinic if party.appointment else party.clinic
    clinic_name = clinic.name if clinic else party.office.name
    clinic_phone = display(clinic.phone) if clinic else ""
    language = party.patient.language if party.patient else reading.detected_language

    def say(
        kind: ReplyKind,
        appointment: Appointment | None = None,
        needs_person: bool = False,
        candidates: Sequence[Appointment] = (),
    ) -> _Answer:
        """The reply of `kind`; with `candidates`, the lettered which-appointment question, remembered."""
        text = reply_text(
            kind,
            language,
            clinic_name=clinic_name,
            clinic_phone=clinic_phone,
            when=_when(appointment, party) if appointment else "",
            choices=[_when(a, party) for a in candidates],
            action=reading.intent if candidates else Intent.CONFIRM,
            carrier_keyword=reading.carrier_keyword,
        )
        pending = {"intent": str(reading.intent), "appointment_ids": [a.id for a in candidates]} if candidates else None
        return _Answer(text, needs_person, pending)

    if reading.carrier_action == Intent.OPT_OUT or reading.intent == Intent.OPT_OUT:
        for patient in party.patients:  # Twilio blocks the number, whoever it belongs to
            consent.opt_out(db, patient, Channel.SMS, source, now)
        if reading.keyword == "CANCEL" and party.appointment is not None:
            party.appointment.staff_flag = CARRIER_CANCEL_FLAG
            return say(ReplyKind.OPTED_OUT, needs_person=True)
        return say(ReplyKind.OPTED_OUT)
    if reading.carrier_action == Intent.OPT_IN:
        for patient in party.patients:
            consent.opt_in(db, patient, Channel.SMS, source, now)
        if reading.intent == Intent.OPT_IN:
            return say(ReplyKind.OPTED_IN)
    if reading.intent == Intent.HELP:
        return say(ReplyKind.HELP)
    if offer is not None:
        taken = waitlist_answers.take(db, offer, now)
        return _Answer(taken.text, booked=taken.appointment_id)
    if asked is not None:
        followed = followup_answers.take(db, party.office, asked, reading.intent, now)
        return _Answer(followed.text, needs_person=followed.needs_person)
    if reading.intent not in _EFFECTS:
        return say(ReplyKind.NOT_UNDERSTOOD, needs_person=True)
    if party.appointment is None:
        if party.candidates:  # ask which, by letter; the inbound text waits for a person until the patient picks
            return say(ReplyKind.WHICH_APPOINTMENT, needs_person=True, candidates=party.candidates)
        return say(ReplyKind.NOT_UNDERSTOOD, needs_person=True)
    status, kind = _EFFECTS[reading.intent]
    try:
        booking.set_status(db, party.appointment, status, "patient:sms")
    except BookingError:  # e.g. "1" for an appointment staff already cancelled: a person should call
        return say(ReplyKind.NOT_UNDERSTOOD, needs_person=True)
    answer = say(kind, party.appointment)
    return replace(answer, follow_up=True) if reading.intent == Intent.RESCHEDULE else answer


def _when(appointment: Appointment, party: Party) -> str:
    return format_when(reminder_context(appointment, party.office))[2]
