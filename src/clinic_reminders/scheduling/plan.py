"""Deciding, for one appointment and one rule, whether a reminder is wanted and when it is due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

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
    status: str  # "cancelled" (nothing to remind of), "skipped" (a rule says no), "missed" (too late)
    reason: str


Decision = Wanted | NotWanted


def decide(appointment: AppointmentFacts, rule: RuleFacts, window: Window, now: datetime) -> Decision:
    if appointment.status not in ("scheduled", "confirmed"):
        return NotWanted("cancelled", f"appointment is {appointment.status}")
    if appointment.kind not in rule.kinds:
        return NotWanted("skipped", f"rule does not apply to {appointment.kind} appointments")
    if appointment.status == "confirmed" and rule.skip_if_confirmed:
        return NotWanted("skipped", "already confirmed")
    if appointment.starts_at <= now:
        return NotWanted("missed", "the appointment has already started")
    # Booked late, or the server was down: a reminder whose time has passed goes at the next allowed moment.
    due = next_allowed(
        max(due_at(rule.timing, appointment.starts_at, appointment.clinic_zone), now), appointment.patient_zone, window
    )
    if due >= appointment.starts_at:
        return NotWanted("missed", "no moment inside the allowed hours before the appointment")
    return Wanted(due)
