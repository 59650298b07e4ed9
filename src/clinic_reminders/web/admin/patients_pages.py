"""Patients: search, add, phones and preferences, consent and opt-out state with its history (staff and admins).

Adding and saving go through `patient_records`, as the JSON API's do, with the API's schemas: every consent
change is a consent event. A number Twilio refused shows why, with a "Try this number again" box (`retry`).
A patient's next visit is on its clinic's clock; their own history on the clock of their clinic (zones.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ... import patient_records
from ...models import (
    ACTIVE_STATUSES,
    Appointment,
    Clinic,
    ConsentEvent,
    Patient,
    PatientPhone,
    PhoneKind,
    StaffUser,
    utcnow,
)
from ...patient_search import patient_search
from ...phones import InvalidPhoneNumber, to_e164
from ..api.schemas.common import SUPPORTED_LANGUAGES
from ..api.schemas.patients import MAX_PHONES, PatientCreate, PatientUpdate
from ..deps import DbDep
from .auth import PageUser
from .csrf import check_csrf
from .forms import FieldErrors, call, checkbox, form_fields, parse
from .rendering import flash, render
from .waitlist_pages import patient_context
from .zones import zones_for

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

PAGE_SIZE = 50
PHONE_ROWS = 3  # boxes at least; a patient with more numbers gets one box each, plus an empty one
LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "fr": "French", "pt": "Portuguese", "zh": "Chinese"}
LANGUAGE_NAMES |= {"vi": "Vietnamese", "ko": "Korean", "ru": "Russian", "ar": "Arabic", "ht": "Haitian Creole"}
LANGUAGE_NAMES |= {"tl": "Tagalog"}


@router.get("/patients", response_class=HTMLResponse)
def patients_page(request: Request, db: DbDep, user: PageUser, q: str = "", page: int = 1) -> Response:
    q, page = q.strip()[:100], max(page, 1)
    stmt = select(Patient).where(Patient.office_id == user.office_id)
    if q:
        stmt = stmt.where(patient_search(q))
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    patients = list(
        db.scalars(
            stmt.options(selectinload(Patient.phones))
            .order_by(Patient.last_name, Patient.first_name, Patient.id)
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        )
    )
    context = {
        "title": "Patients",
        "section": "patients",
        "q": q,
        "patients": patients,
        "next_visit": _next_visits(db, [p.id for p in patients]),
        "total": total,
        "page": page,
        "pages": max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
    }
    return render(request, "patients.html", context, user=user, db=db)


def _next_visits(db: Session, patient_ids: list[int]) -> dict[int, tuple[datetime, str]]:
    """Each patient's next visit still expected: its start and its clinic's zone."""
    if not patient_ids:
        return {}
    rows = db.execute(
        select(Appointment.patient_id, Appointment.starts_at, Clinic.timezone)
        .join(Clinic, Clinic.id == Appointment.clinic_id)
        .where(
            Appointment.patient_id.in_(patient_ids),
            Appointment.starts_at > utcnow(),
            Appointment.status.in_(ACTIVE_STATUSES),
        )
        .order_by(Appointment.starts_at.desc())
    )
    return {patient_id: (starts_at, zone) for patient_id, starts_at, zone in rows}  # the earliest written last


def _values(patient: Patient) -> dict[str, Any]:
    values: dict[str, Any] = {
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "date_of_birth": patient.date_of_birth.isoformat() if patient.date_of_birth else "",
        "language": patient.language,
        "preferred_channel": patient.preferred_channel,
        "sms_consent": patient.sms_consent,
        "voice_consent": patient.voice_consent,
        "sms_opted_out": patient.sms_opted_out_at is not None,
        "voice_opted_out": patient.voice_opted_out_at is not None,
    }
    for i in range(_rows(patient, {})):
        phone = patient.phones[i] if i < len(patient.phones) else None
        values[f"phone_{i}"] = phone.number if phone else ""
        values[f"kind_{i}"] = phone.kind if phone else ""
    return values


def _rows(patient: Patient, values: dict[str, Any]) -> int:
    """Phone boxes: every number the patient has (an import or the API may give up to MAX_PHONES) or the form
    sent back, plus an empty one to add a number; never fewer than PHONE_ROWS. A number without a box would be
    dropped when the page is saved."""
    sent = max((i + 1 for i in range(MAX_PHONES) if values.get(f"phone_{i}")), default=0)
    return min(MAX_PHONES, max(PHONE_ROWS, len(patient.phones) + 1, sent))


def _refused(patient: Patient, values: dict[str, Any]) -> dict[int, PatientPhone]:
    """Phone box -> the patient's number in it that Twilio refused (matched by number, so a form sent back
    with its boxes reordered still shows each refusal next to its number)."""
    flagged = {p.number: p for p in patient.phones if p.invalid_at is not None}
    found: dict[int, PatientPhone] = {}
    for i in range(_rows(patient, values)):
        number = str(values.get(f"phone_{i}") or "").strip()
        if number and number not in flagged:
            try:
                number = to_e164(number)
            except InvalidPhoneNumber:
                continue
        if number in flagged:
            found[i] = flagged[number]
    return found


def _page(
    request: Request, db: Session, user: StaffUser, patient: Patient | None, values: dict[str, Any], errors: FieldErrors
) -> Response:
    """The patient's page, or the empty form to add one (`patient` None)."""
    if patient is None:
        context: dict[str, Any] = {
            "title": "Add a patient",
            "section": "patients",
            "patient": None,
            "v": values,
            "errors": errors,
            **_choices(),
            "phone_rows": PHONE_ROWS,
            "refused": {},
        }
        return render(request, "patient.html", context, user=user, db=db, status_code=422 if errors else 200)
    events = db.scalars(
        select(ConsentEvent).where(ConsentEvent.patient_id == patient.id).order_by(ConsentEvent.at.desc()).limit(50)
    )
    appointments = db.scalars(
        select(Appointment)
        .where(Appointment.patient_id == patient.id)
        .options(selectinload(Appointment.clinic), selectinload(Appointment.provider))
        .order_by(Appointment.starts_at.desc())
        .limit(10)
    )
    context = {
        "title": patient.full_name,
        "section": "patients",
        "patient": patient,
        "v": values,
        "errors": errors,
        "events": list(events),
        "appointments": list(appointments),
        **_choices(),
        "phone_rows": _rows(patient, values),
        "refused": _refused(patient, values),
        "zone": zones_for(db, user.office_id, [patient.id]).of_patient(patient.id),
        "now": utcnow(),
        **patient_context(db, patient, utcnow()),
    }
    return render(request, "patient.html", context, user=user, db=db, status_code=422 if errors else 200)


def _choices() -> dict[str, list[tuple[str, str]]]:
    return {
        "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in SUPPORTED_LANGUAGES],
        "kinds": [(k.value, k.value.capitalize()) for k in PhoneKind],
    }


def _patient(db: Session, user: StaffUser, patient_id: int) -> Patient | None:
    patient = db.get(Patient, patient_id)
    return patient if patient is not None and patient.office_id == user.office_id else None


NEW_PATIENT_VALUES: dict[str, Any] = {
    "language": "en",
    "preferred_channel": "sms",
    "sms_consent": True,
    "voice_consent": True,
}


@router.get("/patients/new", response_class=HTMLResponse)
def new_patient(request: Request, db: DbDep, user: PageUser) -> Response:
    return _page(request, db, user, None, dict(NEW_PATIENT_VALUES), {})


def _phone_box_errors(errors: FieldErrors) -> FieldErrors:
    """ "phones.1.number" -> the second phone box."""
    return {
        (f"phone_{k.split('.')[1]}" if k.startswith("phones.") and "." in k[7:] else k): m for k, m in errors.items()
    }


@router.post("/patients/new", response_class=HTMLResponse)
async def add_patient(request: Request, db: DbDep, user: PageUser) -> Response:
    data = await form_fields(request)
    values = _update(data, new=True)
    body, errors = parse(PatientCreate, values)
    if body is None:
        shown = {**data, **{k: v for k, v in values.items() if isinstance(v, bool)}}
        return _page(request, db, user, None, shown, _phone_box_errors(errors))
    patient = patient_records.add(db, user.office_id, body, user)
    db.commit()
    flash(request, "Patient added. Book their visit with “New appointment”.")
    return RedirectResponse(f"/patients/{patient.id}", status_code=303)


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(request: Request, patient_id: int, db: DbDep, user: PageUser) -> Response:
    patient = _patient(db, user, patient_id)
    if patient is None:
        context = {"title": "Not found", "message": "No such patient in your office."}
        return render(request, "error.html", context, user=user, status_code=404)
    return _page(request, db, user, patient, _values(patient), {})


def _update(data: dict[str, str], *, new: bool = False) -> dict[str, Any]:
    """The form's fields as the API's schema takes them (a new patient's phones have no `retry`)."""
    values: dict[str, Any] = {k: data.get(k, "") for k in ("first_name", "last_name", "language", "preferred_channel")}
    values["date_of_birth"] = data.get("date_of_birth") or None
    for flag in ("sms_consent", "voice_consent", "sms_opted_out", "voice_opted_out"):
        values[flag] = checkbox(data, flag)
    phones = []
    for i in range(MAX_PHONES):
        number = data.get(f"phone_{i}", "").strip()
        if number:
            phone = {"number": number, "kind": data.get(f"kind_{i}") or None}
            phones.append(phone if new else {**phone, "retry": checkbox(data, f"retry_{i}")})
    values["phones"] = phones
    return values


@router.post("/patients/{patient_id}", response_class=HTMLResponse)
async def save_patient(request: Request, patient_id: int, db: DbDep, user: PageUser) -> Response:
    patient = _patient(db, user, patient_id)
    if patient is None:
        context = {"title": "Not found", "message": "No such patient in your office."}
        return render(request, "error.html", context, user=user, status_code=404)
    data = await form_fields(request)
    values = _update(data)
    shown = {**data, **{k: v for k, v in values.items() if isinstance(v, bool)}}
    body, errors = parse(PatientUpdate, values)
    if body is not None:
        _, errors = call(patient_records.change, db, patient, body, user)
    if errors:
        db.rollback()
        return _page(request, db, user, patient, shown, _phone_box_errors(errors))
    db.commit()
    flash(request, "Patient saved.")
    return RedirectResponse(f"/patients/{patient.id}", status_code=303)
