"""Offices as tenants: the operator adds, suspends and resumes offices (`reminders office ...`, /operator/offices).

A suspended office keeps its data: its staff cannot sign in (`accounts.authenticate`), its webhooks are refused
(`office_directory`), and its reminders are not dispatched (the dispatcher claims only for `ACTIVE_OFFICE_IDS`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import accounts, audit, planning
from .models import Office, Role, StaffUser, utcnow
from .refusals import Refusal, Refused

# The offices whose reminders are dispatched: a subquery to put in a claim, `Reminder.office_id.in_(...)`.
ACTIVE_OFFICE_IDS = select(Office.id).where(Office.suspended_at.is_(None))


class OfficeError(Refused):
    """The office cannot be added or changed; `field` names the input at fault."""


def active_office_ids(db: Session) -> list[int]:
    """The ids of the offices that are not suspended, in id order."""
    return list(db.scalars(ACTIVE_OFFICE_IDS.order_by(Office.id)))


def all_offices(db: Session) -> Sequence[Office]:
    return db.scalars(select(Office).order_by(Office.id)).all()


def find(db: Session, office_id: int) -> Office:
    office = db.get(Office, office_id)
    if office is None:
        raise OfficeError("office", f"no office {office_id}", Refusal.NOT_FOUND)
    return office


def chosen(db: Session, office_id: int | None) -> Office:
    """The office a command names, or without one the deployment's only office (created on first use)."""
    if office_id is not None:
        return find(db, office_id)
    if db.scalar(select(Office.id).order_by(Office.id).offset(1).limit(1)) is not None:
        raise OfficeError("office", "this deployment hosts several offices: name one with --office ID")
    return accounts.the_office(db)


def add_office(
    db: Session, name: str, admin_email: str, admin_password: str, admin_name: str = "", actor: str = accounts.SYSTEM
) -> tuple[Office, StaffUser]:
    """A new office with the default reminder rules and its first admin. Its Twilio account is its own (`hosted`):
    its admin enters it on the set-up page, the deployment's TWILIO_* environment is not its."""
    name = name.strip()
    if not name:
        raise OfficeError("name", "give the office a name")
    if len(name) > 200:
        raise OfficeError("name", "use at most 200 characters")
    office = Office(name=name, hosted=True)
    db.add(office)
    db.flush()
    planning.ensure_default_rules(db, office)
    admin = accounts.add_user(db, office, admin_email, Role.ADMIN, admin_password, name=admin_name, actor=actor)
    audit.record(db, office.id, actor, "create", "office", office.id)
    return office, admin


def suspend(db: Session, office: Office, actor: str = accounts.SYSTEM) -> Office:
    """Its staff are signed out at their next request. The office an operator belongs to cannot be suspended: the
    operator would lock themself out."""
    if office.suspended_at is None:
        operator = select(StaffUser.id).where(
            StaffUser.office_id == office.id, StaffUser.role == Role.OPERATOR, StaffUser.active.is_(True)
        )
        if db.scalar(operator.limit(1)) is not None:
            raise OfficeError("office", "this office holds an operator and cannot be suspended", Refusal.CONFLICT)
        office.suspended_at = utcnow()
        audit.record(db, office.id, actor, "suspend", "office", office.id)
    return office


def resume(db: Session, office: Office, actor: str = accounts.SYSTEM) -> Office:
    if office.suspended_at is not None:
        office.suspended_at = None
        audit.record(db, office.id, actor, "resume", "office", office.id)
    return office
