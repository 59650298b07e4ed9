"""A few days of believable activity on the demo office, for the staff pages' browser tests and screenshots:
reminders that went out, deliveries and failures, patients' answers, a conversation or two and an opt-out."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from clinic_reminders import booking
from clinic_reminders.models import (
    Appointment,
    AppointmentStatus,
    Clinic,
    ConsentAction,
    ConsentEvent,
    Direction,
    Message,
    Patient,
    Reminder,
    ReminderRule,
    ReminderStatus,
    utcnow,
)

DEMO_NUMBER = "+15005550006"
ANSWERS = (
    ("1", "confirm", AppointmentStatus.CONFIRMED),
    ("Yes, see you then", "confirm", AppointmentStatus.CONFIRMED),
    ("2", "cancel", AppointmentStatus.CANCELLED),
    ("3", "reschedule", AppointmentStatus.RESCHEDULE_REQUESTED),
    ("Can I bring my daughter to the same visit?", "unknown", None),
)
QUESTION = ANSWERS[-1]


def add_activity(db: Session, office_id: int, rng: random.Random | None = None) -> None:
    """For appointments of the coming days: the first reminder sent (most delivered, a few failed); about
    two thirds answered, some confirmed, a few cancelled or asking to move, one question for a person."""
    rng = rng or random.Random(7)
    now = utcnow()
    appointments = db.scalars(
        select(Appointment)
        .where(
            Appointment.office_id == office_id,
            Appointment.starts_at > now,
            Appointment.starts_at < now + timedelta(days=4),
        )
        .options(selectinload(Appointment.patient))
        .order_by(Appointment.starts_at)
    ).all()
    asked = False
    for i, appt in enumerate(appointments):
        reminders = db.scalars(
            select(Reminder)
            .where(Reminder.appointment_id == appt.id, Reminder.channel == "sms")
            .order_by(Reminder.due_at)
        ).all()
        if not reminders or not appt.patient.phones or appt.patient.phones[0].kind != "mobile" or rng.random() < 0.2:
            continue
        reminder = reminders[0]
        reminder.status = ReminderStatus.SENT
        sent_at = now - timedelta(minutes=rng.randrange(30, 600))
        failed = i % 11 == 5
        db.add(
            Message(
                office_id=office_id,
                patient_id=appt.patient_id,
                appointment_id=appt.id,
                reminder_id=reminder.id,
                direction=Direction.OUTBOUND,
                channel="sms",
                to_number=appt.patient.phones[0].number,
                from_number=DEMO_NUMBER,
                body=f"{appt.patient.first_name}, appt reminder. Reply 1 confirm, 2 cancel, 3 reschedule. STOP=opt out",
                status="undelivered" if failed else "delivered",
                error_code=30003 if failed else None,
                error_message="Unreachable destination handset" if failed else None,
                num_segments=1,
                price=Decimal("-0.0079"),
                created_at=sent_at,
                updated_at=sent_at,
            )
        )
        if failed or rng.random() < 0.35:
            continue
        body, meaning, status = ANSWERS[0 if rng.random() < 0.6 else rng.randrange(len(ANSWERS))]
        if not asked:  # whatever the day and hour, the inbox has one question for a person
            body, meaning, status = QUESTION
            asked = True
        at = sent_at + timedelta(minutes=rng.randrange(2, 90))
        db.add(
            Message(
                office_id=office_id,
                patient_id=appt.patient_id,
                appointment_id=appt.id,
                direction=Direction.INBOUND,
                channel="sms",
                to_number=DEMO_NUMBER,
                from_number=appt.patient.phones[0].number,
                body=body,
                status="received",
                interpretation=meaning,
                needs_person=status is None,
                unread=rng.random() < 0.5 or status is None,
                created_at=at,
                updated_at=at,
            )
        )
        if status is not None:
            booking.set_status(db, appt, status, "patient")
    if appointments:
        db.add(
            ConsentEvent(
                office_id=office_id,
                patient_id=appointments[-1].patient_id,
                channel="sms",
                action=ConsentAction.OPT_OUT,
                source="sms:STOP",
            )
        )
    db.flush()


def add_history(db: Session, office_id: int, days: int = 14, rng: random.Random | None = None) -> None:
    """The past `days` weekdays: visits that happened, were missed or were cancelled by an answer, each with
    the reminder sent two days before (a few undelivered) and most patients' answers."""
    rng = rng or random.Random(11)
    clinics = db.scalars(select(Clinic).where(Clinic.office_id == office_id)).all()
    patients = db.scalars(select(Patient).where(Patient.office_id == office_id).options(selectinload(Patient.phones)))
    people = [p for p in patients if p.phones and p.phones[0].kind == "mobile"]
    rule = db.scalars(
        select(ReminderRule).where(ReminderRule.office_id == office_id, ReminderRule.channel == "sms")
    ).first()
    if not clinics or not people or rule is None:
        return
    today = utcnow().date()
    for back in range(1, days + 1):
        day = today - timedelta(days=back)
        if day.weekday() >= 5:
            continue
        for clinic in clinics:
            zone = ZoneInfo(clinic.timezone)
            for _ in range(rng.randrange(6, 11)):
                patient = rng.choice(people)
                start = datetime.combine(day, time(rng.randrange(8, 17), rng.choice((0, 15, 30, 45))), zone)
                roll = rng.random()
                status = "completed" if roll < 0.78 else "no-show" if roll < 0.86 else "cancelled"
                appt = Appointment(
                    office_id=office_id, clinic_id=clinic.id, patient_id=patient.id, starts_at=start, status=status
                )
                db.add(appt)
                db.flush()
                reminder = Reminder(
                    office_id=office_id,
                    appointment_id=appt.id,
                    rule_id=rule.id,
                    channel="sms",
                    due_at=start - timedelta(days=2),
                    planned_for=start,
                    status=ReminderStatus.SENT,
                )
                db.add(reminder)
                db.flush()
                sent_at = datetime.combine(day - timedelta(days=2), time(10, rng.randrange(0, 50)), zone)
                failed = rng.random() < 0.07
                db.add(
                    Message(
                        office_id=office_id,
                        patient_id=patient.id,
                        appointment_id=appt.id,
                        reminder_id=reminder.id,
                        direction=Direction.OUTBOUND,
                        channel="sms",
                        to_number=patient.phones[0].number,
                        from_number=DEMO_NUMBER,
                        body="Appt reminder. Reply 1 confirm, 2 cancel, 3 reschedule.",
                        status="undelivered" if failed else "delivered",
                        num_segments=1,
                        price=Decimal("-0.0079"),
                        error_code=30003 if failed else None,
                        created_at=sent_at,
                        updated_at=sent_at,
                    )
                )
                if failed or (status != "cancelled" and rng.random() < 0.3):
                    continue
                body, meaning = ("2", "cancel") if status == "cancelled" else ("1", "confirm")
                at = sent_at + timedelta(minutes=rng.randrange(3, 240))
                db.add(
                    Message(
                        office_id=office_id,
                        patient_id=patient.id,
                        appointment_id=appt.id,
                        direction=Direction.INBOUND,
                        channel="sms",
                        to_number=DEMO_NUMBER,
                        from_number=patient.phones[0].number,
                        body=body,
                        status="received",
                        interpretation=meaning,
                        created_at=at,
                        updated_at=at,
                    )
                )
    db.flush()
