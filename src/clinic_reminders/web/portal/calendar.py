"""The appointment as an iCalendar file (RFC 5545, via `icalendar`): times in UTC, no visit reason."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from icalendar import Alarm, Calendar, Event

from ...models import Appointment, AppointmentKind, AppointmentStatus
from ...phones import display
from .texts import texts


def appointment_ics(appointment: Appointment, page_url: str, now: datetime) -> bytes:
    t = texts(appointment.patient.language)
    clinic, provider = appointment.clinic, appointment.provider
    video = appointment.kind == AppointmentKind.TELEHEALTH
    who = provider.display_name if provider else clinic.name
    calendar = Calendar()
    calendar.add("prodid", "-//clinic-reminders//patient link//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    host = urlsplit(page_url).hostname or "clinic-reminders"
    event.add("uid", f"appointment-{appointment.id}@{host}")
    event.add("dtstamp", now)
    event.add("dtstart", appointment.starts_at)
    event.add("dtend", appointment.ends_at)
    event.add("summary", f"{t['video_visit'] if video else t['title']}: {who}")
    event.add("location", page_url if video else (clinic.address or clinic.name))
    event.add("description", f"{clinic.name}\n{t['call_us']} {display(clinic.phone)}\n{page_url}")
    event.add("url", page_url)
    event.add("status", "CANCELLED" if appointment.status == AppointmentStatus.CANCELLED else "CONFIRMED")
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", t["title"])
    alarm.add("trigger", timedelta(hours=-1))
    event.add_component(alarm)
    calendar.add_component(event)
    return bytes(calendar.to_ical())
