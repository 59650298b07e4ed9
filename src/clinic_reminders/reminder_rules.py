"""The one path by which reminder rules are added, changed and turned off: the JSON API and the configuration
screen both call it. Every change re-plans the reminders of the office's upcoming appointments, in the caller's
transaction, so that what is planned always follows the rules in force.

Rules are turned off rather than deleted, so that the reminders they planned stay in each appointment's trail.
Nothing is committed here: the caller commits, or rolls back on `Refused`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, planning
from .models import ACTIVE_STATUSES, Appointment, Clinic, Office, ReminderRule, utcnow
from .refusals import Refused, apply, referenced, sent_values

if TYPE_CHECKING:  # the API's schemas validate what staff type; importing them at run time would be circular
    from .web.api.schemas.rules import RuleCreate, RuleUpdate

TIMING = frozenset({"days_before", "at_local_time", "minutes_before"})


def replan_upcoming(db: Session, office: Office) -> int:
    """Brings every upcoming appointment's reminders in line with the rules (one bulk pass)."""
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


def add(db: Session, office: Office, body: RuleCreate, actor: str) -> ReminderRule:
    if body.clinic_id is not None:
        referenced(db, Clinic, body.clinic_id, office.id, "clinic_id", "clinic")
    rule = ReminderRule(office_id=office.id, **body.model_dump())
    db.add(rule)
    db.flush()
    audit.record(db, office.id, actor, "create", "reminder_rule", rule.id)
    replan_upcoming(db, office)
    return rule


def change(db: Session, office: Office, rule: ReminderRule, body: RuleUpdate, actor: str) -> ReminderRule:
    """Only the fields `body` sets change; the rule keeps one kind of timing (the other's fields null)."""
    changed = apply(rule, sent_values(body, nullable=TIMING))
    if (rule.minutes_before is None) == (rule.days_before is None or rule.at_local_time is None):
        raise Refused("minutes_before", "a rule is either 'days_before at at_local_time' or 'minutes_before'")
    if changed:
        audit.record(db, office.id, actor, "update", "reminder_rule", rule.id, fields=changed)
        replan_upcoming(db, office)
    return rule


def turn_off(db: Session, office: Office, rule: ReminderRule, actor: str) -> ReminderRule:
    rule.active = False
    audit.record(db, office.id, actor, "deactivate", "reminder_rule", rule.id)
    replan_upcoming(db, office)
    return rule
