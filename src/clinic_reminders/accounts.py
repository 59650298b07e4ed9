"""The office row, staff users and API tokens: what `reminders user add` and `reminders token` do."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, planning
from .crypto import hash_password, new_api_token, verify_password
from .models import ApiToken, Office, Role, StaffUser, utcnow

MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    pass


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
    email = email.strip().lower()
    if "@" not in email:
        raise AccountError("email: not an email address")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password: use at least {MIN_PASSWORD_LENGTH} characters")
    if db.scalar(select(StaffUser).where(StaffUser.email == email)) is not None:
        raise AccountError("email: a user with this email already exists")
    user = StaffUser(office_id=office.id, email=email, role=role, name=name, password_hash=hash_password(password))
    db.add(user)
    db.flush()
    audit.record(db, office.id, actor, "create", "staff_user", user.id, role=str(role))
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
