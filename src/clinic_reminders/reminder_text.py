"""What a reminder says: the office's template (or the default) filled in from the appointment, for the dispatcher,
a text sent at once from the schedule, and the answers to texts and calls."""

from __future__ import annotations

from dataclasses import dataclass

from .messaging.compose import ReminderContext, normalize_language, render_sms
from .models import Appointment, Office
from .phones import display


@dataclass(frozen=True)
class RenderedReminder:
    body: str
    segments: int
    encoding: str


def reminder_context(appointment: Appointment, office: Office, link: str | None = None) -> ReminderContext:
    patient, clinic, provider = appointment.patient, appointment.clinic, appointment.provider
    return ReminderContext(
        patient_first_name=patient.first_name,
        clinic_name=clinic.name,
        clinic_phone=display(clinic.phone),
        clinic_phone_e164=clinic.phone,
        provider_name=provider.display_name if provider else "",
        starts_at=appointment.starts_at,
        timezone=clinic.timezone,
        language=patient.language,
        kind=appointment.kind,
        visit_reason=appointment.reason or None,
        include_visit_reason=office.include_visit_reason,
        link=link,
    )


def render_reminder(appointment: Appointment, office: Office, link: str | None = None) -> RenderedReminder:
    """The text; the patient's link goes in when it still fits one segment (see compose.LINK_TEMPLATES)."""
    ctx = reminder_context(appointment, office, link)
    template = (office.sms_templates or {}).get(normalize_language(ctx.language))
    rendered = render_sms(template, ctx)
    return RenderedReminder(rendered.body, rendered.segments.segments, rendered.segments.encoding)
