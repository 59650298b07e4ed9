"""The waitlist on the staff pages: joining from a patient's page (or with one click from a reschedule request on
the schedule), leaving, and the office's settings on the configuration page (admins).

Entries are made by `waitlist.entries` with the JSON API's schema, as `POST /api/waitlist` makes them; the
settings are saved by `waitlist.config`. The patient's page, the schedule and the configuration page include
this module's sections (`patient_context`, `config_context`; the schedule's slots come from `waitlist.views`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import booking
from ...models import (
    Appointment,
    Clinic,
    EntrySource,
    Office,
    Patient,
    Provider,
    WaitlistEntry,
    WaitlistSettings,
)
from ...refusals import Refused
from ...waitlist import config, entries, views
from ..api.schemas.waitlist import WaitlistEntryCreate
from ..deps import DbDep, audit_actor
from .auth import AdminPage, PageUser, safe_next
from .csrf import check_csrf
from .forms import checkbox, form_fields, parse
from .rendering import flash

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

KINDS = (("", "Either"), ("in-person", "In person"), ("telehealth", "Video"))


def patient_context(db: Session, patient: Patient, now: datetime) -> dict[str, Any]:
    """The waitlist card of the patient's page: their entries, and the join form's choices."""
    office_id = patient.office_id
    upcoming = db.scalars(
        select(Appointment)
        .where(
            Appointment.patient_id == patient.id,
            Appointment.status.in_(booking.HOLDS_ITS_TIME),
            Appointment.starts_at > now,
        )
        .order_by(Appointment.starts_at)
    )
    active = (Clinic.office_id == office_id) & Clinic.active.is_(True)
    return {
        "waitlist_entries": [(e, views.describe(e)) for e in views.entries_of(db, patient.id)],
        "waitlist_clinics": list(db.scalars(select(Clinic).where(active).order_by(Clinic.name))),
        "waitlist_providers": list(
            db.scalars(
                select(Provider)
                .where(Provider.office_id == office_id, Provider.active.is_(True))
                .order_by(Provider.name)
            )
        ),
        "waitlist_appointments": list(upcoming),
        "waitlist_kinds": KINDS,
        "weekday_names": views.WEEKDAYS,
    }


def _join_values(data: dict[str, str], patient_id: int) -> dict[str, Any]:
    values: dict[str, Any] = {"patient_id": patient_id}
    for name in ("clinic_id", "provider_id", "kind", "earliest_date", "latest_date", "day_starts", "day_ends"):
        values[name] = data.get(f"wl_{name}", "").strip() or None
    values["appointment_id"] = data.get("wl_appointment_id", "").strip() or None
    values["weekdays"] = [day for day in range(7) if checkbox(data, f"wl_weekday_{day}")]
    return values


def _office(db: Session, office_id: int) -> Office:
    office = db.get(Office, office_id)
    assert office is not None
    return office


@router.post("/patients/{patient_id}/waitlist")
async def join_from_patient_page(request: Request, patient_id: int, db: DbDep, user: PageUser) -> Response:
    back = f"/patients/{patient_id}"
    patient = db.get(Patient, patient_id)
    if patient is None or patient.office_id != user.office_id:
        raise HTTPException(404)
    body, errors = parse(WaitlistEntryCreate, _join_values(await form_fields(request), patient_id))
    if body is None:
        flash(request, "Not on the waitlist: " + "; ".join(f"{k}: {v}" for k, v in errors.items()), "error")
        return RedirectResponse(f"{back}#waitlist", status_code=303)
    try:
        entries.join(db, _office(db, user.office_id), body.to_join(), audit_actor(user), EntrySource.STAFF)
    except Refused as exc:
        db.rollback()
        flash(request, f"Not on the waitlist: {exc.detail}.", "error")
        return RedirectResponse(f"{back}#waitlist", status_code=303)
    db.commit()
    flash(request, "On the waitlist: an opening that suits is texted to the patient.")
    return RedirectResponse(f"{back}#waitlist", status_code=303)


@router.post("/waitlist/{entry_id}/remove")
async def remove_entry(request: Request, entry_id: int, db: DbDep, user: PageUser) -> Response:
    entry = db.get(WaitlistEntry, entry_id)
    if entry is None or entry.office_id != user.office_id:
        raise HTTPException(404)
    entries.remove(db, _office(db, user.office_id), entry, audit_actor(user))
    db.commit()
    flash(request, "Taken off the waitlist.")
    return RedirectResponse(f"/patients/{entry.patient_id}#waitlist", status_code=303)


@router.post("/schedule/appointments/{appointment_id}/waitlist")
async def join_from_schedule(request: Request, appointment_id: int, db: DbDep, user: PageUser) -> Response:
    """One click on a reschedule request: the patient waits for another time with the same clinic, provider and
    kind, and their appointment moves when they take an offer."""
    data = await form_fields(request)
    next_url = safe_next(data.get("next"), "/schedule")
    appointment = db.get(Appointment, appointment_id)
    if appointment is None or appointment.office_id != user.office_id:
        raise HTTPException(404)
    try:
        entries.for_appointment(db, _office(db, user.office_id), appointment, audit_actor(user), EntrySource.STAFF)
    except Refused as exc:
        db.rollback()
        flash(request, f"Not on the waitlist: {exc.detail}.", "error")
        return RedirectResponse(next_url, status_code=303)
    db.commit()
    flash(request, "On the waitlist: an earlier or other time that frees up is texted to the patient.")
    return RedirectResponse(next_url, status_code=303)


def config_context(db: Session, office: Office) -> dict[str, Any]:
    """The configuration page's waitlist section: the saved settings, or the defaults before any."""
    row = db.get(WaitlistSettings, office.id)
    if row is None:
        row = WaitlistSettings(
            enabled=True, wave_size=5, wave_minutes=10, cutoff_hours=2, offer_minutes=None, join_on_reschedule=False
        )
    return {"waitlist_settings": row}


def _whole(data: dict[str, str], name: str) -> int | None:
    raw = data.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise Refused(name, "give a whole number, e.g. 10")
    return int(raw)


@router.post("/config/waitlist")
async def save_waitlist_settings(request: Request, db: DbDep, user: AdminPage) -> Response:
    data = await form_fields(request)
    office = _office(db, user.office_id)
    try:
        sizes = {name: _whole(data, name) for name in ("wave_size", "wave_minutes", "cutoff_hours")}
        if any(value is None for value in sizes.values()):
            raise Refused(next(k for k, v in sizes.items() if v is None), "fill this in")
        change = config.Change(
            enabled=checkbox(data, "enabled"),
            wave_size=sizes["wave_size"] or 0,
            wave_minutes=sizes["wave_minutes"] or 0,
            cutoff_hours=sizes["cutoff_hours"] or 0,
            offer_minutes=_whole(data, "offer_minutes"),
            join_on_reschedule=checkbox(data, "join_on_reschedule"),
        )
        config.change(db, office, change, audit_actor(user))
    except Refused as exc:
        db.rollback()
        flash(request, f"Waitlist settings not saved: {exc.detail}.", "error")
        return RedirectResponse("/config#waitlist", status_code=303)
    db.commit()
    flash(request, "Waitlist settings saved.")
    return RedirectResponse("/config#waitlist", status_code=303)
