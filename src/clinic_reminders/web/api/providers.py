"""Providers: the people patients see, optionally attached to a clinic."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import audit
from ...models import Clinic, Office, Provider
from ..deps import CurrentUser, DbDep, OfficeDep, audit_actor
from .errors import NOT_FOUND
from .lookups import apply, get_or_404, get_ref, patch_values
from .pagination import Page, PageDep, paginate
from .schemas.clinics import ProviderCreate, ProviderRead, ProviderUpdate
from .schemas.common import RowId

router = APIRouter(prefix="/providers", tags=["providers"])


def _check_clinic(db: Session, office: Office, clinic_id: int | None) -> None:
    if clinic_id is not None:
        get_ref(db, Clinic, clinic_id, office, "clinic_id", "clinic")


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
    _check_clinic(db, office, body.clinic_id)
    provider = Provider(office_id=office.id, **body.model_dump())
    db.add(provider)
    db.flush()
    audit.record(db, office.id, audit_actor(user), "create", "provider", provider.id)
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
    values = patch_values(body, nullable=frozenset({"clinic_id"}))
    _check_clinic(db, office, values.get("clinic_id"))
    changed = apply(provider, values)
    if changed:
        audit.record(db, office.id, audit_actor(user), "update", "provider", provider.id, fields=changed)
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
    if provider.active:
        provider.active = False
        audit.record(db, office.id, audit_actor(user), "deactivate", "provider", provider.id)
        db.commit()
    return ProviderRead.model_validate(provider)
