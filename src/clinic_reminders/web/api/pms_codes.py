"""PMS codes (admins): the practice-management system's location and provider codes that imports met and the
clinic or provider each stands for. Changes go through `pms_codes`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from ... import pms_codes
from ...models import PmsCode
from ..deps import AdminUser, DbDep, OfficeDep, audit_actor, require_admin
from .errors import ADMIN_ONLY, CONFLICT, NOT_FOUND
from .lookups import get_or_404
from .schemas.clinics import ProviderRead
from .schemas.common import RowId
from .schemas.pms_codes import PmsCodeCreate, PmsCodeMap, PmsCodeRead, ProviderFromCode

router = APIRouter(prefix="/pms-codes", tags=["pms codes"], dependencies=[Depends(require_admin)], responses=ADMIN_ONLY)


@router.get(
    "",
    summary="List PMS codes (admin)",
    description="Codes not mapped yet first (most recently met first), then the mapped ones.",
)
def list_pms_codes(
    db: DbDep,
    office: OfficeDep,
    mapped: Annotated[bool | None, Query(description="Only mapped (true) or not mapped (false) codes.")] = None,
) -> list[PmsCodeRead]:
    return [PmsCodeRead.model_validate(row) for row in pms_codes.listed(db, office.id, mapped=mapped)]


@router.post("", status_code=201, responses=CONFLICT, summary="Map a code before imports meet it (admin)")
def create_pms_code(body: PmsCodeCreate, db: DbDep, office: OfficeDep, user: AdminUser) -> PmsCodeRead:
    row = pms_codes.add(
        db, office.id, body.kind, body.code, audit_actor(user), clinic_id=body.clinic_id, provider_id=body.provider_id
    )
    db.commit()
    return PmsCodeRead.model_validate(row)


@router.patch("/{code_id}", responses=NOT_FOUND, summary="Map or unmap a code (admin)")
def map_pms_code(code_id: RowId, body: PmsCodeMap, db: DbDep, office: OfficeDep, user: AdminUser) -> PmsCodeRead:
    row = get_or_404(db, PmsCode, code_id, office, "PMS code")
    pms_codes.map_code(db, row, audit_actor(user), clinic_id=body.clinic_id, provider_id=body.provider_id)
    db.commit()
    return PmsCodeRead.model_validate(row)


@router.post(
    "/{code_id}/provider",
    status_code=201,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Create the provider a code names, and map the code to them (admin)",
)
def create_provider_from_code(
    code_id: RowId, body: ProviderFromCode, db: DbDep, office: OfficeDep, user: AdminUser
) -> ProviderRead:
    row = get_or_404(db, PmsCode, code_id, office, "PMS code")
    provider = pms_codes.create_provider(db, row, audit_actor(user), clinic_id=body.clinic_id)
    db.commit()
    return ProviderRead.model_validate(provider)


@router.delete("/{code_id}", status_code=204, responses=NOT_FOUND, summary="Forget a code (admin)")
def delete_pms_code(code_id: RowId, db: DbDep, office: OfficeDep, user: AdminUser) -> Response:
    pms_codes.remove(db, get_or_404(db, PmsCode, code_id, office, "PMS code"), audit_actor(user))
    db.commit()
    return Response(status_code=204)
