"""Deciding, for one appointment and one rule, whether a reminder is wanted and when it is due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from ..models import ACTIVE_STATUSES, AppointmentStatus, ReminderStatus
from .timing import RuleTiming, Window, due_at, next_allowed


@dataclass(frozen=True)
class AppointmentFacts:
    starts_at: datetime
    status: str
    kind: str
    clinic_zone: ZoneInfo
    patient_zone: ZoneInfo


@dataclass(frozen=True)
class RuleFacts:
    timing: RuleTiming
    kinds: tuple[str, ...]
    skip_if_confirmed: bool


@dataclass(frozen=True)
class Wanted:
    due_at: datetime


@dataclass(frozen=True)
class NotWanted:
    status: ReminderStatus  # CANCELLED (nothing to remind of), SKIPPED (a rule says no), MISSED (too late)
    reason: str


Decision = Wanted | NotWanted


def decide(appointment: AppointmentFacts, rule: RuleFacts, window: Window, now: datetime) -> Decision:
    """Whether a reminder of `rule` is wanted for `appointment`, and when it is due."""
    if (not_wanted := applies(appointment, rule, now)) is not None:
        return not_wanted
    due = due_at(rule.timing, appointment.starts_at, appointment.clinic_zone)
    return at_next_allowed(appointment, window, max(due, now))


def applies(appointment: AppointmentFacts, rule: RuleFacts, now: datetime) -> NotWanted | None:
    """Why no reminder of `rule` is wanted any more, whenever it would go; None while one is. The dispatcher
    asks this again of every reminder it claims, then its own questions of the patient, then `at_next_allowed`."""
    if appointment.status not in ACTIVE_STATUSES:
        return NotWanted(ReminderStatus.CANCELLED, f"appointment is {appointment.status}")
    if appointment.kind not in rule.kinds:
        return NotWanted(ReminderStatus.SKIPPED, f"rule does not apply to {appointment.kind} appointments")
    if appointment.status == AppointmentStatus.CONFIRMED and rule.skip_if_confirmed:
        return NotWanted(ReminderStatus.SKIPPED, "already confirmed")
    if appointment.starts_at <= now:
        return NotWanted(ReminderStatus.MISSED, "the appointment started before the reminder could go out")
    return None


def at_next_allowed(appointment: AppointmentFacts, window: Window, earliest: datetime) -> Decision:
    """The first moment from `earliest` inside the allowed hours in the patient's zone, if it is before the
    appointment. Booked late, or the server was down: a reminder whose time has passed goes at the next one."""
    due = next_allowed(earliest, appointment.patient_zone, window)
    if due >= appointment.starts_at:
        return NotWanted(ReminderStatus.MISSED, "no moment inside the allowed hours before the appointment")
    return Wanted(due)
