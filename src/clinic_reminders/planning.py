"""Keeping each appointment's planned reminders in step with it, inside the caller's transaction.

`booking.replan` calls `replan` on every create, move, re-assignment and status change, so a cancelled or moved
appointment never keeps a stale reminder. A status change that only retires reminders (a cancellation, a
confirmation) does it with `follow_status`: one narrow query and one UPDATE instead of a full re-plan, since it
is what most patients' answers do. `plan_many` does the same for thousands of appointments at once
(imports, the demo, the planning benchmark) with a handful of queries instead of several per appointment.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, time
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session

from . import reminder_states
from .models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    Channel,
    Clinic,
    Office,
    Patient,
    Reminder,
    ReminderRule,
    ReminderStatus,
    RuleCondition,
    utcnow,
)
from .phones import local_zone
from .scheduling.plan import AppointmentFacts, NotWanted, RuleFacts, Wanted, decide
from .scheduling.timing import RuleTiming, Window

# A reminder in one of these states was (or may have been) sent for the time it was planned for.
ATTEMPTED = {ReminderStatus.SENDING, ReminderStatus.SENT, ReminderStatus.FAILED}

DEFAULT_RULES = (
    # (name, channel, days_before, at_local_time, minutes_before, condition)
    ("SMS 2 days before", Channel.SMS, 2, time(10, 0), None, RuleCondition.ALWAYS),
    ("Call the day before if unconfirmed", Channel.VOICE, 1, time(17, 0), None, RuleCondition.UNANSWERED_AND_NO_SMS),
    ("SMS 2 hours before", Channel.SMS, None, None, 120, RuleCondition.ALWAYS),
)


# Built once: `replan` runs on every answer a patient texts, where building a statement costs more than running it.
_OFFICE_RULES = select(ReminderRule).where(ReminderRule.office_id == bindparam("office_id"))
_APPOINTMENT_REMINDERS = select(Reminder).where(Reminder.appointment_id == bindparam("appointment_id"))
# What `follow_status` reads of an appointment's reminders: what `reminder_states.retire` needs, and the rule's say.
_RETIRABLE = (
    select(
        Reminder.id,
        Reminder.office_id,
        Reminder.appointment_id,
        Reminder.status,
        Reminder.channel,
        ReminderRule.active,
        ReminderRule.skip_if_confirmed,
    )
    .join(ReminderRule, ReminderRule.id == Reminder.rule_id)
    .where(Reminder.appointment_id == bindparam("appointment_id"))
)
# Neither sent (nor being sent) nor in a worker's hands: what a re-plan may retire.
_UNSENT = frozenset({ReminderStatus.PLANNED, ReminderStatus.CANCELLED, ReminderStatus.SKIPPED, ReminderStatus.MISSED})


_REMINDERS = cast(Table, Reminder.__table__)  # for one INSERT of many rows, Core costs less than the ORM


def ensure_default_rules(db: Session, office: Office) -> None:
    """Sensible defaults out of the box; an office that has any rules keeps its own."""
    if db.scalar(select(ReminderRule.id).where(ReminderRule.office_id == office.id).limit(1)) is not None:
        return
    for name, channel, days, at, minutes, condition in DEFAULT_RULES:
        db.add(
            ReminderRule(
                office_id=office.id,
                name=name,
                channel=channel,
                days_before=days,
                at_local_time=at,
                minutes_before=minutes,
                condition=condition,
                skip_if_confirmed=True,
            )
        )
    db.flush()


def effective_rules(rules: Iterable[ReminderRule], clinic_id: int) -> list[ReminderRule]:
    """Office-wide rules, where a clinic's own rule of the same name replaces the office's."""
    by_name: dict[str, ReminderRule] = {}
    for rule in sorted(rules, key=lambda r: r.clinic_id is not None):
        if rule.clinic_id in (None, clinic_id):
            by_name[rule.name] = rule
    return [rule for rule in by_name.values() if rule.active]


def rule_facts(rule: ReminderRule) -> RuleFacts:
    timing = RuleTiming(
        days_before=rule.days_before, at_local_time=rule.at_local_time, minutes_before=rule.minutes_before
    )
    return RuleFacts(timing=timing, kinds=tuple(rule.appointment_kinds), skip_if_confirmed=rule.skip_if_confirmed)


def window_of(office: Office) -> Window:
    return Window(start=office.quiet_hours_start, end=office.quiet_hours_end)


def patient_zone(patient: Patient, clinic: Clinic) -> ZoneInfo:
    return numbers_zone([p.number for p in patient.phones if p.invalid_at is None], clinic)


def numbers_zone(usable: Sequence[str], clinic: Clinic) -> ZoneInfo:
    """The zone of a patient whose usable numbers (E.164) are these, the first one first."""
    return ZoneInfo(local_zone(usable[0], clinic.timezone) if usable else clinic.timezone)


class Planner:
    """Plans reminders for appointments of one office, caching its rules for the session's duration."""

    def __init__(self, db: Session, office: Office, now: datetime | None = None) -> None:
        self.db = db
        self.office = office
        self.now = now or utcnow()
        self.window = window_of(office)
        self._rules = list(db.scalars(_OFFICE_RULES, {"office_id": office.id}))
        self._by_clinic: dict[int, list[tuple[int, str, RuleFacts]]] = {}

    def rules_for(self, clinic_id: int) -> list[tuple[int, str, RuleFacts]]:
        """The clinic's rules as (id, channel, facts): plain values, read once (an import plans thousands)."""
        if clinic_id not in self._by_clinic:
            rules = effective_rules(self._rules, clinic_id)
            self._by_clinic[clinic_id] = [(r.id, r.channel, rule_facts(r)) for r in rules]
        return self._by_clinic[clinic_id]

    def plan(self, appointment: Appointment, existing: Sequence[Reminder]) -> list[dict[str, Any]]:
        """Bring `existing` (this appointment's rows) in line with the rules; returns the rows to insert."""
        facts = AppointmentFacts(
            starts_at=appointment.starts_at,
            status=appointment.status,
            kind=appointment.kind,
            clinic_zone=ZoneInfo(appointment.clinic.timezone),
            patient_zone=patient_zone(appointment.patient, appointment.clinic),
        )
        return self.plan_facts(appointment.id, appointment.clinic_id, facts, existing)

    def plan_facts(
        self, appointment_id: int, clinic_id: int, facts: AppointmentFacts, existing: Sequence[Reminder] = ()
    ) -> list[dict[str, Any]]:
        """`plan` for an appointment given by its ids and facts (a new one: no rows yet, no object needed)."""
        rows = {row.rule_id: row for row in existing}
        new: list[dict[str, Any]] = []
        office_id = self.office.id
        for rule_id, channel, rfacts in self.rules_for(clinic_id):
            decision = decide(facts, rfacts, self.window, self.now)
            row = rows.pop(rule_id, None)
            if row is not None and row.status in ATTEMPTED and row.planned_for == facts.starts_at:
                continue  # already sent (or being sent) for this very time: history, not a plan
            if row is not None and row.status == ReminderStatus.SENDING:
                continue  # in a worker's hands; it re-checks the appointment before sending
            if isinstance(decision, Wanted) and row is None:
                new.append(
                    {
                        "office_id": office_id,
                        "appointment_id": appointment_id,
                        "rule_id": rule_id,
                        "channel": channel,
                        "status": ReminderStatus.PLANNED,
                        "due_at": decision.due_at,
                        "planned_for": facts.starts_at,
                        "attempts": 0,
                        "created_at": self.now,
                        "updated_at": self.now,
                    }
                )
            elif isinstance(decision, Wanted):
                assert row is not None
                reminder_states.move(self.db, row, ReminderStatus.PLANNED, None, due_at=decision.due_at)
                row.planned_for = facts.starts_at
                row.attempts = 0
            elif row is not None:
                self._retire(row, decision)
        for row in rows.values():  # rules that no longer apply
            if row.status == ReminderStatus.PLANNED:
                self._retire(row, NotWanted(ReminderStatus.CANCELLED, "the rule no longer applies"))
        return new

    def _retire(self, row: Reminder, decision: NotWanted) -> None:
        if row.status in ATTEMPTED:
            return  # what was sent stays in the trail
        reminder_states.move(self.db, row, decision.status, decision.reason)


def replan(db: Session, appointment: Appointment) -> None:
    office = db.get(Office, appointment.office_id)
    assert office is not None
    existing = list(db.scalars(_APPOINTMENT_REMINDERS, {"appointment_id": appointment.id}))
    insert_reminders(db, Planner(db, office).plan(appointment, existing))


def follow_status(db: Session, appointment: Appointment, previous: str) -> None:
    """`replan` after the appointment's status changed from `previous`, in one UPDATE when the change only
    retires reminders, as `decide` would: into a status that is not active, every unsent one is cancelled; from
    scheduled into confirmed, those of the rules that skip confirmed appointments are skipped, and the others
    stay as they are. Anything else (a reminder of a rule switched off, a change that may bring reminders back)
    gets the full re-plan."""
    status = appointment.status
    if status not in ACTIVE_STATUSES:
        to, reason = ReminderStatus.CANCELLED, f"appointment is {status}"
    elif previous == AppointmentStatus.SCHEDULED and status == AppointmentStatus.CONFIRMED:
        to, reason = ReminderStatus.SKIPPED, "already confirmed"
    else:
        replan(db, appointment)
        return
    db.flush()  # the change's own events first, in the outbox
    rows = db.execute(_RETIRABLE, {"appointment_id": appointment.id}).all()
    if not all(row.active for row in rows):
        replan(db, appointment)
        return
    every = to == ReminderStatus.CANCELLED
    retired = [row for row in rows if row.status in _UNSENT and row.status != to and (every or row.skip_if_confirmed)]
    reminder_states.retire(db, retired, to, reason)


def plan_many(db: Session, office: Office, appointments: Sequence[Appointment], now: datetime | None = None) -> int:
    """Plan a batch of appointments (already flushed) with one query for their existing reminders."""
    planner = Planner(db, office, now)
    ids = [a.id for a in appointments]
    existing: dict[int, list[Reminder]] = {i: [] for i in ids}
    for chunk in range(0, len(ids), 900):  # SQLite's bound-parameter limit
        for row in db.scalars(select(Reminder).where(Reminder.appointment_id.in_(ids[chunk : chunk + 900]))):
            existing[row.appointment_id].append(row)
    new = [row for appointment in appointments for row in planner.plan(appointment, existing[appointment.id])]
    insert_reminders(db, new)
    return len(new)


def insert_reminders(db: Session, rows: list[dict[str, Any]]) -> None:
    """One executemany for all new reminders (ORM objects would cost one INSERT each)."""
    if rows:
        db.flush()
        db.execute(insert(_REMINDERS), rows)
