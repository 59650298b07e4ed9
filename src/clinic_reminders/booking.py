"""The one path by which appointments are created, changed and cancelled (API, pages, imports, answers).

Every change happens in the caller's transaction, so that the reminders planned for an appointment always
match it: `replan` (and `planning.follow_status`, its cheap form for a status change) is called here and
nowhere else. `Batch` makes the same changes to many appointments with
one re-plan for all of them (an import's thousands of records).

A booking by a person (the JSON API, the staff pages) goes through `book` and `move`, which first look for what
a front desk wants to hear of before saving (`concerns`): a start in the past, the very same booking made twice,
the provider or the patient already booked then. What the caller has not accepted is refused with
`NeedsConfirmation` and nothing is saved. Imports keep the practice-management system's word and use `create`,
`update` and `Batch` directly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, insert, or_, select
from sqlalchemy.orm import Session, joinedload

from . import audit, events, planning, refusals
from .local_time import display
from .models import Appointment, AppointmentStatus, Clinic, EventType, Office, Provider, utcnow
from .refusals import Refusal, Refused
from .scheduling.plan import AppointmentFacts
from .scheduling.timing import local_datetime

MAX_DURATION_MINUTES = 24 * 60
# An appointment in one of these states holds its time: another one then is a double booking.
HOLDS_ITS_TIME = (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED, AppointmentStatus.RESCHEDULE_REQUESTED)
# What `concerns` reports (Concern.kind).
PAST = "past"
DUPLICATE = "duplicate"
PROVIDER_BUSY = "provider-busy"
PATIENT_BUSY = "patient-busy"
CONCERN_KINDS = (PAST, DUPLICATE, PROVIDER_BUSY, PATIENT_BUSY)
# A change of one of these is a move (EventType.APPOINTMENT_MOVED); `update` takes related rows by id or object.
_MOVE_FIELDS = {"starts_at", "duration_minutes", "clinic", "clinic_id", "provider", "provider_id"}
_APPOINTMENTS = cast(Table, Appointment.__table__)  # for one INSERT of many rows, Core costs less than the ORM


def replan(db: Session, appointment: Appointment, *, moved: bool = False) -> None:
    if moved:
        db.flush()
        db.refresh(appointment, ["clinic", "patient"])  # a changed clinic_id must be seen as the new clinic
    planning.replan(db, appointment)


class BookingError(Refused):
    """The change cannot be made; `field` names the input at fault."""


@dataclass(frozen=True)
class Concern:
    """Something to look at before saving. `message` is for staff (it may name the provider and times, never
    another patient); `other_id` is the appointment it clashes with."""

    kind: str
    message: str
    other_id: int | None = None


class NeedsConfirmation(BookingError):
    """Concerns the caller has not accepted; nothing was saved. The exception's text names their kinds only."""

    def __init__(self, concerns: list[Concern]) -> None:
        super().__init__("concerns", "not confirmed: " + ", ".join(c.kind for c in concerns))
        self.concerns = concerns

    def of_kind(self, kind: str) -> Concern | None:
        return next((c for c in self.concerns if c.kind == kind), None)


@dataclass(frozen=True)
class Slot:
    """Where and when an appointment is (or would be after a change), for `concerns`."""

    office_id: int
    clinic: Clinic
    patient_id: int
    provider: Provider | None
    starts_at: datetime
    duration_minutes: int
    appointment_id: int | None = None  # the appointment being moved: not a clash with itself

    @classmethod
    def of(cls, appointment: Appointment, changes: Mapping[str, Any] | None = None) -> Slot:
        """`changes` as `update` takes them (relationships by object: clinic, provider, patient)."""
        new = dict(changes or {})
        return cls(
            office_id=appointment.office_id,
            clinic=new.get("clinic", appointment.clinic),
            patient_id=new.get("patient", appointment.patient).id,
            provider=new.get("provider", appointment.provider),
            starts_at=new.get("starts_at", appointment.starts_at),
            duration_minutes=new.get("duration_minutes", appointment.duration_minutes),
            appointment_id=appointment.id,
        )

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)


def local_start(clinic: Clinic, day: date, clock: time) -> datetime:
    """A start typed on the clinic's clock, in UTC. A time the clocks skip (2:30 AM on the spring change) is
    refused rather than moved."""
    start = local_datetime(day, clock, ZoneInfo(clinic.timezone))
    if start.astimezone(ZoneInfo(clinic.timezone)).time() != clock:
        raise BookingError("time", "the clocks go forward then in the clinic's zone: that time does not exist")
    return start


def _span(appointment: Appointment) -> str:
    zone = appointment.clinic.timezone
    return f"{display(appointment.starts_at, zone)} until {display(appointment.ends_at, zone, 'time')}"


def concerns(db: Session, slot: Slot, *, now: datetime | None = None, past: bool = True) -> list[Concern]:
    """What a front desk is warned of before booking `slot` (`past=False`: its start is not being changed)."""
    found: list[Concern] = []
    if past and slot.starts_at < (now or utcnow()):
        found.append(Concern(PAST, f"The start, {display(slot.starts_at, slot.clinic.timezone)}, is in the past."))
    same_people = Appointment.patient_id == slot.patient_id
    if slot.provider is not None:
        same_people = or_(same_people, Appointment.provider_id == slot.provider.id)
    stmt = select(Appointment).where(
        Appointment.office_id == slot.office_id,
        Appointment.status.in_(HOLDS_ITS_TIME),
        Appointment.starts_at < slot.ends_at,
        Appointment.starts_at > slot.starts_at - timedelta(minutes=MAX_DURATION_MINUTES),
        same_people,
    )
    if slot.appointment_id is not None:
        stmt = stmt.where(Appointment.id != slot.appointment_id)
    with db.no_autoflush:  # a move's changes are not written before it is accepted
        options = (joinedload(Appointment.clinic), joinedload(Appointment.provider))
        nearby = db.scalars(stmt.options(*options).order_by(Appointment.starts_at, Appointment.id)).unique().all()
    clashes = [a for a in nearby if a.ends_at > slot.starts_at]
    mine = [a for a in clashes if a.patient_id == slot.patient_id]
    same = [
        a
        for a in mine
        if (a.clinic_id, a.provider_id, a.starts_at)
        == (slot.clinic.id, slot.provider.id if slot.provider else None, slot.starts_at)
    ]
    if same:
        found.append(Concern(DUPLICATE, f"This patient already has this very booking: {_span(same[0])}.", same[0].id))
    elif mine:
        other = mine[0]
        where = f" at {other.clinic.name}" if other.clinic_id != slot.clinic.id else ""
        found.append(Concern(PATIENT_BUSY, f"This patient has another visit then: {_span(other)}{where}.", other.id))
    theirs = [a for a in clashes if slot.provider is not None and a.provider_id == slot.provider.id and a not in mine]
    if theirs and slot.provider is not None:
        other = theirs[0]
        message = f"{slot.provider.display_name} is already booked then: {_span(other)}."
        found.append(Concern(PROVIDER_BUSY, message, other.id))
    return found


def _confirm(found: list[Concern], accepted: Collection[str]) -> None:
    left = [c for c in found if c.kind not in accepted]
    if left:
        raise NeedsConfirmation(left)


def book(db: Session, appointment: Appointment, actor: str, accepted: Collection[str] = ()) -> Appointment:
    """`create` once the concerns not in `accepted` are none (`appointment` has its clinic, provider, patient)."""
    _confirm(concerns(db, Slot.of(appointment)), accepted)
    return create(db, appointment, actor)


def move(
    db: Session, appointment: Appointment, changes: dict[str, Any], actor: str, accepted: Collection[str] = ()
) -> Appointment:
    """`update` once the concerns not in `accepted` are none; checked only when the time, the place or the
    people change, and the past only when the start does."""
    before, after = Slot.of(appointment), Slot.of(appointment, changes)
    if after != before:
        _confirm(concerns(db, after, past=after.starts_at != before.starts_at), accepted)
    return update(db, appointment, changes, actor)


# Moves allowed by hand or by a patient's answer. Completed and no-show are final except by staff correction.
_A = AppointmentStatus
_ALLOWED: dict[str, set[AppointmentStatus]] = {
    _A.SCHEDULED: {_A.CONFIRMED, _A.CANCELLED, _A.RESCHEDULE_REQUESTED, _A.COMPLETED, _A.NO_SHOW},
    _A.CONFIRMED: {_A.SCHEDULED, _A.CANCELLED, _A.RESCHEDULE_REQUESTED, _A.COMPLETED, _A.NO_SHOW},
    _A.RESCHEDULE_REQUESTED: {_A.SCHEDULED, _A.CONFIRMED, _A.CANCELLED, _A.COMPLETED, _A.NO_SHOW},
    _A.CANCELLED: {_A.SCHEDULED},
    _A.COMPLETED: {_A.NO_SHOW},
    _A.NO_SHOW: {_A.COMPLETED},
}


def create(db: Session, appointment: Appointment, actor: str) -> Appointment:
    db.add(appointment)
    db.flush()
    _record(db, appointment, actor, "create")
    replan(db, appointment, moved=True)
    return appointment


def update(db: Session, appointment: Appointment, changes: dict[str, Any], actor: str) -> Appointment:
    """Apply field changes (start, duration, clinic, provider, kind...); a move re-plans its reminders."""
    changed = refusals.apply(appointment, changes)
    if changed:
        _record(db, appointment, actor, "update", fields=changed)
        replan(db, appointment, moved=_reassigned(changed))
    return appointment


class HasStatus(Protocol):
    @property
    def status(self) -> str: ...


def check_status(appointment: HasStatus, status: AppointmentStatus) -> None:
    """Raises `BookingError` unless the appointment may take this status (keeping its own always may)."""
    current = appointment.status
    if status != current and status not in _ALLOWED.get(current, set()):
        raise BookingError("status", f"an appointment that is {current} cannot become {status}", Refusal.CONFLICT)


def set_status(db: Session, appointment: Appointment, status: AppointmentStatus, actor: str) -> Appointment:
    current = appointment.status
    if status == current:
        return appointment
    check_status(appointment, status)
    appointment.set_status(status, actor)
    _record(db, appointment, actor, "status", old=current, new=str(status))
    planning.follow_status(db, appointment, current)  # a re-plan, in one UPDATE when it only retires reminders
    return appointment


def cancel(db: Session, appointment: Appointment, actor: str) -> Appointment:
    return set_status(db, appointment, AppointmentStatus.CANCELLED, actor)


def _reassigned(changed: list[str]) -> bool:
    """Whether the appointment's clinic or patient changed: loaded relationships must then be read again."""
    return bool({"clinic_id", "patient_id"} & set(changed))


def _record(db: Session, appointment: Appointment, actor: str, action: str, **detail: Any) -> None:
    """The audit entry and the outbox event of one change (`create`, `update` or `status`)."""
    audit.record(db, appointment.office_id, actor, action, "appointment", appointment.id, **detail)
    kind, payload = _event(action, detail)
    # The patient as the appointment now has it: a change made by object is not in `patient_id` before a flush.
    patient_id = appointment.patient.id
    events.record(
        db, appointment.office_id, kind, appointment_id=appointment.id, patient_id=patient_id, by=actor, **payload
    )


def _event(action: str, detail: Mapping[str, Any]) -> tuple[EventType, dict[str, Any]]:
    """The event of a change as `_record` and `Batch` describe it, and its payload (no patient data)."""
    if action == "create":
        return EventType.APPOINTMENT_CREATED, {}
    if action == "update":
        fields: list[str] = detail["fields"]
        moved = bool(_MOVE_FIELDS & set(fields))
        return (EventType.APPOINTMENT_MOVED if moved else EventType.APPOINTMENT_UPDATED), {"fields": fields}
    return EventType(f"appointment.{detail['new']}"), {"previous": detail["old"]}


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
    statement, their audit entries and events written by the database from the new rows, those of the other
    changes in a statement each, and every appointment is planned or re-planned with a handful of queries for the
    lot instead of several per appointment. Call `finish` before the transaction commits, once the patients of
    the new appointments have their ids. The rows it writes (new appointments, their reminders, the audit entries
    and events) carry one instant, `now`, as the transaction's own.
    """

    def __init__(self, db: Session, office: Office, now: datetime | None = None) -> None:
        self.db = db
        self.office = office
        self.now = now or utcnow()
        self._created: list[NewAppointment] = []
        self._creators: list[str] = []  # the actor of each of `_created`
        self._audit: list[tuple[Appointment, str, str, dict[str, Any]]] = []  # the changes besides creations
        self._touched: dict[int, Appointment] = {}  # by id(), in the order first touched
        self._reassigned: list[Appointment] = []

    def create(self, appointment: NewAppointment, actor: str) -> None:
        self._created.append(appointment)
        self._creators.append(actor)

    def update(self, appointment: Appointment, changes: dict[str, Any], actor: str) -> list[str]:
        """As `update`; returns the names of the fields that changed."""
        changed = refusals.apply(appointment, changes)
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
        self._record_created()
        entries = [audit.entry(a.office_id, by, action, "appointment", a.id, **x) for a, by, action, x in self._audit]
        audit.record_all(self.db, entries, at=self.now)
        events.record_all(self.db, [_batch_event(a, by, action, x) for a, by, action, x in self._audit], at=self.now)
        for appointment in self._reassigned:
            self.db.expire(appointment, ["clinic", "patient"])  # loaded again from the new ids when planning
        planner = planning.Planner(self.db, self.office, self.now)
        planning.insert_reminders(self.db, [row for new in self._created for row in _first_plan(planner, new)])
        planning.plan_many(self.db, self.office, list(self._touched.values()), self.now)
        self._created, self._creators, self._audit, self._touched, self._reassigned = [], [], [], {}, []

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
                "status_changed_at": self.now,
                "status_changed_by": new.status_changed_by,
                "created_at": self.now,
                "updated_at": self.now,
            }
            for new in self._created
        ]
        by_external_id: dict[str | None, NewAppointment] = {new.external_id: new for new in self._created}
        assert len(by_external_id) == len(rows), "an external id is created twice in one batch"
        statement = insert(_APPOINTMENTS).returning(_APPOINTMENTS.c.external_id, _APPOINTMENTS.c.id)
        for external_id, new_id in self.db.execute(statement, rows):
            by_external_id[external_id].id = new_id

    def _record_created(self) -> None:
        """The audit entries and events of the creations (written before those of the batch's other changes)."""
        kind, payload = _event("create", {})
        ids_by_actor: dict[str, list[int]] = defaultdict(list)
        for new, actor in zip(self._created, self._creators, strict=True):
            assert new.id is not None
            ids_by_actor[actor].append(new.id)
        for actor, ids in ids_by_actor.items():
            audit.record_created(self.db, _APPOINTMENTS, ids, actor, "appointment", at=self.now)
            events.record_for_appointments(self.db, kind, ids, at=self.now, by=actor, **payload)


def _batch_event(appointment: Appointment, actor: str, action: str, detail: Mapping[str, Any]) -> dict[str, Any]:
    kind, payload = _event(action, detail)
    return events.entry(
        appointment.office_id,
        kind,
        appointment_id=appointment.id,
        patient_id=appointment.patient_id,
        by=actor,
        **payload,
    )


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
