"""Providers: the people patients see, optionally attached to a clinic. Writes go through `clinic_records`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from ... import clinic_records
from ...models import Provider
from ..deps import CurrentUser, DbDep, OfficeDep, audit_actor
from .errors import NOT_FOUND
from .lookups import get_or_404
from .pagination import Page, PageDep, paginate
from .schemas.clinics import ProviderCreate, ProviderRead, ProviderUpdate
from .schemas.common import RowId

router = APIRouter(prefix="/providers", tags=["providers"])


@router.get("", summary="List providers")
def list_providers(
    db: DbDep,
    office: OfficeDep,
    page: PageDep,
    clinic_id: Annotated[RowId | None, Query(description="Only providers attached to this clinic.")] = None,
    active: Annotated[bool | None, Query(description="Only active (true) or deactivated (false) ones.")] = None,
) -> Page[ProviderRead]:
    stmt = select(Provider).where(Provider.office_id == office.id)
    if clinic_id is not None:
        stmt = stmt.where(Provider.clinic_id == clinic_id)
    if active is not None:
        stmt = stmt.where(Provider.active == active)
    return paginate(db, stmt.order_by(Provider.name, Provider.id), page, ProviderRead.model_validate)


@router.post("", status_code=201, summary="Add a provider")
def create_provider(body: ProviderCreate, db: DbDep, office: OfficeDep, user: CurrentUser) -> ProviderRead:
    provider = clinic_records.add_provider(db, office.id, body, audit_actor(user))
    db.commit()
    return ProviderRead.model_validate(provider)


@router.get("/{provider_id}", responses=NOT_FOUND, summary="One provider")
def get_provider(provider_id: RowId, db: DbDep, office: OfficeDep) -> ProviderRead:
    return ProviderRead.model_validate(get_or_404(db, Provider, provider_id, office, "provider"))


@router.patch("/{provider_id}", responses=NOT_FOUND, summary="Change a provider")
def update_provider(
    provider_id: RowId, body: ProviderUpdate, db: DbDep, office: OfficeDep, user: CurrentUser
) -> ProviderRead:
    provider = get_or_404(db, Provider, provider_id, office, "provider")
    clinic_records.change_provider(db, provider, body, audit_actor(user))
    db.commit()
    return ProviderRead.model_validate(provider)


@router.delete(
    "/{provider_id}",
    responses=NOT_FOUND,
    summary="Deactivate a provider",
    description="Sets `active` to false; their appointments keep them. PATCH `active: true` brings them back.",
)
def deactivate_provider(provider_id: RowId, db: DbDep, office: OfficeDep, user: CurrentUser) -> ProviderRead:
    provider = get_or_404(db, Provider, provider_id, office, "provider")
    clinic_records.deactivate_provider(db, provider, audit_actor(user))
    db.commit()
    return ProviderRead.model_validate(provider)
