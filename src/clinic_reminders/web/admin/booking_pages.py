"""Booking by the front desk: "New appointment" (from the schedule or a patient) and "Move" (new time, provider,
clinic or kind), both through `booking`, so that the reminders are re-planned in the same transaction.

The patient is found by name or phone on the form itself, or added on the spot (`patient_records`). Before
saving, booking's concerns are shown (the start is past, the provider or the patient is already booked then,
the very same booking exists) with "Save anyway", which accepts exactly the concerns shown. Cancelling is the
schedule's own action.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from starlette.concurrency import run_in_threadpool

from ... import booking, patient_records
from ...local_time import display
from ...models import Appointment, AppointmentStatus, Patient, Reminder, ReminderStatus, StaffUser
from ...patient_search import patient_search
from ..deps import DbDep
from .auth import PageUser, safe_next
from .booking_form import (
    DURATIONS,
    KINDS,
    NEW_PATIENT,
    chosen_patient,
    clinic_choices,
    clinic_label,
    provider_choices,
    read_new_patient,
    read_visit,
    values_of,
)
from .csrf import check_csrf
from .forms import FieldErrors, form_fields, refused
from .patients_pages import LANGUAGE_NAMES
from .rendering import flash, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

MATCHES = 10  # patients offered for a search
MOVABLE = (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED, AppointmentStatus.RESCHEDULE_REQUESTED)


def planned_summary(db: Session, appointment: Appointment) -> str:
    """ "Reminders planned: text Sun 10:00 AM CST, call Mon 5:00 PM CST." (or that none is), for the notice."""
    planned = db.scalars(
        select(Reminder)
        .where(Reminder.appointment_id == appointment.id, Reminder.status == ReminderStatus.PLANNED)
        .order_by(Reminder.due_at)
    ).all()
    if not planned:
        return "No reminder is planned for it."
    zone = appointment.clinic.timezone
    items = [f"{'call' if r.channel == 'voice' else 'text'} {display(r.due_at, zone, 'weekday-time')}" for r in planned]
    return f"Reminders planned: {', '.join(items)}."


def _form(
    request: Request,
    db: Session,
    user: StaffUser,
    values: dict[str, str],
    errors: FieldErrors,
    *,
    appointment: Appointment | None = None,
    concerns: list[booking.Concern] | None = None,
    matches: list[Patient] | None = None,
) -> Response:
    patient = appointment.patient if appointment else chosen_patient(db, user.office_id, values.get("patient_id", ""))
    keep_clinic, keep_provider = (appointment.clinic_id, appointment.provider_id) if appointment else (None, None)
    clinics = clinic_choices(db, user.office_id, keep_clinic)
    providers = provider_choices(db, user.office_id, keep_provider)
    names = {c.id: c.name for c in clinics}
    context: dict[str, Any] = {
        "title": "Move or change the appointment" if appointment else "New appointment",
        "section": "schedule",
        "appointment": appointment,
        "patient": patient,
        "v": values,
        "errors": errors,
        "concerns": concerns or [],
        "matches": matches,
        "clinic_options": [(str(c.id), clinic_label(c)) for c in clinics],
        "provider_options": [("", "No provider")]
        + [
            (str(p.id), p.display_name + (f" ({names[p.clinic_id]})" if p.clinic_id in names else ""))
            for p in providers
        ],
        "kinds": KINDS,
        "durations": [(str(d), f"{d} min") for d in DURATIONS],
        "languages": list(LANGUAGE_NAMES.items()),
        "back": safe_next(values.get("next"), "/schedule"),
    }
    status = 422 if errors else 409 if concerns else 200
    return render(request, "appointment_form.html", context, user=user, db=db, status_code=status)


def _defaults(db: Session, user: StaffUser, params: dict[str, str]) -> dict[str, str]:
    clinics = clinic_choices(db, user.office_id)
    clinic = next((c for c in clinics if str(c.id) == params.get("clinic_id")), clinics[0] if clinics else None)
    zone = ZoneInfo(clinic.timezone) if clinic else ZoneInfo("UTC")
    tomorrow = (datetime.now(zone) + timedelta(days=1)).date().isoformat()
    return {
        "clinic_id": str(clinic.id) if clinic else "",
        "provider_id": "",
        "kind": "in-person",
        "day": params.get("day") or tomorrow,
        "time": "",
        "duration_minutes": "30",
        "reason": "",
        "patient_id": params.get("patient_id", ""),
        "q": params.get("q", ""),
        "new_language": "en",
        "new_sms_consent": "on",
        "new_voice_consent": "on",
        "next": params.get("next", "/schedule"),
    }


@router.get("/appointments/new", response_class=HTMLResponse)
def new_appointment(request: Request, db: DbDep, user: PageUser) -> Response:
    values = _defaults(db, user, dict(request.query_params))
    return _form(request, db, user, values, {})


def _search(db: Session, office_id: int, q: str) -> list[Patient]:
    if not q.strip():
        return []
    stmt = (
        select(Patient)
        .where(Patient.office_id == office_id, patient_search(q.strip()[:100]))
        .options(selectinload(Patient.phones))
        .order_by(Patient.last_name, Patient.first_name, Patient.id)
        .limit(MATCHES)
    )
    return list(db.scalars(stmt))


def _accepted(data: dict[str, str]) -> list[str]:
    return [kind for kind in data.get("accept", "").split(",") if kind in booking.CONCERN_KINDS]


def _booked(request: Request, db: Session, appointment: Appointment, what: str) -> Response:
    """After a booking or a move: its day on the schedule, with when it is and what is planned (no name: the
    notice travels in the session cookie)."""
    zone = appointment.clinic.timezone
    when = display(appointment.starts_at, zone)
    flash(request, f"{what}: {when} at {appointment.clinic.name}. {planned_summary(db, appointment)}")
    return RedirectResponse(f"/schedule?day={display(appointment.starts_at, zone, 'iso-date')}", status_code=303)


@router.post("/appointments/new", response_class=HTMLResponse)
async def book_appointment(request: Request, db: DbDep, user: PageUser) -> Response:
    data = await form_fields(request)
    return await run_in_threadpool(_book, request, db, user, data)


def _book(request: Request, db: Session, user: StaffUser, data: dict[str, str]) -> Response:
    step = data.get("step", "save")
    if step == "find":
        matches = _search(db, user.office_id, data.get("q", ""))
        if len(matches) == 1:
            data["patient_id"] = str(matches[0].id)
        return _form(request, db, user, data, {}, matches=matches)
    if step == "change-patient":
        return _form(
            request, db, user, {**data, "patient_id": ""}, {}, matches=_search(db, user.office_id, data.get("q", ""))
        )
    visit, errors = read_visit(db, user.office_id, data)
    raw_patient = data.get("patient_id", "")
    patient = chosen_patient(db, user.office_id, raw_patient)
    new_patient = None
    if raw_patient == NEW_PATIENT:
        new_patient, patient_errors = read_new_patient(data)
        errors.update(patient_errors)
    elif patient is None:
        errors["patient_id"] = "find and choose the patient, or add a new one"
    if errors:
        return _form(request, db, user, data, errors)
    if new_patient is not None:
        patient = patient_records.add(db, user.office_id, new_patient, user)
    assert patient is not None
    appointment = Appointment(
        office_id=user.office_id,
        patient=patient,
        status=AppointmentStatus.SCHEDULED,
        status_changed_by=f"user:{user.id}",
        **visit,
    )
    try:
        booking.book(db, appointment, f"user:{user.id}", _accepted(data))
    except booking.NeedsConfirmation as exc:
        db.rollback()
        return _form(request, db, user, data, {}, concerns=exc.concerns)
    except booking.BookingError as exc:
        db.rollback()
        return _form(request, db, user, data, refused(exc))
    db.commit()
    return _booked(request, db, appointment, "Booked")


def _movable(db: Session, user: StaffUser, appointment_id: int) -> Appointment | None:
    appointment = db.get(Appointment, appointment_id)
    if appointment is None or appointment.office_id != user.office_id or appointment.status not in MOVABLE:
        return None
    return appointment


def _not_movable(request: Request, user: StaffUser) -> Response:
    message = "No such appointment to move: it may be cancelled or over (reinstate it from the schedule first)."
    return render(request, "error.html", {"title": "Not found", "message": message}, user=user, status_code=404)


@router.get("/appointments/{appointment_id}/edit", response_class=HTMLResponse)
def edit_appointment(request: Request, appointment_id: int, db: DbDep, user: PageUser, next: str = "") -> Response:
    appointment = _movable(db, user, appointment_id)
    if appointment is None:
        return _not_movable(request, user)
    return _form(request, db, user, {**values_of(appointment), "next": next}, {}, appointment=appointment)


@router.post("/appointments/{appointment_id}/edit", response_class=HTMLResponse)
async def move_appointment(request: Request, appointment_id: int, db: DbDep, user: PageUser) -> Response:
    data = await form_fields(request)
    return await run_in_threadpool(_move, request, db, user, appointment_id, data)


def _move(request: Request, db: Session, user: StaffUser, appointment_id: int, data: dict[str, str]) -> Response:
    appointment = _movable(db, user, appointment_id)
    if appointment is None:
        return _not_movable(request, user)
    changes, errors = read_visit(db, user.office_id, data, current=appointment)
    if errors:
        return _form(request, db, user, data, errors, appointment=appointment)
    try:
        booking.move(db, appointment, changes, f"user:{user.id}", _accepted(data))
    except booking.NeedsConfirmation as exc:
        db.rollback()
        return _form(request, db, user, data, {}, appointment=appointment, concerns=exc.concerns)
    db.commit()
    return _booked(request, db, appointment, "Saved")
