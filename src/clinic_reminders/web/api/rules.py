"""Reminder rules: staff read them, admins change them (through `reminder_rules`, which re-plans every upcoming
appointment)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import select

from ... import reminder_rules
from ...models import ReminderRule
from ..deps import AdminUser, DbDep, OfficeDep, audit_actor
from .errors import ADMIN_ONLY, NOT_FOUND
from .lookups import get_or_404
from .pagination import Page, PageDep, paginate
from .schemas.common import RowId
from .schemas.rules import RuleCreate, RuleRead, RuleUpdate

router = APIRouter(prefix="/reminder-rules", tags=["reminder rules"])


@router.get("", summary="List reminder rules")
def list_rules(db: DbDep, office: OfficeDep, page: PageDep) -> Page[RuleRead]:
    stmt = select(ReminderRule).where(ReminderRule.office_id == office.id)
    return paginate(
        db, stmt.order_by(ReminderRule.clinic_id.nulls_first(), ReminderRule.id), page, RuleRead.model_validate
    )


@router.post("", status_code=201, responses=ADMIN_ONLY, summary="Add a rule (admin)")
def create_rule(body: RuleCreate, db: DbDep, office: OfficeDep, user: AdminUser) -> RuleRead:
    rule = reminder_rules.add(db, office, body, audit_actor(user))
    db.commit()
    return RuleRead.model_validate(rule)


@router.get("/{rule_id}", responses=NOT_FOUND, summary="Read a rule")
def read_rule(rule_id: RowId, db: DbDep, office: OfficeDep) -> RuleRead:
    return RuleRead.model_validate(get_or_404(db, ReminderRule, rule_id, office, "reminder rule"))


@router.patch("/{rule_id}", responses={**NOT_FOUND, **ADMIN_ONLY}, summary="Change a rule (admin)")
def update_rule(rule_id: RowId, body: RuleUpdate, db: DbDep, office: OfficeDep, user: AdminUser) -> RuleRead:
    rule = get_or_404(db, ReminderRule, rule_id, office, "reminder rule")
    reminder_rules.change(db, office, rule, body, audit_actor(user))
    db.commit()
    return RuleRead.model_validate(rule)


@router.delete("/{rule_id}", status_code=204, responses={**NOT_FOUND, **ADMIN_ONLY}, summary="Turn a rule off (admin)")
def deactivate_rule(rule_id: RowId, db: DbDep, office: OfficeDep, user: AdminUser) -> Response:
    rule = get_or_404(db, ReminderRule, rule_id, office, "reminder rule")
    reminder_rules.turn_off(db, office, rule, audit_actor(user))
    db.commit()
    return Response(status_code=204)
