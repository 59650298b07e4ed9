"""Carrier registration (admins): the business profile that A2P 10DLC and toll-free verification submit, where
each registration stands with what Twilio found wrong, and what the campaign registers (the office's own texts).

Fields are validated by the same schema as `PATCH /api/office/registration` and saved by the same service
(registration.profile.save_profile); every bad field is reported at once and nothing is saved until all are right.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from ... import audit
from ...doctor.register import Registrar
from ...effective import NotConfigured, twilio_config
from ...models import BusinessType, JobPosition, Office, OptInType, StaffUser
from ...registration import a2p, fees
from ...registration.profile import LABELS, profile_of, save_profile
from ..api.registration import registration_read
from ..api.schemas.registration import BusinessProfileUpdate
from ..deps import DbDep, SettingsDep, audit_actor, shared_gateway
from .auth import AdminPage
from .csrf import check_csrf
from .forms import FieldErrors, checkbox, form_fields, parse
from .rendering import flash, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

FIELDS = tuple(BusinessProfileUpdate.model_fields)
KIND_TITLES = {
    "customer_profile": "Business profile (Trust Hub)",
    "trust_product": "A2P messaging profile (Trust Hub)",
    "brand": "A2P 10DLC brand",
    "campaign": "A2P 10DLC campaign",
    "tollfree": "Toll-free verification",
    "carrier_block": "Blocked by carriers",
}


def _show(
    request: Request,
    db: Session,
    office: Office,
    user: StaffUser,
    *,
    values: dict[str, Any] | None = None,
    errors: FieldErrors | None = None,
) -> Response:
    read = registration_read(db, request.app.state.settings, office)
    costs = fees.a2p_fees(low_volume=a2p.low_volume(profile_of(db, office)))
    db.commit()  # the empty profile made on first visit
    context = {
        "title": "Carrier registration",
        "section": "config",
        "v": {**read.profile.model_dump(), **(values or {})},
        "errors": errors or {},
        "read": read,
        "labels": LABELS,
        "business_types": [(t.value, t.value) for t in BusinessType],
        "job_positions": [(p.value, p.value) for p in JobPosition],
        "opt_in_types": [(t.value, t.value.replace("_", " ").capitalize()) for t in OptInType],
        "kind_titles": KIND_TITLES,
        "fees": costs,
        "fees_source": fees.SOURCE,
        "fees_current": fees.CURRENT,
    }
    return render(request, "registration.html", context, user=user, db=db, status_code=422 if errors else 200)


@router.get("/config/registration", response_class=HTMLResponse)
def registration_page(request: Request, db: DbDep, user: AdminPage) -> Response:
    office = db.get(Office, user.office_id)
    assert office is not None
    return _show(request, db, office, user)


@router.post("/config/registration", response_class=HTMLResponse)
async def save_registration(request: Request, db: DbDep, settings: SettingsDep, user: AdminPage) -> Response:
    office = db.get(Office, user.office_id)
    assert office is not None
    data = await form_fields(request)
    values: dict[str, Any] = {name: data[name].strip() for name in FIELDS if name in data}
    if values.get("monthly_volume") == "":
        values.pop("monthly_volume")
    body, errors = parse(BusinessProfileUpdate, values)
    if body is None or errors:
        return _show(request, db, office, user, values=values, errors=errors)
    save_profile(db, office, body.model_dump(exclude_unset=True, exclude_none=True), audit_actor(user))
    db.commit()
    flash(request, "Business profile saved.")
    return RedirectResponse("/config/registration", status_code=303)


@router.post("/config/registration/submit")
async def submit_registration(request: Request, db: DbDep, settings: SettingsDep, user: AdminPage) -> Response:
    """`reminders setup twilio --register` from the page. Twilio's set-up calls are synchronous: they run in the
    threadpool, never on the event loop (the demo's simulator answers from it)."""
    office = db.get(Office, user.office_id)
    assert office is not None
    accepted = checkbox(await form_fields(request), "accept_fees")
    try:
        gateway = shared_gateway(request.app, twilio_config(settings, office))
    except NotConfigured as exc:
        flash(request, f"{exc}: finish the Twilio set-up first.", "error")
        return RedirectResponse("/config/registration#status", status_code=303)
    sessions = request.app.state.sessions
    registrar = Registrar(settings, sessions, gateway, office_id=office.id, confirm=lambda _fees: accepted)
    for step in await run_in_threadpool(registrar.run):
        kind = {"failed": "error", "action_needed": "warn"}.get(step.status, "ok")
        flash(request, f"{step.id.replace('_', ' ').capitalize()}: {step.message}", kind)
        if step.status == "done":
            audit.record(db, office.id, audit_actor(user), "register", "twilio", None, step=step.id)
    db.commit()
    return RedirectResponse("/config/registration#status", status_code=303)
