"""The office row, staff users and API tokens: what `reminders user add` and `reminders token` do, and the
staff-users API's writes.

The office must always keep one active admin, so the last one can neither be demoted nor deactivated. The operator
role is given and taken only from the command line (`SYSTEM`), never by an office's admin: it reaches every office.
A suspended office's staff cannot sign in (`OfficeSuspended`).
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
SYSTEM = "system"  # the actor of the command line
SUSPENDED = "This office is suspended: ask your hosting provider to resume it."


class AccountError(Refused):
    """The account change cannot be made; `field` names the input at fault."""


class OfficeSuspended(Refused):
    """The user's office is suspended: they cannot sign in or use the API until the operator resumes it."""

    def __init__(self) -> None:
        super().__init__("", SUSPENDED, Refusal.CONFLICT)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("password", f"use at least {MIN_PASSWORD_LENGTH} characters")


def the_office(db: Session, name: str = "My medical office") -> Office:
    """The deployment's first office, created on first use: a single-office deployment's one office, whose Twilio
    account the TWILIO_* environment may give, and the command line's default office."""
    office = db.scalar(select(Office).order_by(Office.id).limit(1))
    if office is None:
        office = Office(name=name)
        db.add(office)
        db.flush()
        planning.ensure_default_rules(db, office)
    return office


def _operator_only_by_system(role: str, actor: str) -> None:
    if role == Role.OPERATOR and actor != SYSTEM:
        raise AccountError("role", "the operator role is given with `reminders user add --role operator` only")


def add_user(
    db: Session, office: Office, email: str, role: Role, password: str, name: str = "", actor: str = SYSTEM
) -> StaffUser:
    _operator_only_by_system(role, actor)
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
    if user.is_operator or "role" in values:
        _operator_only_by_system(Role.OPERATOR if user.is_operator else values["role"], actor)
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
        _operator_only_by_system(user.role, actor)
        if user.is_admin:
            _keeps_an_admin(db, user)
        user.active = False
        audit.record(db, user.office_id, actor, "deactivate", "staff_user", user.id)
    return user


def authenticate(db: Session, email: str, password: str) -> StaffUser | None:
    """None for a wrong email or password; raises `OfficeSuspended` for the right ones of a suspended office."""
    user = db.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))
    if user is None or not user.active or not verify_password(password, user.password_hash):
        return None
    check_office_active(db, user)
    user.last_login_at = utcnow()
    return user


def check_office_active(db: Session, user: StaffUser) -> Office:
    """The user's office; raises `OfficeSuspended` when it is suspended (every signed-in request asks)."""
    office = db.get(Office, user.office_id)
    assert office is not None  # office_id is a foreign key with ON DELETE CASCADE
    if office.suspended_at is not None:
        raise OfficeSuspended
    return office


def issue_token(db: Session, user: StaffUser) -> str:
    """A new bearer token for the JSON API; only its hash is kept, so this is the one time it is seen."""
    token, token_hash = new_api_token()
    db.add(ApiToken(user_id=user.id, token_hash=token_hash))
    audit.record(db, user.office_id, "system", "issue", "api_token", user.id)
    return token


def find_user(db: Session, email: str) -> StaffUser | None:
    return db.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))
