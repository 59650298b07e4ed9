"""The one path by which appointments are created, changed and cancelled (API, pages, imports, answers).

Every change happens in the caller's transaction, so that the reminders planned for an appointment always
match it: `replan` is called here and nowhere else.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from . import audit, planning
from .models import Appointment, AppointmentStatus


def replan(db: Session, appointment: Appointment, *, moved: bool = False) -> None:
    if moved:
        db.flush()
        db.refresh(appointment, ["clinic", "patient"])  # a changed clinic_id must be seen as the new clinic
    planning.replan(db, appointment)


class BookingError(ValueError):
    """The change cannot be made; `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# Moves allowed by hand or by a patient's answer. Completed and no-show are final except by staff correction.
_ALLOWED: dict[str, set[str]] = {
    AppointmentStatus.SCHEDULED: {"confirmed", "cancelled", "reschedule-requested", "completed", "no-show"},
    AppointmentStatus.CONFIRMED: {"scheduled", "cancelled", "reschedule-requested", "completed", "no-show"},
    AppointmentStatus.RESCHEDULE_REQUESTED: {"scheduled", "confirmed", "cancelled", "completed", "no-show"},
    AppointmentStatus.CANCELLED: {"scheduled"},
    AppointmentStatus.COMPLETED: {"no-show"},
    AppointmentStatus.NO_SHOW: {"completed"},
}


def create(db: Session, appointment: Appointment, actor: str) -> Appointment:
    db.add(appointment)
    db.flush()
    audit.record(db, appointment.office_id, actor, "create", "appointment", appointment.id)
    replan(db, appointment, moved=True)
    return appointment


def update(db: Session, appointment: Appointment, changes: dict[str, Any], actor: str) -> Appointment:
    """Apply field changes (start, duration, clinic, provider, kind...); a move re-plans its reminders."""
    changed = sorted(k for k, v in changes.items() if getattr(appointment, k) != v)
    for key in changed:
        setattr(appointment, key, changes[key])
    if changed:
        audit.record(db, appointment.office_id, actor, "update", "appointment", appointment.id, fields=changed)
        replan(db, appointment, moved=bool({"clinic_id", "patient_id"} & set(changed)))
    return appointment


def set_status(db: Session, appointment: Appointment, status: AppointmentStatus, actor: str) -> Appointment:
    current = appointment.status
    if status == current:
        return appointment
    if status not in _ALLOWED.get(current, set()):
        raise BookingError("status", f"an appointment that is {current} cannot become {status}")
    appointment.set_status(status, actor)
    audit.record(
        db,
        appointment.office_id,
        actor,
        "status",
        "appointment",
        appointment.id,
        old=current,
        new=str(status),
    )
    replan(db, appointment)
    return appointment


def cancel(db: Session, appointment: Appointment, actor: str) -> Appointment:
    return set_status(db, appointment, AppointmentStatus.CANCELLED, actor)
