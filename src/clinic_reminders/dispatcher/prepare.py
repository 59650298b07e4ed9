"""Re-checking claimed reminders and writing their outbound messages before Twilio is called.

Between planning and sending, anything may have changed: the appointment was cancelled, the patient opted out,
the night began, another reminder already went out today. Each claimed reminder ends here either as a job to
send (with its message row committed), or planned again for later, or retired with a readable reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .. import reminder_states
from ..conversations.delivery import callback_url
from ..effective import TwilioConfig
from ..messaging.delivery import CONTACTED, FAILED
from ..models import (
    Appointment,
    Channel,
    Direction,
    Message,
    MessageStatus,
    Office,
    Patient,
    PatientPhone,
    Registration,
    Reminder,
    ReminderStatus,
    RuleCondition,
)
from ..planning import patient_zone, rule_facts, window_of
from ..registration.senders import hold_reason
from ..reminder_text import render_reminder
from ..scheduling.plan import AppointmentFacts, NotWanted, applies, at_next_allowed
from ..scheduling.timing import seconds_left_in_window
from ..settings import Settings
from ..telehealth.links import patient_links
from .pacing import Pacer, pace_key

# Twilio keeps a queued message for at most 10 h; we ask for less when the quiet-hours window closes sooner.
MAX_VALIDITY = 36_000
MIN_VALIDITY = 60
# How often a text held for carrier registration is looked at again (the registration watch also wakes held
# texts at once when a registration is approved).
REGISTRATION_RECHECK = timedelta(minutes=30)
# How often a reminder waiting for a missing setting (a sending number, the public URL) is looked at again.
SETUP_RECHECK = timedelta(minutes=15)
# The office's "reminders a day" cap counts what went out in this much time: "one a day", with slack for a daily
# rule's drift.
CAP_DAY = timedelta(hours=20)


@dataclass(frozen=True)
class SendJob:
    reminder_id: int
    office_id: int  # whose Twilio account sends it
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


class Preparer:
    """Turns one batch of claimed reminders into send jobs, inside one transaction."""

    def __init__(
        self, db: Session, settings: Settings, config: Callable[[int], TwilioConfig], pacer: Pacer, now: datetime
    ) -> None:
        """`config`: each office's Twilio configuration, by office id."""
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
        sms, config = reminder.channel == Channel.SMS, self.config(reminder.office_id)
        return SendJob(
            reminder_id=reminder.id,
            office_id=reminder.office_id,
            message_id=message.id,
            channel=reminder.channel,
            to=message.to_number,
            from_=message.from_number,
            body=message.body if sms else self._call_url(config, message),
            status_callback=callback_url(config, message.id),
            validity_period=max(MIN_VALIDITY, min(MAX_VALIDITY, int(ready.seconds_left))) if sms else None,
            not_before=ready.not_before,
            messaging_service_sid=config.messaging_service_sid if sms else None,
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
        return reminder.appointment.clinic.twilio_number or self.config(reminder.office_id).phone_number

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
        """Does the reminder still apply (`scheduling.plan`, then the patient's consent, the rule's condition and a
        number to reach), may it go now, and does the office's cap allow it? A job, or None once it is retired or
        deferred."""
        appointment = reminder.appointment
        patient, clinic = appointment.patient, appointment.clinic
        office = self._office(reminder.office_id)
        zone, window = patient_zone(patient, clinic), window_of(office)
        facts = AppointmentFacts(
            starts_at=appointment.starts_at,
            status=appointment.status,
            kind=appointment.kind,
            clinic_zone=ZoneInfo(clinic.timezone),
            patient_zone=zone,
        )
        phone = patient.usable_phone(reminder.channel)
        left = seconds_left_in_window(self.now, zone, window)
        # A window about to close leaves Twilio no time to deliver (ValidityPeriod): wait for the next one.
        earliest = self.now + timedelta(seconds=MIN_VALIDITY) if 0 < left < MIN_VALIDITY else self.now
        when = (
            applies(facts, rule_facts(reminder.rule), self.now)
            or self._cannot_reach(reminder, phone)
            or at_next_allowed(facts, window, earliest)
        )
        if isinstance(when, NotWanted):
            self._stop(reminder, pending, when)
            return None
        if when.due_at > self.now:
            self._defer(reminder, when.due_at, "outside the allowed hours")
            return None
        if pending is None and (over := self._over_cap(patient.id, office)) is not None:
            self._stop(reminder, pending, over)
            return None
        assert phone is not None
        return self._ready(reminder, pending, phone.number, zone, left)

    def _stop(self, reminder: Reminder, pending: Message | None, why: NotWanted) -> None:
        reminder_states.move(self.db, reminder, why.status, why.reason)
        if pending is not None:
            pending.status = MessageStatus.CANCELED
            pending.error_message = why.reason

    def _defer(self, reminder: Reminder, until: datetime, reason: str) -> None:
        reminder_states.move(self.db, reminder, ReminderStatus.PLANNED, reason, due_at=until)

    def _cannot_reach(self, reminder: Reminder, phone: PatientPhone | None) -> NotWanted | None:
        if not reminder.appointment.patient.can_receive(reminder.channel):
            return NotWanted(ReminderStatus.SKIPPED, f"patient has no consent for {reminder.channel} or opted out")
        if reason := self._condition_unmet(reminder):
            return NotWanted(ReminderStatus.SKIPPED, reason)
        if phone is None:
            return NotWanted(ReminderStatus.SKIPPED, f"no phone number that can receive {reminder.channel}")
        return None

    def _over_cap(self, patient_id: int, office: Office) -> NotWanted | None:
        if self._day_counts[patient_id] >= office.max_reminders_per_day:
            reason = f"patient already had {office.max_reminders_per_day} reminder(s) today"
            return NotWanted(ReminderStatus.SKIPPED, reason)
        if self._week_counts[patient_id] >= office.max_reminders_per_week:
            reason = f"patient already had {office.max_reminders_per_week} reminders this week"
            return NotWanted(ReminderStatus.SKIPPED, reason)
        return None

    def _ready(
        self, reminder: Reminder, pending: Message | None, to: str, zone: ZoneInfo, left: float
    ) -> _Ready | None:
        """The sender's part: a number to send from that carriers take, the message row, and the sender's pace."""
        # A call shows the clinic's own number as caller ID: it must be verified at Twilio.
        sms = reminder.channel == Channel.SMS
        sender = self._sms_sender(reminder) if sms else reminder.appointment.clinic.phone
        if not sender:
            self._defer(reminder, self.now + SETUP_RECHECK, "no sending number configured (TWILIO_PHONE_NUMBER)")
            return None
        if sms and (held := self._text_hold(reminder.office_id, sender)):
            self._defer(reminder, self.now + REGISTRATION_RECHECK, held)  # never into a known block
            return None
        if pending is None:
            pending = self._new_message(reminder, to, sender, zone)
            if pending is None:
                self._defer(reminder, self.now + SETUP_RECHECK, "no public URL configured for call instructions")
                return None
        paced_by = pace_key(reminder.channel, sender, self.config(reminder.office_id).account_sid)
        not_before = self.pacer.reserve(paced_by, pending.num_segments or 1)
        if not_before > self.pacer.clock() + min(30.0, self.settings.lease_seconds / 4):
            # The sender's pace is the bottleneck: hand the reminder back rather than hold its lease for long.
            wait = timedelta(seconds=not_before - self.pacer.clock())
            self.pacer.cancel(paced_by, pending.num_segments or 1)
            self._defer(reminder, self.now + wait, "paced")
            return None
        reminder.attempts += 1
        patient_id = reminder.appointment.patient_id
        self._day_counts[patient_id] += 1
        self._week_counts[patient_id] += 1
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
                    Message.status.in_(FAILED),
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
        elif not self.config(reminder.office_id).public_url:
            return None
        else:
            message.body = "(voice reminder call)"
        self.db.add(message)
        return message

    def _call_url(self, config: TwilioConfig, message: Message) -> str:
        url = config.url(f"/app_confirm?call={message.id}")
        assert url is not None
        return url
