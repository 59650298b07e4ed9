"""Clinics and providers (admins): list, add, edit. Forms are checked with the JSON API's schemas and saved by
the same service (`clinic_records`)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import clinic_records
from ...models import Clinic, Provider, StaffUser
from ..api.schemas.clinics import ClinicCreate, ClinicUpdate, ProviderCreate, ProviderUpdate
from ..deps import DbDep, audit_actor
from .auth import AdminPage
from .csrf import check_csrf
from .forms import FieldErrors, blank_to_none, call, checkbox, form_fields, parse
from .rendering import flash, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

CALLER_ID_HINT = (
    "Reminder calls show this number as caller ID, so it must be a verified caller ID at Twilio "
    "(Console › Phone Numbers › Verified Caller IDs) or one of the account's Twilio numbers. "
    "The set-up checklist checks it."
)


@lru_cache(maxsize=1)
def zone_names() -> list[str]:
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))


def _office_clinics(db: Session, office_id: int) -> list[Clinic]:
    return list(db.scalars(select(Clinic).where(Clinic.office_id == office_id).order_by(Clinic.name)))


def _not_found(request: Request, user: StaffUser) -> Response:
    context = {"title": "Not found", "message": "No such clinic or provider in your office."}
    return render(request, "error.html", context, user=user, status_code=404)


@router.get("/clinics", response_class=HTMLResponse)
def clinics_page(request: Request, db: DbDep, user: AdminPage) -> Response:
    clinics = _office_clinics(db, user.office_id)
    providers = list(db.scalars(select(Provider).where(Provider.office_id == user.office_id).order_by(Provider.name)))
    names = {c.id: c.name for c in clinics}
    context = {"title": "Clinics and providers", "section": "clinics", "clinics": clinics, "providers": providers}
    return render(request, "clinics.html", {**context, "clinic_names": names}, user=user, db=db)


def _clinic_form(
    request: Request, db: Session, user: StaffUser, clinic: Clinic | None, values: dict[str, Any], errors: FieldErrors
) -> Response:
    context = {
        "title": "Edit clinic" if clinic else "Add a clinic",
        "section": "clinics",
        "clinic": clinic,
        "v": values,
        "errors": errors,
        "zones": zone_names(),
        "caller_id_hint": CALLER_ID_HINT,
    }
    return render(request, "clinic_form.html", context, user=user, db=db, status_code=422 if errors else 200)


def _clinic_values(clinic: Clinic) -> dict[str, Any]:
    fields = ("name", "phone", "timezone", "address", "twilio_number", "active")
    return {name: getattr(clinic, name) for name in fields}


@router.get("/clinics/new", response_class=HTMLResponse)
def new_clinic(request: Request, db: DbDep, user: AdminPage) -> Response:
    return _clinic_form(request, db, user, None, {"timezone": "America/New_York", "active": True}, {})


@router.get("/clinics/{clinic_id}", response_class=HTMLResponse)
def edit_clinic(request: Request, clinic_id: int, db: DbDep, user: AdminPage) -> Response:
    clinic = db.get(Clinic, clinic_id)
    if clinic is None or clinic.office_id != user.office_id:
        return _not_found(request, user)
    return _clinic_form(request, db, user, clinic, _clinic_values(clinic), {})


@router.post("/clinics/{key}", response_class=HTMLResponse)
async def save_clinic(request: Request, key: str, db: DbDep, user: AdminPage) -> Response:
    data = await form_fields(request)
    fields = ("name", "phone", "timezone", "address", "twilio_number")
    values = blank_to_none({k: data.get(k, "") for k in fields}, "twilio_number")
    clinic: Clinic | None = None
    actor = audit_actor(user)
    if key == "new":
        body, errors = parse(ClinicCreate, values)
        saved = call(clinic_records.add_clinic, db, user.office_id, body, actor) if body else (None, errors)
    else:
        clinic = db.get(Clinic, int(key)) if key.isdigit() else None
        if clinic is None or clinic.office_id != user.office_id:
            return _not_found(request, user)
        body_u, errors = parse(ClinicUpdate, {**values, "active": checkbox(data, "active")})
        saved = call(clinic_records.change_clinic, db, clinic, body_u, actor) if body_u else (None, errors)
    result, errors = saved
    if result is None:
        db.rollback()
        return _clinic_form(request, db, user, clinic, {**values, "active": checkbox(data, "active")}, errors)
    db.commit()
    flash(request, f"Clinic “{result.name}” saved.")
    return RedirectResponse("/clinics", status_code=303)


def _provider_form(
    request: Request,
    db: Session,
    user: StaffUser,
    provider: Provider | None,
    values: dict[str, Any],
    errors: FieldErrors,
) -> Response:
    context = {
        "title": "Edit provider" if provider else "Add a provider",
        "section": "clinics",
        "provider": provider,
        "v": values,
        "errors": errors,
        "clinics": _office_clinics(db, user.office_id),
    }
    return render(request, "provider_form.html", context, user=user, db=db, status_code=422 if errors else 200)


@router.get("/providers/new", response_class=HTMLResponse)
def new_provider(request: Request, db: DbDep, user: AdminPage) -> Response:
    return _provider_form(request, db, user, None, {"title": "Dr.", "active": True}, {})


@router.get("/providers/{provider_id}", response_class=HTMLResponse)
def edit_provider(request: Request, provider_id: int, db: DbDep, user: AdminPage) -> Response:
    provider = db.get(Provider, provider_id)
    if provider is None or provider.office_id != user.office_id:
        return _not_found(request, user)
    values = {
        "name": provider.name,
        "title": provider.title,
        "clinic_id": provider.clinic_id,
        "active": provider.active,
    }
    return _provider_form(request, db, user, provider, values, {})


@router.post("/providers/{key}", response_class=HTMLResponse)
async def save_provider(request: Request, key: str, db: DbDep, user: AdminPage) -> Response:
    data = await form_fields(request)
    values = blank_to_none({k: data.get(k, "") for k in ("name", "title", "clinic_id")}, "clinic_id")
    provider: Provider | None = None
    actor = audit_actor(user)
    if key == "new":
        body, errors = parse(ProviderCreate, values)
        saved = call(clinic_records.add_provider, db, user.office_id, body, actor) if body else (None, errors)
    else:
        provider = db.get(Provider, int(key)) if key.isdigit() else None
        if provider is None or provider.office_id != user.office_id:
            return _not_found(request, user)
        body_u, errors = parse(ProviderUpdate, {**values, "active": checkbox(data, "active")})
        saved = call(clinic_records.change_provider, db, provider, body_u, actor) if body_u else (None, errors)
    result, errors = saved
    if result is None:
        db.rollback()
        return _provider_form(request, db, user, provider, {**values, "active": checkbox(data, "active")}, errors)
    db.commit()
    flash(request, f"Provider “{result.display_name}” saved.")
    return RedirectResponse("/clinics", status_code=303)
