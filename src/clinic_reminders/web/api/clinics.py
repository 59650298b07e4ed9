"""Clinics: the office's locations, each with its caller-ID phone and time zone. Writes go through
`clinic_records`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from ... import clinic_records
from ...models import Clinic
from ..deps import CurrentUser, DbDep, OfficeDep, audit_actor
from .errors import NOT_FOUND
from .lookups import get_or_404
from .pagination import Page, PageDep, paginate
from .schemas.clinics import ClinicCreate, ClinicRead, ClinicUpdate
from .schemas.common import RowId

router = APIRouter(prefix="/clinics", tags=["clinics"])


@router.get("", summary="List clinics")
def list_clinics(
    db: DbDep,
    office: OfficeDep,
    page: PageDep,
    active: Annotated[bool | None, Query(description="Only active (true) or deactivated (false) ones.")] = None,
) -> Page[ClinicRead]:
    stmt = select(Clinic).where(Clinic.office_id == office.id)
    if active is not None:
        stmt = stmt.where(Clinic.active == active)
    return paginate(db, stmt.order_by(Clinic.name, Clinic.id), page, ClinicRead.model_validate)


@router.post("", status_code=201, summary="Add a clinic")
def create_clinic(body: ClinicCreate, db: DbDep, office: OfficeDep, user: CurrentUser) -> ClinicRead:
    clinic = clinic_records.add_clinic(db, office.id, body, audit_actor(user))
    db.commit()
    return ClinicRead.model_validate(clinic)


@router.get("/{clinic_id}", responses=NOT_FOUND, summary="One clinic")
def get_clinic(clinic_id: RowId, db: DbDep, office: OfficeDep) -> ClinicRead:
    return ClinicRead.model_validate(get_or_404(db, Clinic, clinic_id, office, "clinic"))


@router.patch(
    "/{clinic_id}",
    responses=NOT_FOUND,
    summary="Change a clinic",
    description="Only the fields sent change. Changing the time zone moves the local clock time of its "
    "appointments' reminders on their next re-plan.",
)
def update_clinic(clinic_id: RowId, body: ClinicUpdate, db: DbDep, office: OfficeDep, user: CurrentUser) -> ClinicRead:
    clinic = get_or_404(db, Clinic, clinic_id, office, "clinic")
    clinic_records.change_clinic(db, clinic, body, audit_actor(user))
    db.commit()
    return ClinicRead.model_validate(clinic)


@router.delete(
    "/{clinic_id}",
    responses=NOT_FOUND,
    summary="Deactivate a clinic",
    description="Clinics are never deleted (appointments refer to them): this sets `active` to false. "
    "PATCH `active: true` brings it back.",
)
def deactivate_clinic(clinic_id: RowId, db: DbDep, office: OfficeDep, user: CurrentUser) -> ClinicRead:
    clinic = get_or_404(db, Clinic, clinic_id, office, "clinic")
    clinic_records.deactivate_clinic(db, clinic, audit_actor(user))
    db.commit()
    return ClinicRead.model_validate(clinic)
