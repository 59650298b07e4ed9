"""Reminder rules on the configuration screen: when each text or call goes out. Saved by `reminder_rules`, as the
JSON API saves them, which re-plans what is ahead; rules are turned off rather than deleted.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import reminder_rules
from ...models import Channel, Clinic, Office, ReminderRule, RuleCondition
from ..api.schemas.rules import RuleCreate, RuleUpdate
from ..deps import DbDep, audit_actor, get_office
from .auth import AdminPage
from .csrf import check_csrf
from .forms import FieldErrors, call, checkbox, form_fields, parse
from .rendering import flash

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

CONDITIONS = {
    RuleCondition.ALWAYS: "Always",
    RuleCondition.UNANSWERED: "Only if no answer yet",
    RuleCondition.UNANSWERED_AND_NO_SMS: "Only if no answer and no working mobile",
}


def describe(rule: ReminderRule) -> str:
    noun = "Text" if rule.channel == Channel.SMS else "Call"
    if rule.minutes_before is not None:
        hours, minutes = divmod(rule.minutes_before, 60)
        span = f"{hours} h {minutes} min" if hours and minutes else f"{hours} h" if hours else f"{minutes} min"
        return f"{noun} {span} before"
    days = "the same day" if rule.days_before == 0 else f"{rule.days_before} day(s) before"
    at = rule.at_local_time.strftime("%H:%M") if rule.at_local_time else ""
    return f"{noun} {days} at {at} (clinic time)"


def rule_values(rule: ReminderRule | None) -> dict[str, Any]:
    if rule is None:
        return {
            "channel": "sms",
            "timing": "days",
            "days_before": 1,
            "at_local_time": "10:00",
            "active": True,
            "appointment_kinds": ["in-person", "telehealth"],
            "skip_if_confirmed": True,
            "condition": "always",
        }
    return {
        "name": rule.name,
        "clinic_id": rule.clinic_id,
        "channel": rule.channel,
        "timing": "minutes" if rule.minutes_before is not None else "days",
        "days_before": rule.days_before,
        "at_local_time": rule.at_local_time.strftime("%H:%M") if rule.at_local_time else "",
        "minutes_before": rule.minutes_before,
        "condition": rule.condition,
        "appointment_kinds": list(rule.appointment_kinds),
        "skip_if_confirmed": rule.skip_if_confirmed,
        "active": rule.active,
    }


def rules_context(
    db: Session, office: Office, editing: tuple[str, dict[str, Any], FieldErrors] | None = None
) -> dict[str, Any]:
    """What the rules part of the configuration page shows; `editing` is a refused form to show again."""
    rules = list(db.scalars(select(ReminderRule).where(ReminderRule.office_id == office.id).order_by(ReminderRule.id)))
    forms: dict[str, tuple[ReminderRule | None, dict[str, Any], FieldErrors]]
    forms = {str(r.id): (r, rule_values(r), {}) for r in rules}
    forms["new"] = (None, rule_values(None), {})
    if editing is not None and editing[0] in forms:
        key, values, errors = editing
        forms[key] = (forms[key][0], values, errors)
    clinics = db.scalars(select(Clinic).where(Clinic.office_id == office.id).order_by(Clinic.name))
    return {
        "rule_forms": forms,
        "describe": describe,
        "conditions": CONDITIONS,
        "rule_clinics": [(c.id, c.name) for c in clinics],
    }


def _api_values(data: dict[str, str], kinds: list[str], new: bool) -> dict[str, Any]:
    """The form as the rules API takes it: one kind of timing, the other one null."""
    values: dict[str, Any] = {k: data.get(k, "").strip() for k in ("name", "channel", "condition")}
    if data.get("timing") == "minutes":
        values.update(minutes_before=data.get("minutes_before") or None, days_before=None, at_local_time=None)
    else:
        values.update(
            days_before=data.get("days_before") or None,
            at_local_time=data.get("at_local_time") or None,
            minutes_before=None,
        )
    values.update(
        appointment_kinds=kinds,
        skip_if_confirmed=checkbox(data, "skip_if_confirmed"),
        active=checkbox(data, "active"),
    )
    if new:
        values["clinic_id"] = data.get("clinic_id") or None
        values = {k: v for k, v in values.items() if v is not None}  # unset rather than null on create
    return values


async def _save(request: Request, db: DbDep, user: AdminPage, key: str) -> Response:
    from .config_page import show_config  # the page these forms are part of

    office = get_office(user, db)
    rule = None if key == "new" else db.get(ReminderRule, int(key))
    if key != "new" and (rule is None or rule.office_id != office.id):
        raise HTTPException(404, "No such reminder rule in your office.")
    form = await request.form()
    kinds = [v for v in form.getlist("appointment_kinds") if isinstance(v, str)]
    data = await form_fields(request)
    values = _api_values(data, kinds, new=key == "new")
    shown = {**values, "timing": data.get("timing", "days"), "clinic_id": data.get("clinic_id")}
    result: ReminderRule | None = None
    if key == "new":
        body, errors = parse(RuleCreate, values)
        if body is not None:
            result, errors = call(reminder_rules.add, db, office, body, audit_actor(user))
    else:
        body_u, errors = parse(RuleUpdate, values)
        if rule is not None and body_u is not None:
            result, errors = call(reminder_rules.change, db, office, rule, body_u, audit_actor(user))
    if result is None:
        db.rollback()
        return show_config(request, db, office, user, rule_editing=(key, shown, errors))
    db.commit()
    flash(request, f"Rule “{result.name}” saved. Upcoming appointments were re-planned.")
    return RedirectResponse("/config#rules", status_code=303)


@router.post("/config/rules")
async def add_rule(request: Request, db: DbDep, user: AdminPage) -> Response:
    return await _save(request, db, user, "new")


@router.post("/config/rules/{rule_id}")
async def update_rule(request: Request, rule_id: int, db: DbDep, user: AdminPage) -> Response:
    return await _save(request, db, user, str(rule_id))
