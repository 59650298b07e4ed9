"""PMS codes on the configuration screen: the location and provider codes imports met that nothing stands for
yet, each with a "Map it" (and, for a provider the import named, "Create provider"), the codes mapped, and a form
to map a code ahead of the imports. Saved by `pms_codes`, as the JSON API saves them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import pms_codes
from ...models import Clinic, PmsCode, PmsCodeKind, Provider
from ...refusals import Refused
from ..deps import DbDep, audit_actor
from .auth import AdminPage
from .csrf import check_csrf
from .forms import form_fields
from .rendering import flash
from .zones import office_zone

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

KINDS = {PmsCodeKind.LOCATION: "Location", PmsCodeKind.PROVIDER: "Provider"}
_BACK = "/config#pms-codes"


def pms_codes_context(db: Session, office_id: int) -> dict[str, Any]:
    """What the PMS codes part of the configuration page shows."""
    rows = pms_codes.listed(db, office_id)
    clinics = db.scalars(select(Clinic).where(Clinic.office_id == office_id, Clinic.active).order_by(Clinic.name))
    providers = db.scalars(
        select(Provider).where(Provider.office_id == office_id, Provider.active).order_by(Provider.name)
    )
    return {
        "pms_unknown": [row for row in rows if not row.mapped],
        "pms_mapped": [row for row in rows if row.mapped],
        "pms_kinds": KINDS,
        "pms_targets": {
            PmsCodeKind.LOCATION: [(c.id, c.name) for c in clinics],
            PmsCodeKind.PROVIDER: [(p.id, p.display_name) for p in providers],
        },
        "pms_zone": office_zone(db, office_id),
    }


def _target(kind: str, raw: str) -> dict[str, int | None]:
    """The form's choice as the service takes it: clinic_id for a location, provider_id for a provider."""
    chosen = int(raw) if raw.strip().isdigit() else None
    return {"clinic_id": chosen} if kind == PmsCodeKind.LOCATION else {"provider_id": chosen}


def _row(db: Session, user: AdminPage, code_id: int) -> PmsCode:
    row = db.get(PmsCode, code_id)
    if row is None or row.office_id != user.office_id:
        raise HTTPException(404, "No such PMS code in your office.")
    return row


def _done(request: Request, db: Session, text: str | None, refusal: Refused | None = None) -> Response:
    if refusal is not None:
        db.rollback()
        flash(request, f"Not saved: {refusal.message}.", "error")
    else:
        db.commit()
        if text:
            flash(request, text)
    return RedirectResponse(_BACK, status_code=303)


@router.post("/config/pms-codes")
async def add_code(request: Request, db: DbDep, user: AdminPage) -> Response:
    data = await form_fields(request)
    kind, _, target = data.get("target", "").partition(":")  # "location:3": clinic 3, "provider:5"
    try:
        if not target:
            raise Refused("target", "choose the clinic or the provider the code stands for")
        row = pms_codes.add(db, user.office_id, kind, data.get("code", ""), audit_actor(user), **_target(kind, target))
    except Refused as exc:
        return _done(request, db, None, exc)
    return _done(request, db, f"{KINDS[PmsCodeKind(row.kind)]} code “{row.code}” mapped.")


@router.post("/config/pms-codes/{code_id}/map")
async def map_code(request: Request, code_id: int, db: DbDep, user: AdminPage) -> Response:
    data = await form_fields(request)
    try:
        row = _row(db, user, code_id)
        target = _target(row.kind, data.get("target", ""))
        if not any(target.values()):
            raise Refused("target", "choose what the code stands for")
        pms_codes.map_code(db, row, audit_actor(user), **target)
    except Refused as exc:
        return _done(request, db, None, exc)
    return _done(request, db, f"Code “{row.code}” mapped: the next imports use it.")


@router.post("/config/pms-codes/{code_id}/provider")
async def create_provider(request: Request, code_id: int, db: DbDep, user: AdminPage) -> Response:
    try:
        row = _row(db, user, code_id)
        provider = pms_codes.create_provider(db, row, audit_actor(user))
    except Refused as exc:
        return _done(request, db, None, exc)
    return _done(request, db, f"Provider “{provider.display_name}” added, and code “{row.code}” mapped to them.")


@router.post("/config/pms-codes/{code_id}/unmap")
async def unmap_code(request: Request, code_id: int, db: DbDep, user: AdminPage) -> Response:
    try:
        row = _row(db, user, code_id)
        pms_codes.map_code(db, row, audit_actor(user))
    except Refused as exc:
        return _done(request, db, None, exc)
    return _done(request, db, f"Code “{row.code}” unmapped.")


@router.post("/config/pms-codes/{code_id}/delete")
async def delete_code(request: Request, code_id: int, db: DbDep, user: AdminPage) -> Response:
    try:
        row = _row(db, user, code_id)
        code = row.code
        pms_codes.remove(db, row, audit_actor(user))
    except Refused as exc:
        return _done(request, db, None, exc)
    return _done(request, db, f"Code “{code}” removed from the list.")
