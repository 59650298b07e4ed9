"""The schedule: who is coming, who confirmed, cancelled or never answered, and what each reminder did.

Rows update without a reload: the page asks `/schedule/changes` every few seconds for the rows that changed
since its last answer (an appointment, one of its reminders or messages) and swaps them in. Status changes go
through `booking`, like every other change of an appointment.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import audit, booking
from ...models import Appointment, AppointmentStatus, Clinic, Provider, Reminder, ReminderStatus, utcnow
from ..deps import DbDep
from .auth import PageUser, safe_next, wants_fragment
from .csrf import check_csrf, csrf_token
from .rendering import flash, local, render, render_fragment
from .schedule_data import (
    PAGE_SIZE,
    SPANS,
    STATUS_FILTERS,
    Row,
    changed_ids,
    count,
    home_zone,
    load_rows,
    page_ids,
    parse_filters,
    status_counts,
    view_query,
)

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

POLL_SECONDS = 3
# Rows are re-sent if they changed this long before the last answer: a transaction that wrote its timestamp
# before that answer but committed after it is still seen. Re-sending a row is harmless.
OVERLAP = timedelta(seconds=10)
ACTIONS: dict[str, tuple[AppointmentStatus, str]] = {
    "confirmed": (AppointmentStatus.CONFIRMED, "Confirmed"),
    "cancelled": (AppointmentStatus.CANCELLED, "Cancelled"),
    "no-show": (AppointmentStatus.NO_SHOW, "Marked as a no-show"),
    "scheduled": (AppointmentStatus.SCHEDULED, "Back to scheduled"),
}


def send_reminder_now(db: Session, appointment: Appointment, actor: str) -> Reminder | None:
    """Moves the appointment's next planned reminder to now (a text before a call); the dispatcher sends it.

    None when nothing is planned any more. Quiet hours and the office's caps still apply when it is sent.
    """
    planned = db.scalars(
        select(Reminder).where(Reminder.appointment_id == appointment.id, Reminder.status == ReminderStatus.PLANNED)
    ).all()
    if not planned or appointment.status not in (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED):
        return None
    reminder = min(planned, key=lambda r: (r.channel != "sms", r.due_at))
    reminder.due_at = utcnow()
    audit.record(db, appointment.office_id, actor, "send-now", "reminder", reminder.id, appointment=appointment.id)
    return reminder


def _clinics(db: Session, office_id: int) -> tuple[list[Clinic], dict[int, Clinic]]:
    clinics = list(db.scalars(select(Clinic).where(Clinic.office_id == office_id).order_by(Clinic.name)))
    return clinics, {c.id: c for c in clinics}


def _row_html(request: Request, row: Row, next_url: str) -> str:
    return render_fragment("_schedule_row.html", row=row, csrf_token=csrf_token(request), next_url=next_url)


@router.get("/schedule", response_class=HTMLResponse)
def schedule_page(request: Request, db: DbDep, user: PageUser) -> Response:
    clinics, by_id = _clinics(db, user.office_id)
    f = parse_filters(request.query_params, clinics)
    stmt = view_query(user.office_id, clinics, f)
    counts = status_counts(db, user.office_id, clinics, f)
    total = count(db, stmt) if f.status else sum(counts.values())
    rows = load_rows(db, user.office_id, page_ids(db, stmt, f.page), by_id)
    providers = db.scalars(select(Provider).where(Provider.office_id == user.office_id).order_by(Provider.name))
    zone = home_zone(clinics, f.clinic_id)
    context: dict[str, Any] = {
        "title": "Schedule",
        "section": "schedule",
        "f": f,
        "rows": rows,
        "total": total,
        "pages": max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        "counts": counts,
        "clinics": clinics,
        "providers": list(providers),
        "spans": SPANS,
        "status_filters": STATUS_FILTERS,
        "zone": zone,
        "today": datetime.now(ZoneInfo(zone)).date(),
        "next_url": f"/schedule?{f.query()}",
        "since": utcnow().isoformat(),
        "poll_seconds": POLL_SECONDS,
        "timedelta": timedelta,
    }
    return render(request, "schedule.html", context, user=user, db=db)


@router.get("/schedule/changes")
def schedule_changes(request: Request, db: DbDep, user: PageUser, since: str = "", ids: str = "") -> JSONResponse:
    """The rows among `ids` that changed since `since` (the previous answer's `now`), as HTML to swap in."""
    now = utcnow()
    try:
        after = datetime.fromisoformat(since.replace(" ", "+")).astimezone(UTC) - OVERLAP
    except ValueError:
        after = now - OVERLAP
    wanted = [int(i) for i in ids.split(",")[:PAGE_SIZE] if i.isdigit()]
    _, by_id = _clinics(db, user.office_id)
    changed = changed_ids(db, user.office_id, wanted, after)
    next_url = safe_next(request.query_params.get("next"), "/schedule")
    rows = load_rows(db, user.office_id, changed, by_id)
    return JSONResponse(
        {"now": now.isoformat(), "rows": {str(r.appointment.id): _row_html(request, r, next_url) for r in rows}}
    )


def _after_action(request: Request, db: Session, appointment: Appointment, next_url: str, note: str) -> Response:
    if wants_fragment(request):
        _, by_id = _clinics(db, appointment.office_id)
        rows = load_rows(db, appointment.office_id, [appointment.id], by_id)
        return HTMLResponse(_row_html(request, rows[0], next_url), headers={"HX-Trigger": "schedule-changed"})
    flash(request, note)
    return RedirectResponse(next_url, status_code=303)


def _appointment(db: Session, user: PageUser, appointment_id: int) -> Appointment | None:
    appointment = db.get(Appointment, appointment_id)
    return appointment if appointment is not None and appointment.office_id == user.office_id else None


def _refused(request: Request, next_url: str, note: str, kind: str = "error") -> Response:
    if wants_fragment(request):
        return JSONResponse({"detail": note}, 409)
    flash(request, note, kind)
    return RedirectResponse(next_url, status_code=303)


@router.post("/schedule/appointments/{appointment_id}")
def appointment_action(
    request: Request,
    appointment_id: int,
    db: DbDep,
    user: PageUser,
    action: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/schedule",
) -> Response:
    """One form per row, one button per action: confirmed, cancelled, no-show, scheduled (reinstate), remind."""
    next_url = safe_next(next, "/schedule")
    appointment = _appointment(db, user, appointment_id)
    if appointment is None or (action not in ACTIONS and action != "remind"):
        context = {"title": "Not found", "message": "No such appointment or action."}
        return render(request, "error.html", context, user=user, status_code=404)
    actor = f"user:{user.id}"
    if action == "remind":
        if send_reminder_now(db, appointment, actor) is None:
            db.rollback()
            note = "No reminder is left to send for this appointment; text the patient from the inbox instead."
            return _refused(request, next_url, note, "warn")
        db.commit()
        return _after_action(request, db, appointment, next_url, "The reminder goes out now (outside quiet hours).")
    target, note = ACTIONS[action]
    try:
        booking.set_status(db, appointment, target, actor)
    except booking.BookingError as exc:
        db.rollback()
        return _refused(request, next_url, f"Not changed: {exc.message}.")
    db.commit()
    when = local(appointment.starts_at, appointment.clinic.timezone, "%a %I:%M %p")
    # no patient name: notices travel in the session cookie
    return _after_action(request, db, appointment, next_url, f"{note}: the appointment of {when}.")
