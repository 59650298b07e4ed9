"""Staff users: admins list them, add them, change their role, deactivate them (through `accounts`, which keeps
the office one active admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from ... import accounts
from ...models import Role, StaffUser
from ..deps import AdminUser, DbDep, OfficeDep, audit_actor
from .errors import ADMIN_ONLY, CONFLICT, NOT_FOUND
from .lookups import get_or_404
from .pagination import Page, PageDep, paginate
from .schemas.common import RowId
from .schemas.staff_users import StaffUserCreate, StaffUserRead, StaffUserUpdate

router = APIRouter(prefix="/staff-users", tags=["staff users"], responses=ADMIN_ONLY)


@router.get("", summary="List staff users (admins only)")
def list_staff_users(
    db: DbDep,
    office: OfficeDep,
    page: PageDep,
    _admin: AdminUser,
    active: Annotated[bool | None, Query()] = None,
    role: Annotated[Role | None, Query()] = None,
) -> Page[StaffUserRead]:
    stmt = select(StaffUser).where(StaffUser.office_id == office.id)
    if active is not None:
        stmt = stmt.where(StaffUser.active == active)
    if role is not None:
        stmt = stmt.where(StaffUser.role == role)
    return paginate(db, stmt.order_by(StaffUser.email, StaffUser.id), page, StaffUserRead.model_validate)


@router.post("", status_code=201, summary="Add a staff user (admins only)")
def create_staff_user(body: StaffUserCreate, db: DbDep, office: OfficeDep, admin: AdminUser) -> StaffUserRead:
    password = body.password.get_secret_value()
    user = accounts.add_user(db, office, body.email, body.role, password, body.name, actor=audit_actor(admin))
    db.commit()
    return StaffUserRead.model_validate(user)


@router.get("/{user_id}", responses=NOT_FOUND, summary="One staff user (admins only)")
def get_staff_user(user_id: RowId, db: DbDep, office: OfficeDep, _admin: AdminUser) -> StaffUserRead:
    return StaffUserRead.model_validate(get_or_404(db, StaffUser, user_id, office, "staff user"))


@router.patch(
    "/{user_id}",
    responses={**NOT_FOUND, **CONFLICT},
    summary="Change a staff user's name, role, password or active flag (admins only)",
)
def update_staff_user(
    user_id: RowId, body: StaffUserUpdate, db: DbDep, office: OfficeDep, admin: AdminUser
) -> StaffUserRead:
    user = get_or_404(db, StaffUser, user_id, office, "staff user")
    accounts.change_user(db, user, body, audit_actor(admin))
    db.commit()
    return StaffUserRead.model_validate(user)


@router.delete(
    "/{user_id}",
    responses={**NOT_FOUND, **CONFLICT},
    summary="Deactivate a staff user (admins only)",
    description="They can no longer sign in or use their API tokens; PATCH `active: true` lets them back.",
)
def deactivate_staff_user(user_id: RowId, db: DbDep, office: OfficeDep, admin: AdminUser) -> StaffUserRead:
    user = get_or_404(db, StaffUser, user_id, office, "staff user")
    accounts.deactivate_user(db, user, audit_actor(admin))
    db.commit()
    return StaffUserRead.model_validate(user)
