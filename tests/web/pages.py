"""Helpers for the staff pages' tests: a browser-like client signed in through the login form, and an office
with a little of everything (clinics, a day of appointments in every state, reminders, messages, opt-outs)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_reminders import booking
from clinic_reminders.models import (
    Appointment,
    AppointmentStatus,
    Clinic,
    ConsentAction,
    ConsentEvent,
    Direction,
    Message,
    Office,
    Patient,
    Provider,
    Reminder,
    ReminderRule,
    ReminderStatus,
    StaffUser,
)
from tests.factories import (
    DEFAULT_PASSWORD,
    make_appointment,
    make_clinic,
    make_message,
    make_patient,
    make_provider,
    make_rule,
)

_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


class PageClient:
    """A TestClient that keeps the session cookie and adds the page's CSRF token to every form it posts."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.token = ""

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        response = self.client.get(url, **kwargs)
        if "text/html" in response.headers.get("content-type", "") and 'name="csrf-token"' in response.text:
            self.token = csrf_of(response.text)
        return response

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("follow_redirects", False)
        return self.client.post(url, data={"csrf_token": self.token, **(data or {})}, **kwargs)

    def htmx(self, url: str, data: dict[str, Any] | None = None) -> httpx.Response:
        """As htmx posts a form: the token in a header, HX-Request set."""
        headers = {"HX-Request": "true", "X-CSRF-Token": self.token}
        return self.client.post(url, data=data or {}, headers=headers, follow_redirects=False)


def sign_in(client: TestClient, email: str, password: str = DEFAULT_PASSWORD) -> PageClient:
    pages = PageClient(client)
    pages.get("/login")
    response = pages.post("/login", {"email": email, "password": password, "next": "/schedule"})
    assert response.status_code == 303, response.text
    pages.get("/schedule")
    return pages


def signed_in(app: FastAPI, user: StaffUser) -> PageClient:
    return sign_in(TestClient(app), user.email)


@dataclass
class Day:
    """A small office with one day of appointments in every state the schedule shows."""

    office: Office
    clinic: Clinic
    other_clinic: Clinic
    provider: Provider
    patients: dict[str, Patient]
    appointments: dict[str, Appointment]
    rule: ReminderRule


def local(clinic: Clinic, day_offset: int, hour: int, minute: int = 0) -> datetime:
    zone = ZoneInfo(clinic.timezone)
    day = datetime.now(zone).date() + timedelta(days=day_offset)
    return datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)


def _sent(session: Session, office: Office, reminder: Reminder, status: str, **fields: Any) -> Message:
    appointment = session.get(Appointment, reminder.appointment_id)
    reminder.status = ReminderStatus.SENT
    return make_message(
        session,
        office,
        appointment=appointment,
        reminder_id=reminder.id,
        status=status,
        num_segments=1,
        price=Decimal("-0.0079"),
        **fields,
    )


def answer(session: Session, appointment: Appointment, body: str, interpretation: str, **fields: Any) -> Message:
    office = session.get(Office, appointment.office_id)
    assert office is not None
    return make_message(
        session,
        office,
        appointment=appointment,
        direction=Direction.INBOUND,
        body=body,
        interpretation=interpretation,
        unread=True,
        **fields,
    )


def build_day(session: Session, office: Office) -> Day:
    """Tomorrow in one clinic: planned, delivered and confirmed, failed, cancelled by answer, no answer yet."""
    rule = make_rule(session, office, "SMS the day before")
    clinic = make_clinic(session, office, name="Riverside Family Medicine", timezone="America/New_York")
    other = make_clinic(session, office, name="Lakeside Pediatrics", timezone="America/New_York", phone="+12125550111")
    provider = make_provider(session, office, clinic, name="Anna Keller")
    names = {
        "planned": ("Olivia", "Planned"),
        "confirmed": ("Carlos", "Confirmed"),
        "failed": ("Fiona", "Failed"),
        "cancelled": ("Camila", "Cancelled"),
        "silent": ("Noah", "Silent"),
        "other": ("Oscar", "Elsewhere"),
    }
    patients = {key: make_patient(session, office, first, last) for key, (first, last) in names.items()}
    appointments: dict[str, Appointment] = {}
    for hour, key in enumerate(names, start=9):
        where = other if key == "other" else clinic
        appointments[key] = make_appointment(session, where, patients[key], provider, starts_at=local(where, 2, hour))
    reminders = {
        key: session.scalars(select(Reminder).where(Reminder.appointment_id == a.id)).one()
        for key, a in appointments.items()
    }
    _sent(session, office, reminders["confirmed"], "delivered")
    answer(session, appointments["confirmed"], "1", "confirm")
    booking.set_status(session, appointments["confirmed"], AppointmentStatus.CONFIRMED, "patient")
    unreachable = {"error_code": 30003, "error_message": "Unreachable destination handset"}
    _sent(session, office, reminders["failed"], "undelivered", **unreachable)
    _sent(session, office, reminders["cancelled"], "delivered")
    answer(session, appointments["cancelled"], "2", "cancel")
    booking.set_status(session, appointments["cancelled"], AppointmentStatus.CANCELLED, "patient")
    _sent(session, office, reminders["silent"], "delivered")
    answer(session, appointments["other"], "can I bring my son too?", "unknown", needs_person=True)
    session.add(
        ConsentEvent(
            office_id=office.id,
            patient_id=patients["failed"].id,
            channel="sms",
            action=ConsentAction.OPT_OUT,
            source="sms:STOP",
        )
    )
    session.flush()
    return Day(office, clinic, other, provider, patients, appointments, rule)


def day_query(day: Day) -> str:
    """The `day=` of the schedule showing `build_day`'s appointments."""
    return local(day.clinic, 2, 12).astimezone(ZoneInfo(day.clinic.timezone)).date().isoformat()
