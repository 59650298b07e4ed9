"""The office row, staff users and API tokens: what `reminders user add` and `reminders token` do, and the
staff-users API's writes.

The office must always keep one active admin, so the last one can neither be demoted nor deactivated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit, planning
from .crypto import hash_password, new_api_token, verify_password
from .models import ApiToken, Office, Role, StaffUser, utcnow
from .refusals import Refusal, Refused, apply, sent_values

if TYPE_CHECKING:  # the API's schema validates what an admin sends; importing it at run time would be circular
    from .web.api.schemas.staff_users import StaffUserUpdate

MIN_PASSWORD_LENGTH = 10


class AccountError(Refused):
    """The account change cannot be made; `field` names the input at fault."""


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("password", f"use at least {MIN_PASSWORD_LENGTH} characters")


def the_office(db: Session, name: str = "My medical office") -> Office:
    """The deployment's office (one per deployment today), created on first use."""
    office = db.scalar(select(Office).order_by(Office.id).limit(1))
    if office is None:
        office = Office(name=name)
        db.add(office)
        db.flush()
        planning.ensure_default_rules(db, office)
    return office


def add_user(
    db: Session, office: Office, email: str, role: Role, password: str, name: str = "", actor: str = "system"
) -> StaffUser:
    _check_password(password)
    email = email.strip().lower()
    if "@" not in email:
        raise AccountError("email", "not an email address")
    if db.scalar(select(StaffUser).where(StaffUser.email == email)) is not None:
        raise AccountError("email", "a user with this email already exists")
    user = StaffUser(office_id=office.id, email=email, role=role, name=name, password_hash=hash_password(password))
    db.add(user)
    db.flush()
    audit.record(db, office.id, actor, "create", "staff_user", user.id, role=str(role))
    return user


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
        message = "the office needs at least one active admin; make someone else admin first"
        raise AccountError("role", message, Refusal.CONFLICT)


def change_user(db: Session, user: StaffUser, body: StaffUserUpdate, actor: str) -> StaffUser:
    """Only the fields `body` sets change; a new password is stored hashed."""
    values = sent_values(body)
    values.pop("password", None)
    if user.is_admin and (values.get("role", Role.ADMIN) != Role.ADMIN or values.get("active") is False):
        _keeps_an_admin(db, user)
    changed = apply(user, values)
    if body.password is not None:
        _check_password(body.password.get_secret_value())
        user.password_hash = hash_password(body.password.get_secret_value())
        changed.append("password")
    if changed:
        audit.record(db, user.office_id, actor, "update", "staff_user", user.id, fields=sorted(changed))
    return user


def deactivate_user(db: Session, user: StaffUser, actor: str) -> StaffUser:
    """They can no longer sign in or use their API tokens."""
    if user.active:
        if user.is_admin:
            _keeps_an_admin(db, user)
        user.active = False
        audit.record(db, user.office_id, actor, "deactivate", "staff_user", user.id)
    return user


def authenticate(db: Session, email: str, password: str) -> StaffUser | None:
    user = db.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))
    if user is None or not user.active or not verify_password(password, user.password_hash):
        return None
    user.last_login_at = utcnow()
    return user


def issue_token(db: Session, user: StaffUser) -> str:
    """A new bearer token for the JSON API; only its hash is kept, so this is the one time it is seen."""
    token, token_hash = new_api_token()
    db.add(ApiToken(user_id=user.id, token_hash=token_hash))
    audit.record(db, user.office_id, "system", "issue", "api_token", user.id)
    return token


def find_user(db: Session, email: str) -> StaffUser | None:
    return db.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))
