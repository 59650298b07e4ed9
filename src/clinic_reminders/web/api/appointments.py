"""Appointments: every write goes through `booking`, which audits it and re-plans its reminders.

A booking whose start is in the past, or that repeats one the patient already has, is refused unless the request
says `force=true`: both are a front desk's usual slips. A provider or a patient booked twice at once is allowed
(the staff pages warn of it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ... import booking
from ...models import Appointment, AppointmentKind, AppointmentStatus, Clinic, Office, Patient, Provider
from ...refusals import referenced, sent_values
from ..deps import CurrentUser, DbDep, OfficeDep, audit_actor
from .appointment_filters import RANGE_DOC, STATUS_DOC, date_range, parse_bound, parse_statuses
from .errors import CONFLICT, NOT_FOUND, conflict, invalid
from .lookups import get_or_404
from .pagination import Page, PageDep, paginate
from .schemas.appointments import AppointmentCreate, AppointmentRead, AppointmentUpdate, StatusChange, end_after_start
from .schemas.common import RowId

router = APIRouter(prefix="/appointments", tags=["appointments"])

FORCE_DOC = (
    "true books it even when the start is in the past (a visit recorded after the fact) or when the patient "
    "already has this very booking (same clinic, provider and start). Without it such a request changes nothing "
    "and answers 422 naming `starts_at`, or 409 naming the appointment it repeats."
)
Force = Annotated[bool, Query(description=FORCE_DOC)]
# Allowed without `force`: two visits at once can be meant (a provider seeing a family, a carer's visit).
ACCEPTED_UNFORCED = (booking.PROVIDER_BUSY, booking.PATIENT_BUSY)
REFUSALS: dict[int | str, dict[str, Any]] = {
    **CONFLICT,
    422: {"description": "Invalid input, or a start in the past without `force=true`."},
}


def _accepted(force: bool) -> tuple[str, ...]:
    return booking.CONCERN_KINDS if force else ACCEPTED_UNFORCED


def _refuse(exc: booking.NeedsConfirmation) -> NoReturn:
    if exc.of_kind(booking.PAST) is not None:
        invalid("starts_at", "is in the past; send force=true to book it anyway")
    same = exc.of_kind(booking.DUPLICATE)
    assert same is not None, "only the past and duplicates are refused without force"
    conflict("starts_at", f"appointment {same.other_id} is this very booking; send force=true to book it again")


def to_read(appointment: Appointment) -> AppointmentRead:
    zone = appointment.clinic.timezone
    return AppointmentRead.model_validate(
        {
            **{k: getattr(appointment, k) for k in AppointmentRead.model_fields if hasattr(appointment, k)},
            "timezone": zone,
            "starts_at_local": appointment.starts_at.astimezone(ZoneInfo(zone)),
        }
    )


def _resolve_refs(db: Session, office: Office, values: dict[str, Any]) -> dict[str, Any]:
    """Replaces `clinic_id`/`provider_id`/`patient_id` by the rows (in this office; active for new links).

    Booking then sets the relationships themselves, so the re-planner sees the new clinic (and its zone).
    """
    refs: dict[str, Any] = {}
    if "clinic_id" in values:
        clinic = referenced(db, Clinic, values.pop("clinic_id"), office.id, "clinic_id", "clinic")
        if not clinic.active:
            invalid("clinic_id", f"clinic {clinic.id} is deactivated")
        refs["clinic"] = clinic
    if "provider_id" in values:
        provider_id = values.pop("provider_id")
        provider = (
            None if provider_id is None else referenced(db, Provider, provider_id, office.id, "provider_id", "provider")
        )
        if provider is not None and not provider.active:
            invalid("provider_id", f"provider {provider.id} is deactivated")
        refs["provider"] = provider
    if "patient_id" in values:
        refs["patient"] = referenced(db, Patient, values.pop("patient_id"), office.id, "patient_id", "patient")
    return refs


def _check_external_id(db: Session, office: Office, external_id: str | None, appointment_id: int | None) -> None:
    if external_id is None:
        return
    stmt = select(Appointment.id).where(Appointment.office_id == office.id, Appointment.external_id == external_id)
    other = db.scalar(stmt)
    if other is not None and other != appointment_id:
        conflict("external_id", f"appointment {other} already has this external id")


@router.get(
    "",
    summary="List appointments",
    description="Ordered by start. Filters combine with AND. Date range: " + RANGE_DOC,
)
def list_appointments(
    db: DbDep,
    office: OfficeDep,
    page: PageDep,
    clinic_id: RowId | None = None,
    provider_id: RowId | None = None,
    patient_id: RowId | None = None,
    status: Annotated[list[str] | None, Query(description=STATUS_DOC)] = None,
    kind: AppointmentKind | None = None,
    from_: Annotated[str | None, Query(alias="from", description="Start of the range. " + RANGE_DOC)] = None,
    to: Annotated[str | None, Query(description="End of the range. " + RANGE_DOC)] = None,
) -> Page[AppointmentRead]:
    statuses = parse_statuses(status)
    lo, hi = parse_bound(from_, "from"), parse_bound(to, "to")
    stmt = select(Appointment).where(Appointment.office_id == office.id)
    if clinic_id is not None:
        stmt = stmt.where(Appointment.clinic_id == clinic_id)
    if provider_id is not None:
        stmt = stmt.where(Appointment.provider_id == provider_id)
    if patient_id is not None:
        stmt = stmt.where(Appointment.patient_id == patient_id)
    if statuses:
        stmt = stmt.where(Appointment.status.in_(statuses))
    if kind is not None:
        stmt = stmt.where(Appointment.kind == kind)
    clinics = db.scalars(select(Clinic).where(Clinic.office_id == office.id)).all()
    in_range = date_range(lo, hi, [c for c in clinics if clinic_id is None or c.id == clinic_id])
    if in_range is not None:
        stmt = stmt.where(in_range)
    stmt = stmt.order_by(Appointment.starts_at, Appointment.id).options(selectinload(Appointment.clinic))
    return paginate(db, stmt, page, to_read)


@router.post("", status_code=201, responses=REFUSALS, summary="Book an appointment")
def create_appointment(
    body: AppointmentCreate, db: DbDep, office: OfficeDep, user: CurrentUser, force: Force = False
) -> AppointmentRead:
    values = body.model_dump(exclude={"starts_at", "ends_at", "duration_minutes"})
    refs = _resolve_refs(db, office, values)
    _check_external_id(db, office, body.external_id, None)
    appointment = Appointment(
        office_id=office.id,
        **values,
        **refs,
        starts_at=body.starts_at.astimezone(UTC),
        duration_minutes=body.minutes(),
        status=AppointmentStatus.SCHEDULED,
        status_changed_by=audit_actor(user),
    )
    try:
        booking.book(db, appointment, audit_actor(user), _accepted(force))
    except booking.NeedsConfirmation as exc:
        _refuse(exc)
    db.commit()
    return to_read(appointment)


@router.get("/{appointment_id}", responses=NOT_FOUND, summary="One appointment")
def get_appointment(appointment_id: RowId, db: DbDep, office: OfficeDep) -> AppointmentRead:
    return to_read(get_or_404(db, Appointment, appointment_id, office, "appointment"))


def _timing(appointment: Appointment, values: dict[str, Any]) -> None:
    """Turns starts_at/ends_at/duration_minutes into UTC starts_at and duration_minutes, in place."""
    if "starts_at" in values:
        values["starts_at"] = values["starts_at"].astimezone(UTC)
    if "ends_at" not in values:
        return
    start: datetime = values.get("starts_at", appointment.starts_at)
    try:
        minutes = end_after_start(start, values.pop("ends_at"))
    except ValueError as exc:
        invalid("ends_at", str(exc))
    if values.get("duration_minutes", minutes) != minutes:
        invalid("ends_at", "disagrees with duration_minutes; give one of the two")
    values["duration_minutes"] = minutes


@router.patch(
    "/{appointment_id}",
    responses={**NOT_FOUND, **REFUSALS},
    summary="Change or move an appointment",
    description="Only the fields sent change; moving it re-plans its reminders. Use .../status or .../cancel "
    "to change its status. Moving it into the past or onto a booking the patient already has needs `force=true`.",
)
def update_appointment(
    appointment_id: RowId,
    body: AppointmentUpdate,
    db: DbDep,
    office: OfficeDep,
    user: CurrentUser,
    force: Force = False,
) -> AppointmentRead:
    appointment = get_or_404(db, Appointment, appointment_id, office, "appointment")
    values = sent_values(body, nullable=frozenset({"provider_id", "external_id"}))
    for key in ("clinic_id", "provider_id", "patient_id"):  # unchanged links are kept even if now inactive
        if key in values and values[key] == getattr(appointment, key):
            del values[key]
    values.update(_resolve_refs(db, office, values))
    if "external_id" in values:
        _check_external_id(db, office, values["external_id"], appointment.id)
    _timing(appointment, values)
    try:
        booking.move(db, appointment, values, audit_actor(user), _accepted(force))
    except booking.NeedsConfirmation as exc:
        _refuse(exc)
    db.commit()
    return to_read(appointment)


def _set_status(db: Session, appointment: Appointment, status: AppointmentStatus, user: CurrentUser) -> None:
    booking.set_status(db, appointment, status, audit_actor(user))  # a move it cannot make is refused: 409
    db.commit()


@router.post(
    "/{appointment_id}/status",
    responses={**NOT_FOUND, **CONFLICT},
    summary="Set an appointment's status",
    description="E.g. confirm it, or mark a no-show. A move the status cannot make (a completed visit "
    "cannot become confirmed) answers 409 and changes nothing.",
)
def set_appointment_status(
    appointment_id: RowId, body: StatusChange, db: DbDep, office: OfficeDep, user: CurrentUser
) -> AppointmentRead:
    appointment = get_or_404(db, Appointment, appointment_id, office, "appointment")
    _set_status(db, appointment, body.status, user)
    return to_read(appointment)


@router.post(
    "/{appointment_id}/cancel",
    responses={**NOT_FOUND, **CONFLICT},
    summary="Cancel an appointment",
    description="Its pending reminders are cancelled with it. Cancelling twice is harmless.",
)
def cancel_appointment(appointment_id: RowId, db: DbDep, office: OfficeDep, user: CurrentUser) -> AppointmentRead:
    appointment = get_or_404(db, Appointment, appointment_id, office, "appointment")
    _set_status(db, appointment, AppointmentStatus.CANCELLED, user)
    return to_read(appointment)
