"""Send reminder now: staff send an appointment's reminder text at once, from the schedule.

The text is the appointment's reminder (the office's template, the patient's link) sent as a staff text about
the appointment: it has no reminder row. So it never moves, retires or uses up a reminder the office's rules
planned. Those still go at their time, and the dispatcher's caps, which count planned reminders, do not skip
them because of it (moving the next planned reminder to now, as this once did, let the dispatcher's re-checks
skip it: over the daily cap, or a call "the patient can be reached by text", or wait for the morning).

It goes out only as a reminder would, and otherwise says what stops it: the patient's opt-out or missing
consent, no number that takes texts, the hours texts may go in the patient's zone (and when they open), the
sending number's carrier registration, and the office's caps on reminders a day and a week, which staff may
pass over (audited as "send-now-over-cap"). Like a staff text, the message row is written before Twilio is
called and Twilio's answer is recorded after (`conversations.staff_sms.record`); like a planned reminder, it goes
through the office's Messaging Service when it has one.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .conversations.delivery import callback_url
from .conversations.staff_sms import Draft
from .dispatcher.prepare import CAP_DAY
from .effective import TwilioConfig
from .local_time import abbreviation, clock, display
from .messaging.compose import TemplateRenderError
from .messaging.delivery import CONTACTED
from .models import (
    ACTIVE_STATUSES,
    Appointment,
    Channel,
    Direction,
    Message,
    MessageStatus,
    Office,
    StaffUser,
)
from .models.messages import REMINDER_TEXT
from .planning import patient_zone, window_of
from .registration.holds import text_hold
from .reminder_text import render_reminder
from .scheduling.timing import next_allowed
from .settings import Settings
from .telehealth.links import make_patient_link

CAP_WEEK = timedelta(days=7)


class CannotRemind(ValueError):
    """Why the text does not go now, in words for staff. `over_cap`: only the office's caps stop it, which staff
    may pass over. The reason never names the patient (it is flashed through the session cookie)."""

    def __init__(self, reason: str, *, over_cap: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.over_cap = over_cap


def reminders_sent(db: Session, patient_id: int, now: datetime) -> tuple[int, int]:
    """Reminders (planned ones and those sent by staff) that reached or are reaching the patient: in the cap's
    day, and in the last week."""
    sent = db.scalars(
        select(Message.created_at).where(
            Message.patient_id == patient_id,
            Message.direction == Direction.OUTBOUND,
            REMINDER_TEXT,
            Message.created_at >= now - CAP_WEEK,
            Message.status.in_(CONTACTED),
        )
    ).all()
    return sum(1 for at in sent if at >= now - CAP_DAY), len(sent)


def _hours(start: time, end: time) -> str:
    today = date.today()
    return f"{clock(datetime.combine(today, start))} to {clock(datetime.combine(today, end))}"


def _check_cap(db: Session, office: Office, appointment: Appointment, now: datetime) -> None:
    today, week = reminders_sent(db, appointment.patient_id, now)
    if today >= office.max_reminders_per_day:
        raise CannotRemind(
            f"the patient already had {today} reminder{'s' if today != 1 else ''} today, and the office allows "
            f"{office.max_reminders_per_day} a day",
            over_cap=True,
        )
    if week >= office.max_reminders_per_week:
        raise CannotRemind(
            f"the patient already had {week} reminders this week, and the office allows "
            f"{office.max_reminders_per_week} a week",
            over_cap=True,
        )


def draft(
    db: Session,
    settings: Settings,
    config: TwilioConfig,
    office: Office,
    appointment: Appointment,
    user: StaffUser,
    *,
    over_cap: bool,
    now: datetime,
) -> Draft:
    """Check, then write the message row (the caller commits it before sending); CannotRemind says why not."""
    patient, clinic = appointment.patient, appointment.clinic
    if appointment.status not in ACTIVE_STATUSES:
        raise CannotRemind(f"the appointment is {appointment.status}")
    if appointment.starts_at <= now:
        raise CannotRemind("the appointment has started")
    if patient.sms_opted_out_at is not None:
        since = display(patient.sms_opted_out_at, clinic.timezone, "date")
        raise CannotRemind(f"the patient opted out of texts on {since}; call them instead")
    if not patient.sms_consent:
        raise CannotRemind("the patient has not agreed to texts; record their consent on their page first")
    phone = patient.usable_phone(Channel.SMS)
    if phone is None:
        raise CannotRemind("the patient has no number that can receive texts")
    zone = patient_zone(patient, clinic)
    window = window_of(office)
    opens = next_allowed(now, zone, window)
    if opens > now:
        local = now.astimezone(zone)
        raise CannotRemind(
            f"it is {clock(local)} where the patient is ({abbreviation(local)}), and texts go from "
            f"{_hours(window.start, window.end)} the patient's time: the next moment is "
            f"{display(opens, str(zone), 'weekday-time')}; the planned reminders still go at their times"
        )
    sender = clinic.twilio_number or config.phone_number
    if not sender:
        raise CannotRemind("no Twilio number is configured to text from (TWILIO_PHONE_NUMBER)")
    if held := text_hold(db, office.id, sender):
        raise CannotRemind(held)
    passed_over = False
    try:
        _check_cap(db, office, appointment, now)
    except CannotRemind:
        if not over_cap:
            raise
        passed_over = True
    try:
        rendered = render_reminder(appointment, office, make_patient_link(db, settings, appointment))
    except TemplateRenderError as exc:
        raise CannotRemind(f"the office's reminder text cannot be written: {exc}") from None
    message = Message(
        office_id=office.id,
        patient_id=patient.id,
        appointment_id=appointment.id,
        direction=Direction.OUTBOUND,
        channel=Channel.SMS,
        to_number=phone.number,
        from_number=sender,
        body=rendered.body,
        status=MessageStatus.PENDING,
        num_segments=rendered.segments,
        encoding=rendered.encoding,
        sent_by_user_id=user.id,
    )
    db.add(message)
    db.flush()
    action = "send-now-over-cap" if passed_over else "send-now"
    audit.record(db, office.id, f"user:{user.id}", action, "appointment", appointment.id, message_id=message.id)
    return Draft(
        message.id, phone.number, sender, rendered.body, callback_url(config, message.id), config.messaging_service_sid
    )
