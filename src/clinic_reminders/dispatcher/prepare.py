"""Re-checking claimed reminders and writing their outbound messages before Twilio is called.

Between planning and sending, anything may have changed: the appointment was cancelled, the patient opted out,
the night began, another reminder already went out today. Each claimed reminder ends here either as a job to
send (with its message row committed), or planned again for later, or retired with a readable reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..conversations.delivery import callback_url
from ..effective import TwilioConfig
from ..models import (
    ACTIVE_STATUSES,
    Appointment,
    Channel,
    Direction,
    Message,
    MessageStatus,
    Office,
    Patient,
    Registration,
    Reminder,
    ReminderStatus,
    RuleCondition,
)
from ..planning import patient_zone, window_of
from ..registration.senders import hold_reason
from ..reminder_text import render_reminder
from ..scheduling.timing import next_allowed, seconds_left_in_window
from ..settings import Settings
from ..telehealth.links import patient_links
from .leases import release
from .pacing import Pacer, pace_key

# Twilio keeps a queued message for at most 10 h; we ask for less when the quiet-hours window closes sooner.
MAX_VALIDITY = 36_000
MIN_VALIDITY = 60
# How often a text held for carrier registration is looked at again (the registration watch also wakes held
# texts at once when a registration is approved).
REGISTRATION_RECHECK = timedelta(minutes=30)
# The office's "reminders a day" cap counts what went out in this much time: "one a day", with slack for a daily
# rule's drift.
CAP_DAY = timedelta(hours=20)
# Outbound statuses that mean "this patient was (or is being) contacted".
CONTACTED = (
    MessageStatus.PENDING,
    MessageStatus.QUEUED,
    MessageStatus.ACCEPTED,
    MessageStatus.SENDING,
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.READ,
    MessageStatus.RINGING,
    MessageStatus.IN_PROGRESS,
    MessageStatus.COMPLETED,
    MessageStatus.BUSY,
    MessageStatus.NO_ANSWER,
)


@dataclass(frozen=True)
class SendJob:
    reminder_id: int
    message_id: int
    channel: str
    to: str
    from_: str
    body: str  # the SMS text, or the TwiML URL for a call
    status_callback: str | None
    validity_period: int | None
    not_before: float  # monotonic time the sender's pacing allows it
    messaging_service_sid: str | None = None  # a text goes through the office's service (its A2P campaign)


@dataclass(frozen=True)
class _Ready:
    reminder: Reminder
    message: Message
    seconds_left: float  # until the quiet-hours window closes: bounds ValidityPeriod
    not_before: float


def load(db: Session, ids: list[int]) -> list[Reminder]:
    return list(
        db.scalars(
            select(Reminder)
            .where(Reminder.id.in_(ids))
            .options(
                selectinload(Reminder.rule),
                selectinload(Reminder.appointment).selectinload(Appointment.patient).selectinload(Patient.phones),
                selectinload(Reminder.appointment).selectinload(Appointment.clinic),
                selectinload(Reminder.appointment).selectinload(Appointment.provider),
            )
            .order_by(Reminder.due_at, Reminder.id)
        )
    )


def _retire(reminder: Reminder, status: ReminderStatus, reason: str) -> None:
    reminder.status = status
    reminder.reason = reason
    release(reminder)


def _defer(reminder: Reminder, until: datetime, reason: str) -> None:
    reminder.status = ReminderStatus.PLANNED
    reminder.due_at = until
    reminder.reason = reason
    release(reminder)


class Preparer:
    """Turns one batch of claimed reminders into send jobs, inside one transaction."""

    def __init__(self, db: Session, settings: Settings, config: TwilioConfig, pacer: Pacer, now: datetime) -> None:
        self.db = db
        self.settings = settings
        self.config = config
        self.pacer = pacer
        self.now = now
        self._offices: dict[int, Office] = {}
        self._registrations: dict[int, list[Registration]] = {}
        self._links: dict[int, str] = {}
        self._day_counts: Counter[int] = Counter()
        self._week_counts: Counter[int] = Counter()

    def run(self, reminders: list[Reminder]) -> list[SendJob]:
        """Re-check each reminder; new message rows are written in one flush, before any is sent."""
        self._count_recent_contacts({r.appointment.patient_id for r in reminders})
        pending = {
            m.reminder_id: m
            for m in self.db.scalars(
                select(Message).where(
                    Message.reminder_id.in_([r.id for r in reminders]), Message.status == MessageStatus.PENDING
                )
            )
        }
        self._links = patient_links(
            self.db,
            self.settings,
            [r.appointment for r in reminders if r.channel == Channel.SMS and r.id not in pending],
        )
        ready: list[_Ready] = []
        with self.db.no_autoflush:
            for reminder in reminders:
                prepared = self._prepare(reminder, pending.get(reminder.id))
                if prepared is not None:
                    ready.append(prepared)
        self.db.flush()  # message ids for the jobs
        return [self._job(item) for item in ready]

    def _job(self, ready: _Ready) -> SendJob:
        reminder, message = ready.reminder, ready.message
        sms = reminder.channel == Channel.SMS
        return SendJob(
            reminder_id=reminder.id,
            message_id=message.id,
            channel=reminder.channel,
            to=message.to_number,
            from_=message.from_number,
            body=message.body if sms else self._call_url(message),
            status_callback=callback_url(self.config, message.id),
            validity_period=max(MIN_VALIDITY, min(MAX_VALIDITY, int(ready.seconds_left))) if sms else None,
            not_before=ready.not_before,
            messaging_service_sid=self.config.messaging_service_sid if sms else None,
        )

    def _office(self, office_id: int) -> Office:
        if office_id not in self._offices:
            office = self.db.get(Office, office_id)
            assert office is not None
            self._offices[office_id] = office
        return self._offices[office_id]

    def _text_hold(self, office_id: int, sender: str) -> str | None:
        """Why carriers would block a text from `sender` now (registration/senders.py), or None."""
        if office_id not in self._registrations:
            self._registrations[office_id] = list(
                self.db.scalars(select(Registration).where(Registration.office_id == office_id))
            )
        return hold_reason(sender, self._registrations[office_id])

    def _sms_sender(self, reminder: Reminder) -> str | None:
        return reminder.appointment.clinic.twilio_number or self.config.phone_number

    def _count_recent_contacts(self, patient_ids: set[int]) -> None:
        since = self.now - timedelta(days=7)
        rows = self.db.execute(
            select(Message.patient_id, Message.created_at).where(
                Message.patient_id.in_(patient_ids),
                Message.direction == Direction.OUTBOUND,
                Message.reminder_id.is_not(None),
                Message.created_at >= since,
                Message.status.in_(CONTACTED),
            )
        )
        for patient_id, created_at in rows:
            assert patient_id is not None
            self._week_counts[patient_id] += 1
            if created_at >= self.now - CAP_DAY:
                self._day_counts[patient_id] += 1

    def _prepare(self, reminder: Reminder, pending: Message | None) -> _Ready | None:
        appointment = reminder.appointment
        patient, clinic = appointment.patient, appointment.clinic
        office = self._office(reminder.office_id)

        def stop(status: ReminderStatus, reason: str) -> None:
            _retire(reminder, status, reason)
            if pending is not None:
                pending.status = MessageStatus.CANCELED
                pending.error_message = reason

        if appointment.status not in ACTIVE_STATUSES:
            stop(ReminderStatus.CANCELLED, f"appointment is {appointment.status}")
            return None
        if appointment.starts_at <= self.now:
            stop(ReminderStatus.MISSED, "the appointment started before the reminder could go out")
            return None
        if appointment.status == "confirmed" and reminder.rule.skip_if_confirmed:
            stop(ReminderStatus.SKIPPED, "already confirmed")
            return None
        if not patient.can_receive(reminder.channel):
            stop(ReminderStatus.SKIPPED, f"patient has no consent for {reminder.channel} or opted out")
            return None
        if reason := self._condition_unmet(reminder):
            stop(ReminderStatus.SKIPPED, reason)
            return None
        phone = patient.usable_phone(reminder.channel)
        if phone is None:
            stop(ReminderStatus.SKIPPED, f"no phone number that can receive {reminder.channel}")
            return None

        zone = patient_zone(patient, clinic)
        window = window_of(office)
        opens = next_allowed(self.now, zone, window)
        left = seconds_left_in_window(self.now, zone, window)
        if opens > self.now or left < MIN_VALIDITY:
            later = (
                opens if opens > self.now else next_allowed(self.now + timedelta(seconds=MIN_VALIDITY), zone, window)
            )
            if later >= appointment.starts_at:
                stop(ReminderStatus.MISSED, "no moment inside the allowed hours before the appointment")
            else:
                _defer(reminder, later, "outside the allowed hours")
            return None
        if pending is None and self._day_counts[patient.id] >= office.max_reminders_per_day:
            stop(ReminderStatus.SKIPPED, f"patient already had {office.max_reminders_per_day} reminder(s) today")
            return None
        if pending is None and self._week_counts[patient.id] >= office.max_reminders_per_week:
            stop(ReminderStatus.SKIPPED, f"patient already had {office.max_reminders_per_week} reminders this week")
            return None

        # A call shows the clinic's own number as caller ID: it must be verified at Twilio.
        sender = self._sms_sender(reminder) if reminder.channel == Channel.SMS else clinic.phone
        if not sender:
            _defer(reminder, self.now + timedelta(minutes=15), "no sending number configured (TWILIO_PHONE_NUMBER)")
            return None
        if reminder.channel == Channel.SMS and (held := self._text_hold(reminder.office_id, sender)):
            _defer(reminder, self.now + REGISTRATION_RECHECK, held)  # never into a known block; nothing is lost
            return None

        if pending is None:
            pending = self._new_message(reminder, phone.number, sender, zone)
            if pending is None:
                _defer(reminder, self.now + timedelta(minutes=15), "no public URL configured for call instructions")
                return None
        paced_by = pace_key(reminder.channel, sender)
        not_before = self.pacer.reserve(paced_by, pending.num_segments or 1)
        if not_before > self.pacer.clock() + min(30.0, self.settings.lease_seconds / 4):
            # The sender's pace is the bottleneck: hand the reminder back rather than hold its lease for long.
            _defer(reminder, self.now + timedelta(seconds=not_before - self.pacer.clock()), "paced")
            self.pacer.cancel(paced_by, pending.num_segments or 1)
            return None

        reminder.attempts += 1
        self._day_counts[patient.id] += 1
        self._week_counts[patient.id] += 1
        return _Ready(reminder, pending, left, not_before)

    def _condition_unmet(self, reminder: Reminder) -> str | None:
        condition = reminder.rule.condition
        if condition == RuleCondition.ALWAYS:
            return None
        appointment = reminder.appointment
        answered = self.db.scalar(
            select(Message.id)
            .where(Message.appointment_id == appointment.id, Message.direction == Direction.INBOUND)
            .limit(1)
        )
        if answered is not None:
            return "the patient already answered"
        if condition == RuleCondition.UNANSWERED_AND_NO_SMS:
            has_mobile = appointment.patient.usable_phone(Channel.SMS) is not None
            sms_failed = self.db.scalar(
                select(Message.id)
                .where(
                    Message.appointment_id == appointment.id,
                    Message.channel == Channel.SMS,
                    Message.direction == Direction.OUTBOUND,
                    Message.status.in_((MessageStatus.FAILED, MessageStatus.UNDELIVERED)),
                )
                .limit(1)
            )
            sender = self._sms_sender(reminder)
            texts_held = sender is not None and self._text_hold(reminder.office_id, sender) is not None
            if has_mobile and sms_failed is None and appointment.patient.can_receive(Channel.SMS) and not texts_held:
                return "the patient can be reached by text"
        return None

    def _new_message(self, reminder: Reminder, to: str, sender: str, zone: ZoneInfo) -> Message | None:
        appointment = reminder.appointment
        message = Message(
            office_id=reminder.office_id,
            patient_id=appointment.patient_id,
            appointment_id=appointment.id,
            reminder_id=reminder.id,
            direction=Direction.OUTBOUND,
            channel=reminder.channel,
            to_number=to,
            from_number=sender,
            status=MessageStatus.PENDING,
        )
        if reminder.channel == Channel.SMS:
            rendered = render_reminder(appointment, self._office(reminder.office_id), self._links.get(appointment.id))
            message.body = rendered.body
            message.num_segments = rendered.segments
            message.encoding = rendered.encoding
        elif not self.config.public_url:
            return None
        else:
            message.body = "(voice reminder call)"
        self.db.add(message)
        return message

    def _call_url(self, message: Message) -> str:
        url = self.config.url(f"/app_confirm?call={message.id}")
        assert url is not None
        return url
