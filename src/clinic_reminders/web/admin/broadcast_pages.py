"""Broadcasts on the staff pages: write one (a clinic, its days, the words in English and Spanish), see its
preview (how many visits are flagged, how many patients are texted and what it costs), send it, and follow it.

The preview and the sending are the JSON API's (`broadcasts.affected`, `broadcasts.confirm`) with the same
schema; the preview's token rides in the confirmation form, so a second click sends nothing more.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...broadcasts import affected, confirm, views
from ...effective import twilio_config
from ...messaging.compose import LANGUAGES
from ...models import Broadcast, Clinic, Office, StaffUser, utcnow
from ...refusals import Refused
from ..api.schemas.broadcasts import BroadcastAsk, BroadcastCreate
from ..deps import DbDep, SettingsDep, audit_actor
from .auth import PageUser
from .csrf import check_csrf
from .forms import FieldErrors, form_fields, parse, refused
from .rendering import flash, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

LABELS = {"clinic_id": "Clinic", "first_day": "From", "last_day": "To", "text_en": "English", "text_es": "Spanish"}


def _ask(data: dict[str, str]) -> dict[str, Any]:
    texts = {lang: data.get(f"text_{lang}", "") for lang in LANGUAGES}
    values: dict[str, Any] = {name: data.get(name, "").strip() for name in ("clinic_id", "first_day", "last_day")}
    return {**values, "texts": {lang: text for lang, text in texts.items() if text.strip()}}


def _form_errors(errors: FieldErrors) -> FieldErrors:
    """The API's field names as the form names its boxes (`texts.en` is the box `text_en`)."""
    return {name.replace("texts.", "text_").replace("texts", "text_en"): message for name, message in errors.items()}


def _office(db: Session, user: StaffUser) -> Office:
    office = db.get(Office, user.office_id)
    assert office is not None
    return office


def _list_page(
    request: Request,
    db: Session,
    user: StaffUser,
    values: dict[str, str] | None = None,
    errors: FieldErrors | None = None,
) -> Response:
    clinics = list(
        db.scalars(select(Clinic).where(Clinic.office_id == user.office_id, Clinic.active).order_by(Clinic.name))
    )
    broadcasts = list(
        db.scalars(select(Broadcast).where(Broadcast.office_id == user.office_id).order_by(Broadcast.id.desc()))
    )
    context = {
        "title": "Broadcasts",
        "section": "broadcasts",
        "clinics": clinics,
        "broadcasts": [(b, views.counts(db, b.id)) for b in broadcasts],
        "v": values or {},
        "errors": errors or {},
        "labels": LABELS,
    }
    return render(request, "broadcasts.html", context, user=user, db=db, status_code=422 if errors else 200)


@router.get("/broadcasts", response_class=HTMLResponse)
def broadcasts_page(request: Request, db: DbDep, user: PageUser) -> Response:
    return _list_page(request, db, user)


@router.post("/broadcasts/preview", response_class=HTMLResponse)
async def preview_page(request: Request, db: DbDep, settings: SettingsDep, user: PageUser) -> Response:
    data = await form_fields(request)
    body, errors = parse(BroadcastAsk, _ask(data))
    office = _office(db, user)
    if body is None:
        return _list_page(request, db, user, data, _form_errors(errors))
    try:
        found = affected.preview(db, office, twilio_config(settings, office), body.to_ask(), utcnow())
    except Refused as exc:
        return _list_page(request, db, user, data, _form_errors(refused(exc)))
    clinic = db.get(Clinic, body.clinic_id)
    context = {"title": "Broadcast preview", "section": "broadcasts", "p": found, "ask": body, "clinic": clinic}
    return render(request, "broadcast_preview.html", context, user=user, db=db)


@router.post("/broadcasts")
async def send_broadcast(request: Request, db: DbDep, settings: SettingsDep, user: PageUser) -> Response:
    data = await form_fields(request)
    body, errors = parse(BroadcastCreate, {**_ask(data), "token": data.get("token", "")})
    office = _office(db, user)
    if body is None:
        return _list_page(request, db, user, data, _form_errors(errors))
    config = twilio_config(settings, office)
    try:
        broadcast, made = confirm.confirm(db, office, config, body.to_ask(), body.token, audit_actor(user), utcnow())
        db.commit()
    except Refused as exc:
        db.rollback()
        return _list_page(request, db, user, data, _form_errors(refused(exc)))
    except IntegrityError:  # the same confirmation submitted twice at once: the first one's broadcast stands
        db.rollback()
        found = confirm.by_token(db, office.id, body.token)
        if found is None:
            raise
        broadcast, made = found, False
    if made:
        flash(request, f"Broadcast sent: {broadcast.visits} visits flagged to reschedule; the texts are on their way.")
    else:
        flash(request, "This broadcast was already sent: nothing was sent again.")
    return RedirectResponse(f"/broadcasts/{broadcast.id}", status_code=303)


@router.get("/broadcasts/{broadcast_id}", response_class=HTMLResponse)
def broadcast_page(request: Request, broadcast_id: int, db: DbDep, user: PageUser) -> Response:
    broadcast = db.get(Broadcast, broadcast_id)
    if broadcast is None or broadcast.office_id != user.office_id:
        missing = {"title": "Not found", "message": "No such broadcast."}
        return render(request, "error.html", missing, user=user, db=db, status_code=404)
    context: dict[str, Any] = {
        "title": f"Broadcast #{broadcast.id}",
        "section": "broadcasts",
        "b": broadcast,
        "counts": views.counts(db, broadcast.id),
        "recipients": views.recipients(db, broadcast.id),
        "flag": confirm.FLAG.format(id=broadcast.id),
    }
    return render(request, "broadcast.html", context, user=user, db=db)
