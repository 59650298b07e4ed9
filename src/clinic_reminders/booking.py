"""The one path by which appointments are created, changed and cancelled (API, pages, imports, answers).

Every change happens in the caller's transaction, so that the reminders planned for an appointment always
match it: `replan` is called here and nowhere else. `Batch` makes the same changes to many appointments with
one re-plan for all of them (an import's thousands of records).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from . import audit, planning
from .models import Appointment, AppointmentStatus, Clinic, Office
from .scheduling.plan import AppointmentFacts

_APPOINTMENTS = cast(Table, Appointment.__table__)  # for one INSERT of many rows, Core costs less than the ORM


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
    changed = _apply(appointment, changes)
    if changed:
        audit.record(db, appointment.office_id, actor, "update", "appointment", appointment.id, fields=changed)
        replan(db, appointment, moved=_reassigned(changed))
    return appointment


def check_status(appointment: Appointment, status: AppointmentStatus) -> None:
    """Raises `BookingError` unless the appointment may take this status (keeping its own always may)."""
    current = appointment.status
    if status != current and status not in _ALLOWED.get(current, set()):
        raise BookingError("status", f"an appointment that is {current} cannot become {status}")


def set_status(db: Session, appointment: Appointment, status: AppointmentStatus, actor: str) -> Appointment:
    current = appointment.status
    if status == current:
        return appointment
    check_status(appointment, status)
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


def _apply(appointment: Appointment, changes: dict[str, Any]) -> list[str]:
    changed = sorted(k for k, v in changes.items() if getattr(appointment, k) != v)
    for key in changed:
        setattr(appointment, key, changes[key])
    return changed


def _reassigned(changed: list[str]) -> bool:
    """Whether the appointment's clinic or patient changed: loaded relationships must then be read again."""
    return bool({"clinic_id", "patient_id"} & set(changed))


class HasId(Protocol):
    @property
    def id(self) -> int | None: ...


@dataclass
class NewAppointment:
    """An appointment for `Batch.create`: its values, as plain data (an import makes thousands), and the time zone
    its patient's reminders keep quiet hours in (`planning.patient_zone`)."""

    office_id: int
    external_id: str
    clinic: Clinic
    provider_id: int | None
    patient: HasId  # a patient, or one the same batch creates: its id is read when the appointment is inserted
    patient_zone: ZoneInfo
    starts_at: datetime  # UTC
    duration_minutes: int
    kind: str
    status: str
    status_changed_by: str
    id: int | None = None  # once inserted


class Batch:
    """`create`, `update` and `set_status` for many appointments in one transaction, re-planned together.

    `update` and `set_status` change an appointment of the session as the functions of the same names do, and
    `create` takes a `NewAppointment`; the writing waits for `finish`: the new appointments are inserted in one
    statement, the audit trail in another, and every appointment is planned or re-planned with a handful of
    queries for the lot instead of several per appointment. Call `finish` before the transaction commits, once
    the patients of the new appointments have their ids.
    """

    def __init__(self, db: Session, office: Office) -> None:
        self.db = db
        self.office = office
        self._created: list[NewAppointment] = []
        self._audit: list[tuple[NewAppointment | Appointment, str, str, dict[str, Any]]] = []
        self._touched: dict[int, Appointment] = {}  # by id(), in the order first touched
        self._reassigned: list[Appointment] = []

    def create(self, appointment: NewAppointment, actor: str) -> None:
        self._created.append(appointment)
        self._audit.append((appointment, actor, "create", {}))

    def update(self, appointment: Appointment, changes: dict[str, Any], actor: str) -> list[str]:
        """As `update`; returns the names of the fields that changed."""
        changed = _apply(appointment, changes)
        if changed:
            self._audit.append((appointment, actor, "update", {"fields": changed}))
            self._touched[id(appointment)] = appointment
            if _reassigned(changed):
                self._reassigned.append(appointment)
        return changed

    def set_status(self, appointment: Appointment, status: AppointmentStatus, actor: str) -> None:
        current = appointment.status
        if status == current:
            return
        check_status(appointment, status)
        appointment.set_status(status, actor)
        self._audit.append((appointment, actor, "status", {"old": current, "new": str(status)}))
        self._touched[id(appointment)] = appointment

    def finish(self) -> None:
        self.db.flush()
        self._insert_created()
        entries = [audit.entry(a.office_id, by, action, "appointment", a.id, **x) for a, by, action, x in self._audit]
        audit.record_all(self.db, entries)
        for appointment in self._reassigned:
            self.db.expire(appointment, ["clinic", "patient"])  # loaded again from the new ids when planning
        planner = planning.Planner(self.db, self.office)
        planning.insert_reminders(self.db, [row for new in self._created for row in _first_plan(planner, new)])
        planning.plan_many(self.db, self.office, list(self._touched.values()))
        self._created, self._audit, self._touched, self._reassigned = [], [], {}, []

    def _insert_created(self) -> None:
        """One INSERT for the new appointments; each gets its id, matched by external id (RETURNING does not
        keep the order of the rows on every database)."""
        if not self._created:
            return
        rows = [
            {
                "office_id": new.office_id,
                "external_id": new.external_id,
                "clinic_id": new.clinic.id,
                "provider_id": new.provider_id,
                "patient_id": new.patient.id,
                "starts_at": new.starts_at,
                "duration_minutes": new.duration_minutes,
                "kind": new.kind,
                "status": new.status,
                "status_changed_by": new.status_changed_by,
            }
            for new in self._created
        ]
        by_external_id: dict[str | None, NewAppointment] = {new.external_id: new for new in self._created}
        assert len(by_external_id) == len(rows), "an external id is created twice in one batch"
        statement = insert(_APPOINTMENTS).returning(_APPOINTMENTS.c.external_id, _APPOINTMENTS.c.id)
        for external_id, new_id in self.db.execute(statement, rows):
            by_external_id[external_id].id = new_id


def _first_plan(planner: planning.Planner, new: NewAppointment) -> list[dict[str, Any]]:
    assert new.id is not None
    facts = AppointmentFacts(
        starts_at=new.starts_at,
        status=new.status,
        kind=new.kind,
        clinic_zone=ZoneInfo(new.clinic.timezone),
        patient_zone=new.patient_zone,
    )
    return planner.plan_facts(new.id, new.clinic.id, facts)
