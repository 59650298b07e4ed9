"""A month of the demo office's past, and today's reminders already under way, so that `reminders demo` looks like
a practice that has used the service for a while: the dashboard shows trends, the schedule and the inbox show
reminders planned, sent and answered.

Rows are written as the service itself would have left them (reminders sent with their texts and Twilio's
prices, patients' answers with the automatic replies, cancellations, no-shows, a few opt-outs), directly rather
than through the dispatcher: nothing here is sent again. Every name and number is the demo's fictional ones.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .messaging.reply_texts import ReplyKind, reply_text
from .models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    Channel,
    Clinic,
    ConsentAction,
    ConsentEvent,
    Direction,
    Message,
    MessageStatus,
    Office,
    Patient,
    PhoneKind,
    Provider,
    Reminder,
    ReminderRule,
    ReminderStatus,
)
from .planning import rule_facts
from .scheduling.timing import due_at

SMS_PRICE = Decimal("0.0083")
CALL_PRICE = Decimal("0.0140")
REMINDER_TEXT = {
    "en": "{first}, reminder: {clinic} on {when}. Reply 1 to confirm, 2 to cancel, 3 to reschedule. STOP to opt out",
    "es": "{first}, recordatorio: {clinic} el {when}. Responda 1 confirmar, 2 cancelar, 3 cambiar. STOP para salir",
}
# (what the patient texts, how it is read, what it does, the reply); the first is by far the most common
ANSWERS: dict[str, tuple[tuple[str, str, AppointmentStatus | None, ReplyKind], ...]] = {
    "en": (
        ("1", "confirm", AppointmentStatus.CONFIRMED, ReplyKind.CONFIRMED),
        ("Yes, see you then", "confirm", AppointmentStatus.CONFIRMED, ReplyKind.CONFIRMED),
        ("2", "cancel", AppointmentStatus.CANCELLED, ReplyKind.CANCELLED),
        ("3", "reschedule", AppointmentStatus.RESCHEDULE_REQUESTED, ReplyKind.RESCHEDULE_REQUESTED),
        ("Can I bring my daughter to the same visit?", "unknown", None, ReplyKind.NOT_UNDERSTOOD),
    ),
    "es": (
        ("1", "confirm", AppointmentStatus.CONFIRMED, ReplyKind.CONFIRMED),
        ("Si, alli estare", "confirm", AppointmentStatus.CONFIRMED, ReplyKind.CONFIRMED),
        ("2", "cancel", AppointmentStatus.CANCELLED, ReplyKind.CANCELLED),
        ("no puedo ese dia", "reschedule", AppointmentStatus.RESCHEDULE_REQUESTED, ReplyKind.RESCHEDULE_REQUESTED),
        ("Tengo que llevar algo?", "unknown", None, ReplyKind.NOT_UNDERSTOOD),
    ),
}
ANSWER_WEIGHTS = (70, 12, 9, 6, 3)


@dataclass
class _Office:
    office: Office
    number: str
    rules: list[ReminderRule]
    rng: random.Random
    now: datetime
    # answers given first to visits still ahead, so that the inbox always has some for a person: a question,
    # then a request for a new time (indexes into ANSWERS)
    firsts: list[int] = field(default_factory=lambda: [4, 3])

    def waiting(self, appointment: Appointment) -> bool:
        """Answers about visits ahead (or of today) wait for staff; older ones were dealt with long ago."""
        return appointment.starts_at > self.now - timedelta(hours=12)

    def texted(self, patient: Patient) -> bool:
        return bool(patient.phones) and patient.phones[0].kind == PhoneKind.MOBILE


def add(db: Session, office: Office, now: datetime, days: int, rng: random.Random) -> None:
    """`days` of past visits, and today's and tomorrow's reminders sent (most answered), before `now`."""
    rules = list(db.scalars(select(ReminderRule).where(ReminderRule.office_id == office.id)))
    ctx = _Office(office, office.twilio_phone_number or "+15005550006", rules, rng, now)
    clinics = list(db.scalars(select(Clinic).where(Clinic.office_id == office.id).order_by(Clinic.id)))
    patients = list(
        db.scalars(select(Patient).where(Patient.office_id == office.id).options(selectinload(Patient.phones)))
    )
    providers = list(db.scalars(select(Provider).where(Provider.office_id == office.id)))
    for back in range(days, 0, -1):
        for clinic in clinics:
            day = (now - timedelta(days=back)).astimezone(ZoneInfo(clinic.timezone)).date()
            if day.weekday() >= 5:
                continue
            staff = [p for p in providers if p.clinic_id == clinic.id]
            progress = 1 - back / days  # reminders catch on: more answers as the month goes
            for _ in range(rng.randrange(7, 13) - (2 if day.weekday() == 4 else 0)):
                start = datetime.combine(day, time(rng.randrange(8, 17), rng.choice((0, 15, 30, 45))))
                starts_at = start.replace(tzinfo=ZoneInfo(clinic.timezone)).astimezone(UTC)
                _past_visit(db, ctx, clinic, rng.choice(staff), rng.choice(patients), starts_at, progress)
    _opt_outs(db, ctx, patients, now, days)
    _under_way(db, ctx, now)
    _from_a_stranger(db, ctx, now - timedelta(minutes=25))


def _past_visit(
    db: Session, ctx: _Office, clinic: Clinic, provider: Provider, patient: Patient, starts_at: datetime, p: float
) -> None:
    rng = ctx.rng
    appointment = Appointment(
        office_id=ctx.office.id,
        clinic_id=clinic.id,
        provider_id=provider.id,
        patient_id=patient.id,
        starts_at=starts_at,
        duration_minutes=rng.choice((15, 20, 30, 30, 45)),
        kind=AppointmentKind.TELEHEALTH if rng.random() < 0.12 else AppointmentKind.IN_PERSON,
        status=AppointmentStatus.COMPLETED,
        status_changed_at=starts_at,
        status_changed_by="staff",
    )
    db.add(appointment)
    db.flush()
    confirmed = _remind(db, ctx, appointment, patient, clinic, answer_rate=0.55 + 0.25 * p, upto=starts_at)
    if appointment.status in (AppointmentStatus.CANCELLED, AppointmentStatus.RESCHEDULE_REQUESTED):
        appointment.status = AppointmentStatus.CANCELLED  # staff moved the visit to another day
    elif rng.random() < (0.04 if confirmed else 0.16 - 0.06 * p):
        appointment.status = AppointmentStatus.NO_SHOW
    else:
        appointment.status = AppointmentStatus.COMPLETED


def _remind(
    db: Session,
    ctx: _Office,
    appointment: Appointment,
    patient: Patient,
    clinic: Clinic,
    *,
    answer_rate: float,
    upto: datetime,
    answers: bool = True,
) -> bool:
    """Each rule's reminder of `appointment` that was due before `upto`, as sent; the patient's answer to the
    first text with probability `answer_rate`. Returns whether the patient confirmed."""
    rng, zone = ctx.rng, ZoneInfo(clinic.timezone)
    confirmed = answered = False
    for rule in sorted(ctx.rules, key=lambda r: _rule_due(r, appointment, zone)):
        when = _rule_due(rule, appointment, zone) + timedelta(seconds=rng.randrange(5, 90))
        if when >= upto:
            continue
        # texts for mobiles; the call for a landline (or nobody answered); nothing more once confirmed
        wanted = ctx.texted(patient) if rule.channel == Channel.SMS else not ctx.texted(patient) and not answered
        sent = wanted and not (confirmed and rule.skip_if_confirmed)
        status = ReminderStatus.SENT if sent else ReminderStatus.SKIPPED
        reminder = Reminder(
            office_id=ctx.office.id,
            appointment_id=appointment.id,
            rule_id=rule.id,
            channel=rule.channel,
            due_at=when,
            planned_for=appointment.starts_at,
            status=status,
            attempts=1 if status == ReminderStatus.SENT else 0,
            created_at=when - timedelta(days=5),
            updated_at=when,
        )
        db.add(reminder)
        db.flush()
        if status != ReminderStatus.SENT:
            continue
        delivered = _sent(db, ctx, appointment, patient, clinic, reminder, when)
        if delivered and answers and not answered and rng.random() < answer_rate:
            answered = True
            confirmed = _answer(db, ctx, appointment, patient, clinic, when + timedelta(minutes=rng.randrange(2, 240)))
    return confirmed


def _rule_due(rule: ReminderRule, appointment: Appointment, zone: ZoneInfo) -> datetime:
    """When the rule's reminder of the appointment was due (the planner's time, before pacing)."""
    return due_at(rule_facts(rule).timing, appointment.starts_at, zone)


def _sent(
    db: Session, ctx: _Office, appt: Appointment, patient: Patient, clinic: Clinic, reminder: Reminder, at: datetime
) -> bool:
    roll = ctx.rng.random()
    status, code = ("delivered", None) if roll < 0.93 else ("undelivered", 30003) if roll < 0.98 else ("failed", 30005)
    voice = reminder.channel == Channel.VOICE
    when = appt.starts_at.astimezone(ZoneInfo(clinic.timezone)).strftime("%a %b %d at %I:%M %p").replace(" 0", " ")
    language = patient.language if patient.language in REMINDER_TEXT else "en"
    body = REMINDER_TEXT[language].format(first=patient.first_name, clinic=clinic.name, when=when)
    db.add(
        Message(
            office_id=ctx.office.id,
            patient_id=patient.id,
            appointment_id=appt.id,
            reminder_id=reminder.id,
            direction=Direction.OUTBOUND,
            channel=reminder.channel,
            to_number=patient.phones[0].number,
            from_number=ctx.number,
            body="" if voice else body,
            status=(MessageStatus.COMPLETED if code is None else MessageStatus.NO_ANSWER) if voice else status,
            error_code=None if voice else code,
            error_message=None if code is None or voice else "Unreachable destination handset",
            num_segments=None if voice else (2 if len(body) > 160 else 1),
            price=CALL_PRICE if voice else SMS_PRICE * (2 if len(body) > 160 else 1),
            price_unit="USD",
            created_at=at,
            updated_at=at + timedelta(seconds=4),
        )
    )
    return code is None and not voice


def _answer(db: Session, ctx: _Office, appt: Appointment, patient: Patient, clinic: Clinic, at: datetime) -> bool:
    language = patient.language if patient.language in ANSWERS else "en"
    if ctx.waiting(appt) and ctx.firsts:
        body, meaning, status, kind = ANSWERS[language][ctx.firsts.pop(0)]
    else:
        body, meaning, status, kind = ctx.rng.choices(ANSWERS[language], weights=ANSWER_WEIGHTS)[0]
    common = {"office_id": ctx.office.id, "patient_id": patient.id, "appointment_id": appt.id, "channel": Channel.SMS}
    db.add(
        Message(
            **common,
            direction=Direction.INBOUND,
            to_number=ctx.number,
            from_number=patient.phones[0].number,
            body=body,
            status=MessageStatus.RECEIVED,
            num_segments=1,
            interpretation=meaning,
            needs_person=status in (None, AppointmentStatus.RESCHEDULE_REQUESTED) and ctx.waiting(appt),
            unread=ctx.waiting(appt) and ctx.rng.random() < 0.6,
            created_at=at,
            updated_at=at,
        )
    )
    reply = reply_text(kind, language, clinic_name=clinic.name, clinic_phone=clinic.phone)
    if reply:
        db.add(
            Message(
                **common,
                direction=Direction.OUTBOUND,
                to_number=patient.phones[0].number,
                from_number=ctx.number,
                body=reply,
                status="delivered",
                num_segments=1,
                price=SMS_PRICE,
                price_unit="USD",
                created_at=at + timedelta(seconds=1),
                updated_at=at + timedelta(seconds=5),
            )
        )
    if status is not None:
        appt.status, appt.status_changed_at, appt.status_changed_by = status, at, "patient:sms"
    return status == AppointmentStatus.CONFIRMED


def _opt_outs(db: Session, ctx: _Office, patients: list[Patient], now: datetime, days: int) -> None:
    """A few patients texted STOP during the month."""
    texted = [p for p in patients if ctx.texted(p)]
    for patient in ctx.rng.sample(texted, min(3, len(texted))):
        at = now - timedelta(days=ctx.rng.randrange(1, days), hours=ctx.rng.randrange(0, 8))
        patient.sms_opted_out_at, patient.sms_opt_out_source = at, "sms:STOP"
        db.add(
            ConsentEvent(
                office_id=ctx.office.id,
                patient_id=patient.id,
                channel=Channel.SMS,
                action=ConsentAction.OPT_OUT,
                source="sms:STOP",
                at=at,
            )
        )
        db.add(
            Message(
                office_id=ctx.office.id,
                patient_id=patient.id,
                direction=Direction.INBOUND,
                channel=Channel.SMS,
                to_number=ctx.number,
                from_number=patient.phones[0].number,
                body="STOP",
                status=MessageStatus.RECEIVED,
                interpretation="opt_out",
                created_at=at,
                updated_at=at,
            )
        )


def _under_way(db: Session, ctx: _Office, now: datetime) -> None:
    """The seeded visits still ahead: the reminders already due went out (most were answered); their other
    reminders stay planned for the dispatcher, so that the schedule shows every state."""
    appointments = db.scalars(
        select(Appointment)
        .where(Appointment.office_id == ctx.office.id, Appointment.starts_at > now - timedelta(hours=6))
        .options(selectinload(Appointment.patient).selectinload(Patient.phones), selectinload(Appointment.clinic))
        .order_by(Appointment.starts_at)
    )
    for appointment in appointments:
        zone = ZoneInfo(appointment.clinic.timezone)
        past = {r.id for r in ctx.rules if _rule_due(r, appointment, zone) < now}
        if not past:
            continue
        # The seed planned these as due now; the service would have sent them at their rule's time.
        for reminder in db.scalars(select(Reminder).where(Reminder.appointment_id == appointment.id)):
            if reminder.rule_id in past:
                db.delete(reminder)
        db.flush()
        patient, clinic = appointment.patient, appointment.clinic
        answers = ctx.rng.random() < 0.7
        confirmed = _remind(db, ctx, appointment, patient, clinic, answer_rate=1.0, upto=now, answers=answers)
        if appointment.starts_at < now - timedelta(minutes=appointment.duration_minutes):
            kept = confirmed or ctx.rng.random() < 0.8
            appointment.status = AppointmentStatus.COMPLETED if kept else AppointmentStatus.NO_SHOW


STRANGER = "+17205550188"  # no demo patient's number


def _from_a_stranger(db: Session, ctx: _Office, at: datetime) -> None:
    """A text from a number of no patient, waiting in the inbox as "Unknown number" for staff to link."""
    common = {"office_id": ctx.office.id, "patient_id": None, "channel": Channel.SMS}
    db.add(
        Message(
            **common,
            direction=Direction.INBOUND,
            to_number=ctx.number,
            from_number=STRANGER,
            body="Hi, this is Emma's mom. She has a fever, can we come in today?",
            status=MessageStatus.RECEIVED,
            num_segments=1,
            interpretation="unknown",
            needs_person=True,
            unread=True,
            created_at=at,
            updated_at=at,
        )
    )
    reply = reply_text(ReplyKind.NOT_UNDERSTOOD, "en", clinic_name=ctx.office.name, clinic_phone="")
    db.add(
        Message(
            **common,
            direction=Direction.OUTBOUND,
            to_number=STRANGER,
            from_number=ctx.number,
            body=reply or "",
            status="delivered",
            num_segments=1,
            price=SMS_PRICE,
            price_unit="USD",
            created_at=at + timedelta(seconds=1),
            updated_at=at + timedelta(seconds=5),
        )
    )
