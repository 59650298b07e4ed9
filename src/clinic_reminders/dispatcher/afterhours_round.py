"""The after-hours auto-reply's part of each dispatcher round: read the patients' answers from the outbox, and reply
"we are closed, we will call you" to those that reached the inbox (not understood as 1, 2, 3, STOP...) while
their clinic was closed, at most once every 12 hours per patient. Nothing here hooks into the inbound path: the
text reached the inbox as any other did, and the reply goes through `outreach` like the office's other texts.

Each inbound text is looked at once (`auto_replies.inbound_id` is unique), in the order the outbox tells; readers
of one office take turns (the first statement of a read writes the office's settings row, which holds it until
the read commits). On PostgreSQL two transactions can commit their events out of id order, so every read goes
`REREAD` ids behind the cursor again, as `waitlist.freed` does. The round's clock is "now": the clinic was closed
when the text was read, a second after it came.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..afterhours.config import calendar, hours_of
from ..afterhours.texts import reply_text
from ..conversations.staff_sms import Draft
from ..effective import TwilioConfig
from ..messaging.replies import Intent
from ..models import (
    AfterHoursSettings,
    Appointment,
    AutoReply,
    AutoReplyOutcome,
    Channel,
    Clinic,
    Direction,
    Event,
    EventType,
    Message,
    MessageStatus,
    Office,
    Patient,
    utcnow,
)
from ..registration.holds import text_hold
from . import outreach
from .text_round import TextRound

REREAD = 500  # ids read again behind the cursor
BATCH = 500  # new events per read
SETTLED = timedelta(minutes=1)  # after the cursor last moved, re-read even when nothing new came
QUIET_FOR = timedelta(hours=12)  # one auto-reply per patient in this long
_Out = AutoReplyOutcome


class AfterHoursRound(TextRound):
    def prepare(
        self, db: Session, config: Callable[[int], TwilioConfig | None], now: datetime
    ) -> list[tuple[int, Draft]]:
        drafts: list[tuple[int, Draft]] = []
        for office_id in list(db.scalars(select(AfterHoursSettings.office_id).where(AfterHoursSettings.enabled))):
            if (theirs := config(office_id)) is not None:  # else its texts are read once it can send
                drafts += [(office_id, d) for d in _read(db, office_id, theirs, now)]
        return drafts

    def written(self, db: Session, before: datetime) -> list[int]:
        ids = db.scalars(
            select(AutoReply.message_id)
            .join(Message, Message.id == AutoReply.message_id)
            .where(AutoReply.outcome == _Out.REPLIED, Message.status == MessageStatus.PENDING)
        )
        return [i for i in ids if i is not None]

    def failed(self, db: Session, message_ids: Sequence[int], now: datetime) -> None:
        """A reply that did not go does not count: the patient's next text may get one."""
        if message_ids:
            db.execute(
                update(AutoReply)
                .where(AutoReply.message_id.in_(message_ids))
                .values(outcome=_Out.NOT_TEXTED)
                .execution_options(synchronize_session=False)
            )


def _read(db: Session, office_id: int, config: TwilioConfig, now: datetime) -> list[Draft]:
    seen = db.get(AfterHoursSettings, office_id)
    assert seen is not None
    newest = db.scalar(select(func.max(Event.id)).where(Event.office_id == office_id)) or 0
    if newest <= seen.event_cursor and seen.updated_at < utcnow() - SETTLED:
        return []  # nothing new, and the last new events are too old for a late commit to be behind them
    db.execute(  # readers of one office take turns; `updated_at` tells when the cursor last moved
        update(AfterHoursSettings)
        .where(AfterHoursSettings.office_id == office_id)
        .values(event_cursor=AfterHoursSettings.event_cursor, updated_at=AfterHoursSettings.updated_at)
        .execution_options(synchronize_session=False)
    )
    row = db.get(AfterHoursSettings, office_id, populate_existing=True)
    office = db.get(Office, office_id)
    assert row is not None and office is not None
    found = list(
        db.scalars(
            select(Event)
            .where(
                Event.office_id == office_id,
                Event.id > max(row.events_from, row.event_cursor - REREAD),
                Event.type == EventType.PATIENT_ANSWERED,
            )
            .order_by(Event.id)
            .limit(REREAD + BATCH)
        )
    )
    if new := [e.id for e in found if e.id > row.event_cursor]:
        row.event_cursor = new[-1]
    # Only texts that reached the inbox: those understood as an answer (1, 2, 3, STOP, HELP...) were answered.
    inbox = [
        e.message_id
        for e in found
        if e.message_id is not None
        and e.payload.get("channel") == Channel.SMS
        and e.payload.get("interpretation") == Intent.UNKNOWN
    ]
    looked_at = set(db.scalars(select(AutoReply.inbound_id).where(AutoReply.inbound_id.in_(inbox))))
    drafts = []
    for message_id in inbox:
        inbound = db.get(Message, message_id)
        if message_id in looked_at or inbound is None or inbound.direction != Direction.INBOUND:
            continue
        outcome, draft = _answer(db, office, row, config, inbound, now)
        db.add(
            AutoReply(
                office_id=office_id,
                inbound_id=inbound.id,
                patient_id=inbound.patient_id,
                number=inbound.from_number,
                outcome=outcome,
                message_id=draft.message_id if draft else None,
                created_at=now,
            )
        )
        db.flush()  # the next text of the same patient sees this one's reply
        if draft is not None:
            drafts.append(draft)
    return drafts


def _answer(
    db: Session, office: Office, row: AfterHoursSettings, config: TwilioConfig, inbound: Message, now: datetime
) -> tuple[AutoReplyOutcome, Draft | None]:
    patient = db.get(Patient, inbound.patient_id) if inbound.patient_id is not None else None
    clinic = _clinic_of(db, office, inbound)
    hours = hours_of(db, office.id).get(clinic.id) if clinic is not None else None
    if clinic is None or not hours:
        return _Out.NOT_TEXTED, None  # no opening hours known: whether it is closed cannot be told
    if calendar(row, clinic, hours).is_open(now):
        return _Out.OPEN, None
    same = AutoReply.patient_id == patient.id if patient is not None else AutoReply.number == inbound.from_number
    recent = select(AutoReply.id).where(
        AutoReply.office_id == office.id,
        AutoReply.outcome == _Out.REPLIED,
        AutoReply.created_at > now - QUIET_FOR,
        same,
    )
    if db.scalar(recent.limit(1)) is not None:
        return _Out.RECENT, None
    if patient is None or text_hold(db, office.id, inbound.to_number) is not None:
        return _Out.NOT_TEXTED, None
    reach = outreach.reachable(patient, outreach.Sender(inbound.to_number))
    if isinstance(reach, str):
        return _Out.NOT_TEXTED, None
    phone = next((p for p in patient.phones if p.number == inbound.from_number), reach.phone)
    to = outreach.Reachable(phone, inbound.to_number)  # the reply goes to the number that texted, from the one texted
    body = reply_text(row.texts, patient.language, clinic.name)
    return _Out.REPLIED, outreach.write(db, office, config, patient, to, body)


def _clinic_of(db: Session, office: Office, inbound: Message) -> Clinic | None:
    """The clinic whose number was texted; else the one of the appointment the text was about, or of the patient's
    latest visit; else the office's only clinic."""
    active = (Clinic.office_id == office.id) & Clinic.active.is_(True)
    clinic = db.scalar(select(Clinic).where(active, Clinic.twilio_number == inbound.to_number).limit(1))
    if clinic is None and inbound.patient_id is not None:
        about = (
            Appointment.id == inbound.appointment_id
            if inbound.appointment_id
            else Appointment.patient_id == inbound.patient_id
        )
        latest = select(Appointment.clinic_id).where(Appointment.office_id == office.id, about)
        clinic_id = db.scalar(latest.order_by(Appointment.starts_at.desc()).limit(1))
        clinic = db.get(Clinic, clinic_id) if clinic_id is not None else None
    if clinic is None:
        only = list(db.scalars(select(Clinic).where(active).limit(2)))
        clinic = only[0] if len(only) == 1 else None
    return clinic
