"""Reminder rules: staff read them, admins change them; a change re-plans every upcoming appointment."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import audit, planning
from ...models import ACTIVE_STATUSES, Appointment, Clinic, Office, ReminderRule, utcnow
from ..deps import AdminUser, DbDep, OfficeDep, audit_actor
from .errors import ADMIN_ONLY, NOT_FOUND, invalid
from .lookups import apply, get_or_404, get_ref, patch_values
from .pagination import Page, PageDep, paginate
from .schemas.common import RowId
from .schemas.rules import RuleCreate, RuleRead, RuleUpdate

router = APIRouter(prefix="/reminder-rules", tags=["reminder rules"])


def replan_upcoming(db: Session, office: Office) -> int:
    """After a rule change: bring every upcoming appointment's reminders in line (one bulk pass)."""
    db.flush()
    upcoming = list(
        db.scalars(
            select(Appointment).where(
                Appointment.office_id == office.id,
                Appointment.status.in_(ACTIVE_STATUSES),
                Appointment.starts_at > utcnow(),
            )
        )
    )
    return planning.plan_many(db, office, upcoming)


@router.get("", summary="List reminder rules")
def list_rules(db: DbDep, office: OfficeDep, page: PageDep) -> Page[RuleRead]:
    stmt = select(ReminderRule).where(ReminderRule.office_id == office.id)
    return paginate(
        db, stmt.order_by(ReminderRule.clinic_id.nulls_first(), ReminderRule.id), page, RuleRead.model_validate
    )


@router.post("", status_code=201, responses=ADMIN_ONLY, summary="Add a rule (admin)")
def create_rule(body: RuleCreate, db: DbDep, office: OfficeDep, user: AdminUser) -> RuleRead:
    if body.clinic_id is not None:
        get_ref(db, Clinic, body.clinic_id, office, "clinic_id", "clinic")
    rule = ReminderRule(office_id=office.id, **body.model_dump())
    db.add(rule)
    db.flush()
    audit.record(db, office.id, audit_actor(user), "create", "reminder_rule", rule.id)
    replan_upcoming(db, office)
    db.commit()
    return RuleRead.model_validate(rule)


@router.get("/{rule_id}", responses=NOT_FOUND, summary="Read a rule")
def read_rule(rule_id: RowId, db: DbDep, office: OfficeDep) -> RuleRead:
    return RuleRead.model_validate(get_or_404(db, ReminderRule, rule_id, office, "reminder rule"))


@router.patch("/{rule_id}", responses={**NOT_FOUND, **ADMIN_ONLY}, summary="Change a rule (admin)")
def update_rule(rule_id: RowId, body: RuleUpdate, db: DbDep, office: OfficeDep, user: AdminUser) -> RuleRead:
    rule = get_or_404(db, ReminderRule, rule_id, office, "reminder rule")
    values = patch_values(body, nullable=frozenset({"days_before", "at_local_time", "minutes_before"}))
    changed = apply(rule, values)
    if (rule.minutes_before is None) == (rule.days_before is None or rule.at_local_time is None):
        invalid("minutes_before", "a rule is either 'days_before at at_local_time' or 'minutes_before'")
    if changed:
        audit.record(db, office.id, audit_actor(user), "update", "reminder_rule", rule.id, fields=changed)
        replan_upcoming(db, office)
    db.commit()
    return RuleRead.model_validate(rule)


@router.delete("/{rule_id}", status_code=204, responses={**NOT_FOUND, **ADMIN_ONLY}, summary="Turn a rule off (admin)")
def deactivate_rule(rule_id: RowId, db: DbDep, office: OfficeDep, user: AdminUser) -> Response:
    rule = get_or_404(db, ReminderRule, rule_id, office, "reminder rule")
    rule.active = False  # kept for the trail of reminders it planned
    audit.record(db, office.id, audit_actor(user), "deactivate", "reminder_rule", rule.id)
    replan_upcoming(db, office)
    db.commit()
    return Response(status_code=204)
