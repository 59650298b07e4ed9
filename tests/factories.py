"""Small factories for test data. Each creates one row (and nothing it was not asked for), flushes, returns it.

They take a session and leave committing to the caller, so a test can build a whole office and commit once.
Defaults are believable and unique where the schema needs it (emails, phone numbers).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from clinic_reminders import booking
from clinic_reminders.accounts import issue_token, the_office
from clinic_reminders.crypto import hash_password
from clinic_reminders.models import (
    Appointment,
    BusinessProfile,
    Channel,
    Clinic,
    Direction,
    Message,
    MessageStatus,
    Office,
    Patient,
    PatientPhone,
    PhoneKind,
    Provider,
    Registration,
    RegistrationKind,
    RegistrationState,
    ReminderRule,
    Role,
    StaffUser,
)
from tests.fixtures.simulator import CLINIC_NUMBER

DEFAULT_PASSWORD = "correct horse battery staple"
REMINDER_BODY = "Reminder: your appointment tomorrow. Reply 1 confirm, 2 cancel, 3 reschedule."
_serial = itertools.count(1)


@cache
def _password_hash() -> str:
    """Hashing is deliberately slow: do it once per test run, not once per user."""
    return hash_password(DEFAULT_PASSWORD)


def unique_phone() -> str:
    """A valid, unused-in-this-run US number (212-555-1xxx)."""
    return f"+12125551{next(_serial) % 1000:03d}"


def make_office(db: Session, name: str = "Riverside Family Medicine", **fields: Any) -> Office:
    office = Office(name=name, **fields)
    db.add(office)
    db.flush()
    return office


def make_clinic(
    db: Session,
    office: Office,
    name: str = "Downtown Clinic",
    timezone: str = "America/New_York",
    phone: str = "+12125550100",
    **fields: Any,
) -> Clinic:
    clinic = Clinic(office_id=office.id, name=name, timezone=timezone, phone=phone, **fields)
    db.add(clinic)
    db.flush()
    return clinic


def make_provider(
    db: Session,
    office: Office,
    clinic: Clinic | None = None,
    name: str = "Maria Chen",
    title: str = "Dr.",
    **fields: Any,
) -> Provider:
    provider = Provider(office_id=office.id, clinic_id=clinic.id if clinic else None, name=name, title=title, **fields)
    db.add(provider)
    db.flush()
    return provider


def make_patient(
    db: Session,
    office: Office,
    first_name: str = "Ana",
    last_name: str = "Lopez",
    phone: str | None = "",
    phone_kind: PhoneKind = PhoneKind.MOBILE,
    language: str = "en",
    **fields: Any,
) -> Patient:
    """`phone=""` gives a fresh unique mobile number; `None` gives no phone at all."""
    patient = Patient(office_id=office.id, first_name=first_name, last_name=last_name, language=language, **fields)
    if phone is not None:
        number = phone or unique_phone()
        patient.phones = [PatientPhone(office_id=office.id, number=number, kind=phone_kind, position=0)]
    db.add(patient)
    db.flush()
    return patient


def local_time(clinic: Clinic, days_ahead: int = 1, at: time = time(10, 0)) -> datetime:
    """`days_ahead` days from today at `at` on the clinic's clock, as an aware UTC datetime."""
    zone = ZoneInfo(clinic.timezone)
    day = datetime.now(zone).date() + timedelta(days=days_ahead)
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def make_appointment(
    db: Session,
    clinic: Clinic,
    patient: Patient,
    provider: Provider | None = None,
    starts_at: datetime | None = None,
    duration_minutes: int = 30,
    actor: str = "system",
    **fields: Any,
) -> Appointment:
    """Booked through `booking.create`, like every appointment, so reminders are planned as in real life."""
    appointment = Appointment(
        office_id=clinic.office_id,
        clinic=clinic,
        patient=patient,
        provider=provider,
        starts_at=starts_at or local_time(clinic),
        duration_minutes=duration_minutes,
        **fields,
    )
    return booking.create(db, appointment, actor)


def make_rule(
    db: Session,
    office: Office,
    name: str = "SMS",
    channel: Channel | str = Channel.SMS,
    *,
    days_before: int | None = 1,
    at_local_time: time | None = time(10),
    minutes_before: int | None = None,
    **fields: Any,
) -> ReminderRule:
    """A rule of the whole office (`clinic_id=` for one clinic's): by default a text the day before at 10:00 on the
    clinic's clock; `minutes_before` makes it that many minutes before the start instead."""
    if minutes_before is not None:
        days_before, at_local_time = None, None
    rule = ReminderRule(
        office_id=office.id,
        name=name,
        channel=channel,
        days_before=days_before,
        at_local_time=at_local_time,
        minutes_before=minutes_before,
        **fields,
    )
    db.add(rule)
    db.flush()
    return rule


def make_message(
    db: Session,
    office: Office,
    patient: Patient | None = None,
    appointment: Appointment | None = None,
    *,
    direction: Direction = Direction.OUTBOUND,
    body: str = REMINDER_BODY,
    number: str | None = None,
    **fields: Any,
) -> Message:
    """A text (`channel="voice"`: a call) between the office's number (CLINIC_NUMBER) and `number`, by default the
    first phone of the patient (the appointment's, when only that is given). Outbound ones are "delivered" and
    inbound ones "received" unless `status=` says otherwise."""
    patient = patient or (appointment.patient if appointment is not None else None)
    theirs = number or (patient.phones[0].number if patient is not None else unique_phone())
    outbound = direction == Direction.OUTBOUND
    message = Message(
        office_id=office.id,
        patient_id=patient.id if patient is not None else None,
        appointment_id=appointment.id if appointment is not None else None,
        direction=direction,
        channel=fields.pop("channel", Channel.SMS),
        to_number=theirs if outbound else CLINIC_NUMBER,
        from_number=CLINIC_NUMBER if outbound else theirs,
        body=body,
        status=fields.pop("status", MessageStatus.DELIVERED if outbound else MessageStatus.RECEIVED),
        **fields,
    )
    db.add(message)
    db.flush()
    return message


def make_user(
    db: Session, office: Office, role: Role = Role.STAFF, email: str | None = None, **fields: Any
) -> StaffUser:
    """A user whose password is DEFAULT_PASSWORD."""
    user = StaffUser(
        office_id=office.id,
        email=email or f"user{next(_serial)}@example.com",
        role=role,
        password_hash=_password_hash(),
        **fields,
    )
    db.add(user)
    db.flush()
    return user


def make_token(db: Session, user: StaffUser) -> str:
    """A bearer token for the JSON API."""
    token = issue_token(db, user)
    db.flush()
    return token


def make_import_office(db: Session) -> None:
    """The office the samples in tests/fixtures/imports/ name: Riverside (Denver) with Dr. Maria Chen, and
    Downtown Clinic (New York), with the default reminder rules."""
    office = the_office(db)
    riverside = make_clinic(db, office, name="Riverside", timezone="America/Denver", phone="+13035550100")
    make_clinic(db, office, name="Downtown Clinic", timezone="America/New_York")
    make_provider(db, office, riverside, name="Maria Chen", title="Dr.")


def make_business_profile(db: Session, office: Office, **fields: Any) -> BusinessProfile:
    """A complete, valid profile (what registration submits)."""
    values: dict[str, Any] = {
        "legal_name": "Riverside Family Medicine LLC",
        "business_type": "Limited Liability Corporation",
        "ein": "12-3456789",
        "street": "100 River Road",
        "city": "Denver",
        "region": "CO",
        "postal_code": "80202",
        "country": "US",
        "website": "https://riverside.example.com",
        "privacy_policy_url": "https://riverside.example.com/privacy",
        "terms_url": "https://riverside.example.com/terms",
        "contact_first_name": "Grace",
        "contact_last_name": "Hopper",
        "contact_title": "Office manager",
        "contact_job_position": "GM",
        "contact_email": "grace@riverside.example.com",
        "contact_phone": "+13035550142",
        "consent_flow": "Patients give their mobile number on the intake form, which says the office will text "
        "appointment reminders and that they can reply STOP at any time.",
        "opt_in_type": "PAPER_FORM",
        "opt_in_url": "https://riverside.example.com/intake-form.png",
        "monthly_volume": 2000,
        **fields,
    }
    profile = BusinessProfile(office_id=office.id, **values)
    db.add(profile)
    db.flush()
    return profile


def make_registration(
    db: Session,
    office: Office,
    kind: RegistrationKind,
    state: RegistrationState = RegistrationState.APPROVED,
    subject: str = "",
    **fields: Any,
) -> Registration:
    registration = Registration(office_id=office.id, kind=kind, state=state, subject=subject, **fields)
    db.add(registration)
    db.flush()
    return registration


def register_office(db: Session, office: Office) -> None:
    """An office whose A2P 10DLC brand and campaign are approved: its local numbers may text."""
    make_registration(db, office, RegistrationKind.BRAND)
    make_registration(db, office, RegistrationKind.CAMPAIGN)
