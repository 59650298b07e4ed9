"""The appointment form: what the front desk typed, read into booking's terms or into a message per field.

The start is typed on the clinic's clock (a date and a time, as the desk reads them off the clinic's wall) and
becomes UTC through `booking.local_start`. A new patient typed on the same form is validated by the API's
`PatientCreate`, so a phone number or a name is refused exactly as the API and the patient page refuse it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import booking
from ...local_time import abbreviation
from ...models import Appointment, AppointmentKind, Clinic, Patient, Provider, utcnow
from ..api.schemas.patients import PatientCreate
from .forms import FieldErrors, checkbox, errors_of, refused

Owned = TypeVar("Owned", Clinic, Provider)
DURATIONS = (10, 15, 20, 30, 45, 60, 90, 120)
KINDS = ((AppointmentKind.IN_PERSON.value, "In person"), (AppointmentKind.TELEHEALTH.value, "Video visit"))
MAX_REASON = 2000
NEW_PATIENT = "new"
# The new patient's boxes on the form, and the PatientCreate field each one fills.
NEW_PATIENT_FIELDS = {
    "new_first_name": "first_name",
    "new_last_name": "last_name",
    "new_date_of_birth": "date_of_birth",
    "new_language": "language",
}


def clinic_choices(db: Session, office_id: int, keep: int | None = None) -> list[Clinic]:
    """Active clinics, and `keep` (the appointment's own) even if it was deactivated since."""
    rows = db.scalars(select(Clinic).where(Clinic.office_id == office_id).order_by(Clinic.name))
    return [c for c in rows if c.active or c.id == keep]


def provider_choices(db: Session, office_id: int, keep: int | None = None) -> list[Provider]:
    rows = db.scalars(select(Provider).where(Provider.office_id == office_id).order_by(Provider.name))
    return [p for p in rows if p.active or p.id == keep]


def clinic_label(clinic: Clinic) -> str:
    """The clinic with its zone's abbreviation today, so the desk knows whose clock the start is typed on."""
    return f"{clinic.name} ({abbreviation(utcnow().astimezone(ZoneInfo(clinic.timezone)))})"


def values_of(appointment: Appointment) -> dict[str, str]:
    """The form's boxes for an existing appointment (its start on its clinic's clock)."""
    local = appointment.starts_at.astimezone(ZoneInfo(appointment.clinic.timezone))
    return {
        "clinic_id": str(appointment.clinic_id),
        "provider_id": str(appointment.provider_id or ""),
        "kind": appointment.kind,
        "day": local.date().isoformat(),
        "time": f"{local:%H:%M}",
        "duration_minutes": str(appointment.duration_minutes),
        "reason": appointment.reason,
    }


def _owned(db: Session, model: type[Owned], raw: str, office_id: int) -> Owned | None:
    row = db.get(model, int(raw)) if raw.isdigit() else None
    return row if row is not None and row.office_id == office_id else None


def read_visit(
    db: Session, office_id: int, data: Mapping[str, str], current: Appointment | None = None
) -> tuple[dict[str, Any], FieldErrors]:
    """Clinic, provider, kind, start and duration, reason: as `booking.book`/`move` take them (related rows as
    objects). A clinic or provider deactivated since is accepted only where the appointment already has it."""
    errors: FieldErrors = {}
    values: dict[str, Any] = {}
    clinic = _owned(db, Clinic, data.get("clinic_id", ""), office_id)
    if clinic is None or not (clinic.active or (current is not None and current.clinic_id == clinic.id)):
        errors["clinic_id"] = "choose the clinic"
    else:
        values["clinic"] = clinic
    raw_provider = data.get("provider_id", "")
    provider = _owned(db, Provider, raw_provider, office_id) if raw_provider else None
    if raw_provider and (
        provider is None or not (provider.active or (current is not None and current.provider_id == provider.id))
    ):
        errors["provider_id"] = "choose a provider from the list, or none"
    else:
        values["provider"] = provider
    kind = data.get("kind", "")
    if kind not in dict(KINDS):
        errors["kind"] = "choose in person or video"
    else:
        values["kind"] = kind
    try:
        day = date.fromisoformat(data.get("day", ""))
    except ValueError:
        errors["day"] = "give the date of the visit"
    try:
        clock = time.fromisoformat(data.get("time", ""))
    except ValueError:
        errors["time"] = "give the start time, e.g. 14:30"
    raw_minutes = data.get("duration_minutes", "")
    if not raw_minutes.isdigit() or not 1 <= int(raw_minutes) <= booking.MAX_DURATION_MINUTES:
        errors["duration_minutes"] = f"give the length in minutes, at most {booking.MAX_DURATION_MINUTES}"
    else:
        values["duration_minutes"] = int(raw_minutes)
    reason = data.get("reason", "").strip()
    if len(reason) > MAX_REASON:
        errors["reason"] = f"at most {MAX_REASON} characters"
    values["reason"] = reason
    if clinic is not None and "day" not in errors and "time" not in errors:
        try:
            values["starts_at"] = booking.local_start(clinic, day, clock.replace(second=0, microsecond=0))
        except booking.BookingError as exc:
            errors.update(refused(exc))
    return values, errors


def read_new_patient(data: Mapping[str, str]) -> tuple[PatientCreate | None, FieldErrors]:
    """The patient added on the spot: names, mobile phone, language, date of birth, consent."""
    fields: dict[str, Any] = {target: data.get(box, "") for box, target in NEW_PATIENT_FIELDS.items()}
    fields["date_of_birth"] = fields["date_of_birth"] or None
    phone = data.get("new_phone", "").strip()
    fields["phones"] = [{"number": phone, "kind": "mobile"}] if phone else []
    fields["sms_consent"] = checkbox(data, "new_sms_consent")
    fields["voice_consent"] = checkbox(data, "new_voice_consent")
    try:
        return PatientCreate.model_validate(fields), {}
    except ValidationError as exc:
        boxes = {target: box for box, target in NEW_PATIENT_FIELDS.items()}
        return None, {
            ("new_phone" if name.startswith("phones") else boxes.get(name, name)): message
            for name, message in errors_of(exc).items()
        }


def chosen_patient(db: Session, office_id: int, raw: str) -> Patient | None:
    patient = db.get(Patient, int(raw)) if raw.isdigit() else None
    return patient if patient is not None and patient.office_id == office_id else None
