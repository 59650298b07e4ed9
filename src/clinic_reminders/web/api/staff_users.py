"""Staff users: admins list them, add them, change their role, deactivate them.

The office must always keep one active admin, so the last one can neither be demoted nor deactivated.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ... import audit
from ...accounts import MIN_PASSWORD_LENGTH, AccountError, add_user
from ...crypto import hash_password
from ...models import Role, StaffUser
from ..deps import AdminUser, DbDep, OfficeDep, audit_actor
from .errors import ADMIN_ONLY, CONFLICT, NOT_FOUND, conflict, invalid
from .lookups import apply, get_or_404, patch_values
from .pagination import Page, PageDep, paginate
from .schemas.common import RowId
from .schemas.staff_users import StaffUserCreate, StaffUserRead, StaffUserUpdate

router = APIRouter(prefix="/staff-users", tags=["staff users"], responses=ADMIN_ONLY)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        invalid("password", f"use at least {MIN_PASSWORD_LENGTH} characters")


def _keeps_an_admin(db: Session, user: StaffUser) -> None:
    others = db.scalar(
        select(func.count())
        .select_from(StaffUser)
        .where(
            StaffUser.office_id == user.office_id,
            StaffUser.role == Role.ADMIN,
            StaffUser.active.is_(True),
            StaffUser.id != user.id,
        )
    )
    if not others:
        conflict("role", "the office needs at least one active admin; make someone else admin first")


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
    _check_password(body.password.get_secret_value())
    try:
        user = add_user(
            db, office, body.email, body.role, body.password.get_secret_value(), body.name, actor=audit_actor(admin)
        )
    except AccountError as exc:
        field, _, message = str(exc).partition(": ")
        invalid(field, message)
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
    values = patch_values(body)
    values.pop("password", None)
    if user.is_admin and (values.get("role", Role.ADMIN) != Role.ADMIN or values.get("active") is False):
        _keeps_an_admin(db, user)
    changed = apply(user, values)
    if body.password is not None:
        _check_password(body.password.get_secret_value())
        user.password_hash = hash_password(body.password.get_secret_value())
        changed.append("password")
    if changed:
        audit.record(db, office.id, audit_actor(admin), "update", "staff_user", user.id, fields=sorted(changed))
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
    if user.active:
        if user.is_admin:
            _keeps_an_admin(db, user)
        user.active = False
        audit.record(db, office.id, audit_actor(admin), "deactivate", "staff_user", user.id)
        db.commit()
    return StaffUserRead.model_validate(user)
