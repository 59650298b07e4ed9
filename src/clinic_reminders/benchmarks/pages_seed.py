"""A busy office for the pages benchmark: a week of appointments with reminders sent, answers and failures.

Rows are written with bulk inserts (the numbers, not the booking path, are what is measured). Every name and
number is fictional; the phones use 555-01xx-style fiction ranges and non-geographic area codes.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from .. import accounts, demo
from ..models import (
    Appointment,
    Clinic,
    ConsentEvent,
    Message,
    Patient,
    PatientPhone,
    Provider,
    Reminder,
    ReminderRule,
    Role,
    utcnow,
)

ADMIN_EMAIL = "bench-admin@example.com"
PASSWORD = "bench-pages-password"  # noqa: S105  (a throwaway database)
ANSWERS = (("confirm", 0.45, "1"), ("cancel", 0.06, "2"), ("reschedule", 0.04, "3"), ("unknown", 0.03, "?"))


def _rows(db: Session, model: type[Any], rows: list[dict[str, Any]], chunk: int = 2_000) -> None:
    for start in range(0, len(rows), chunk):
        db.execute(insert(model), rows[start : start + chunk])


def seed(db: Session, appointments: int, patients: int, rng: random.Random) -> dict[str, Any]:
    """Returns what the benchmark needs to build its URLs."""
    office = accounts.the_office(db)  # with the default reminder rules
    demo.seed(db, office, patients=0)  # two clinics in two zones and their providers
    accounts.add_user(db, office, ADMIN_EMAIL, Role.ADMIN, PASSWORD, name="Bench Admin")
    clinics = list(db.scalars(select(Clinic).where(Clinic.office_id == office.id)))
    providers = list(db.scalars(select(Provider).where(Provider.office_id == office.id)))
    rules = list(db.scalars(select(ReminderRule).where(ReminderRule.office_id == office.id).order_by(ReminderRule.id)))
    first = demo.ENGLISH_FIRST + demo.SPANISH_FIRST
    last = demo.ENGLISH_LAST + demo.SPANISH_LAST
    _rows(
        db,
        Patient,
        [
            {
                "office_id": office.id,
                "first_name": rng.choice(first),
                "last_name": rng.choice(last),
                "language": "es" if i % 3 == 2 else "en",
            }
            for i in range(patients)
        ],
    )
    patient_ids = list(db.scalars(select(Patient.id).where(Patient.office_id == office.id).order_by(Patient.id)))
    phones = {pid: f"+1{('533', '544', '566')[i // 10_000]}555{i % 10_000:04d}" for i, pid in enumerate(patient_ids)}
    _rows(
        db,
        PatientPhone,
        [
            {"office_id": office.id, "patient_id": p, "number": n, "kind": "mobile", "position": 0}
            for p, n in phones.items()
        ],
    )
    today = datetime.now(ZoneInfo(clinics[0].timezone)).date()
    appts = []
    for i in range(appointments):
        clinic = clinics[i % len(clinics)]
        day: date = today + timedelta(days=i % 7)
        start = datetime.combine(
            day, time(8 + rng.randrange(9), rng.choice((0, 15, 30, 45))), ZoneInfo(clinic.timezone)
        )
        appts.append(
            {
                "office_id": office.id,
                "clinic_id": clinic.id,
                "patient_id": patient_ids[i % len(patient_ids)],
                "provider_id": rng.choice(providers).id,
                "starts_at": start.astimezone(UTC),
                "status": "scheduled",
                "duration_minutes": 30,
                "kind": "in-person",
            }
        )
    _rows(db, Appointment, appts)
    ids = list(db.scalars(select(Appointment.id).where(Appointment.office_id == office.id).order_by(Appointment.id)))
    _reminders_and_messages(db, office.id, ids, appts, phones, rules, rng)
    now = utcnow()
    _rows(
        db,
        ConsentEvent,
        [
            {
                "office_id": office.id,
                "patient_id": rng.choice(patient_ids),
                "channel": "sms",
                "action": "opt_out",
                "source": "sms:STOP",
                "at": now - timedelta(hours=rng.randrange(1, 24 * 7)),
            }
            for _ in range(25)
        ],
    )
    return {"office_id": office.id, "patient_id": patient_ids[0], "clinic_id": clinics[0].id, "today": today}


def _reminders_and_messages(
    db: Session,
    office_id: int,
    ids: list[int],
    appts: list[dict[str, Any]],
    phones: dict[int, str],
    rules: list[ReminderRule],
    rng: random.Random,
) -> None:
    now = utcnow()
    reminders, statuses = [], {}
    for appt_id, appt in zip(ids, appts, strict=True):
        sent = rng.random() < 0.8
        for rule in rules[:1] if sent else rules[::2]:
            due = now - timedelta(hours=rng.randrange(1, 48)) if sent else appt["starts_at"] - timedelta(hours=2)
            reminders.append(
                {
                    "office_id": office_id,
                    "appointment_id": appt_id,
                    "rule_id": rule.id,
                    "channel": rule.channel,
                    "due_at": due,
                    "planned_for": appt["starts_at"],
                    "status": "sent" if sent else "planned",
                }
            )
    _rows(db, Reminder, reminders)
    sent_rows = db.execute(
        select(Reminder.id, Reminder.appointment_id, Reminder.due_at).where(
            Reminder.office_id == office_id, Reminder.status == "sent"
        )
    ).all()
    patient_of = {appt_id: appt["patient_id"] for appt_id, appt in zip(ids, appts, strict=True)}
    messages = []
    for reminder_id, appt_id, due in sent_rows:
        number = phones[patient_of[appt_id]]
        roll = rng.random()
        status = "delivered" if roll < 0.9 else "undelivered" if roll < 0.95 else "sent"
        messages.append(
            {
                "office_id": office_id,
                "patient_id": patient_of[appt_id],
                "appointment_id": appt_id,
                "reminder_id": reminder_id,
                "direction": "outbound",
                "channel": "sms",
                "to_number": number,
                "from_number": demo.DEMO_TWILIO_NUMBER,
                "body": "Your appt tomorrow. Reply 1 confirm, 2 cancel",
                "status": status,
                "num_segments": 1,
                "price": Decimal("-0.0079"),
                "created_at": due,
                "updated_at": due,
                "error_code": 30003 if status == "undelivered" else None,
                "error_message": "Unreachable destination handset" if status == "undelivered" else None,
            }
        )
        if status != "delivered":
            continue
        pick, edge = rng.random(), 0.0
        for meaning, share, body in ANSWERS:
            edge += share
            if pick < edge:
                at = due + timedelta(minutes=rng.randrange(1, 120))
                messages.append(
                    {
                        "office_id": office_id,
                        "patient_id": patient_of[appt_id],
                        "appointment_id": appt_id,
                        "direction": "inbound",
                        "channel": "sms",
                        "to_number": demo.DEMO_TWILIO_NUMBER,
                        "from_number": number,
                        "body": body,
                        "status": "received",
                        "interpretation": meaning,
                        "needs_person": meaning == "unknown",
                        "unread": rng.random() < 0.3,
                        "created_at": at,
                        "updated_at": at,
                    }
                )
                statuses[appt_id] = {"confirm": "confirmed", "cancel": "cancelled"}.get(meaning, "scheduled")
                if meaning == "reschedule":
                    statuses[appt_id] = "reschedule-requested"
                break
    _rows(db, Message, messages)
    for status in ("confirmed", "cancelled", "reschedule-requested"):
        chosen = [a for a, s in statuses.items() if s == status]
        for start in range(0, len(chosen), 900):
            db.query(Appointment).filter(Appointment.id.in_(chosen[start : start + 900])).update(
                {"status": status}, synchronize_session=False
            )
