"""The schedule: who is coming, who confirmed, cancelled or never answered, and what each reminder did.

Rows update without a reload: the page asks `/schedule/changes` every few seconds for the rows that changed
since its last answer (an appointment, one of its reminders or messages) and swaps them in. Status changes go
through `booking`, like every other change of an appointment; booking and moving are on their own pages
(booking_pages.py). "Send reminder now" texts the patient at once through `reminder_now`, or says in the row
why it cannot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ... import booking, reminder_now
from ...conversations import staff_sms
from ...effective import NotConfigured, twilio_config
from ...gateways import TwilioError, TwilioGateway
from ...models import Appointment, AppointmentStatus, Clinic, Message, Office, Provider, StaffUser, utcnow
from ...settings import Settings
from ...waitlist.views import slots_freed_by
from ..deps import DbDep, SettingsDep, shared_gateway
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
    layout,
    load_rows,
    local_order,
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


def _clinics(db: Session, office_id: int) -> tuple[list[Clinic], dict[int, Clinic]]:
    clinics = list(db.scalars(select(Clinic).where(Clinic.office_id == office_id).order_by(Clinic.name)))
    return clinics, {c.id: c for c in clinics}


@dataclass(frozen=True)
class Notice:
    """What an action did, shown in its row: `kind` ok, warn or error; `override`: offer to pass the office's
    cap on reminders (the only refusal staff may override)."""

    kind: str
    text: str
    override: bool = False


def _row_html(request: Request, row: Row, next_url: str, notice: Notice | None = None) -> str:
    context = {"row": row, "csrf_token": csrf_token(request), "next_url": next_url, "notice": notice}
    return render_fragment("_schedule_row.html", **context)


@router.get("/schedule", response_class=HTMLResponse)
def schedule_page(request: Request, db: DbDep, user: PageUser) -> Response:
    clinics, by_id = _clinics(db, user.office_id)
    f = parse_filters(request.query_params, clinics)
    in_view = [c for c in clinics if f.clinic_id is None or c.id == f.clinic_id]
    stmt = view_query(user.office_id, clinics, f)
    counts = status_counts(db, user.office_id, clinics, f)
    total = count(db, stmt) if f.status else sum(counts.values())
    rows = load_rows(db, user.office_id, page_ids(db, stmt, f.page, local_order(in_view, f)), by_id)
    providers = db.scalars(select(Provider).where(Provider.office_id == user.office_id).order_by(Provider.name))
    zone = home_zone(clinics, f.clinic_id)
    override = request.query_params.get("override", "")
    context: dict[str, Any] = {
        "title": "Schedule",
        "section": "schedule",
        "f": f,
        "rows": rows,
        "lines": layout(rows, f, several_clinics=len(in_view) > 1),
        "override_id": int(override) if override.isdigit() else None,
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
        "waitlist_slots": slots_freed_by(db, user.office_id, [r.appointment.id for r in rows]),
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


def _after_action(request: Request, db: Session, appointment: Appointment, next_url: str, notice: Notice) -> Response:
    """htmx: the row again, with the notice in it; otherwise the notice flashed over the page it came from."""
    if wants_fragment(request):
        _, by_id = _clinics(db, appointment.office_id)
        rows = load_rows(db, appointment.office_id, [appointment.id], by_id)
        html = _row_html(request, rows[0], next_url, notice)
        return HTMLResponse(html, headers={"HX-Trigger": "schedule-changed"})
    flash(request, notice.text, notice.kind)
    if notice.override:  # the row offers "send anyway" on the page it comes back to
        next_url = f"{next_url}{'&' if '?' in next_url else '?'}override={appointment.id}"
    return RedirectResponse(next_url, status_code=303)


def _appointment(db: Session, user: PageUser, appointment_id: int) -> Appointment | None:
    appointment = db.get(Appointment, appointment_id)
    return appointment if appointment is not None and appointment.office_id == user.office_id else None


def _refused(request: Request, next_url: str, note: str) -> Response:
    if wants_fragment(request):
        return JSONResponse({"detail": note}, 409)
    flash(request, note, "error")
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
    """One form per row, one button per action: confirmed, cancelled, no-show, scheduled (reinstate)."""
    next_url = safe_next(next, "/schedule")
    appointment = _appointment(db, user, appointment_id)
    if appointment is None or action not in ACTIONS:
        return _not_found(request, user)
    actor = f"user:{user.id}"
    target, note = ACTIONS[action]
    try:
        booking.set_status(db, appointment, target, actor)
    except booking.BookingError as exc:
        db.rollback()
        return _refused(request, next_url, f"Not changed: {exc.message}.")
    db.commit()
    when = local(appointment.starts_at, appointment.clinic.timezone)
    # no patient name: notices travel in the session cookie
    return _after_action(request, db, appointment, next_url, Notice("ok", f"{note}: the appointment of {when}."))


def _not_found(request: Request, user: StaffUser) -> Response:
    context = {"title": "Not found", "message": "No such appointment or action."}
    return render(request, "error.html", context, user=user, status_code=404)


Prepared = tuple[staff_sms.Draft, TwilioGateway] | reminder_now.CannotRemind | None


def _prepare_reminder(
    request: Request, db: Session, settings: Settings, user: StaffUser, appointment_id: int, over_cap: bool
) -> Prepared:
    """The checked reminder text, committed before Twilio is called; or why not; None: no such appointment."""
    appointment = _appointment(db, user, appointment_id)
    office = db.get(Office, user.office_id)
    if appointment is None or office is None:
        return None
    config = twilio_config(settings, office)
    try:
        outgoing = reminder_now.draft(db, settings, config, office, appointment, user, over_cap=over_cap, now=utcnow())
        gateway = shared_gateway(request.app, config)
    except NotConfigured as exc:
        db.rollback()
        return reminder_now.CannotRemind(str(exc))
    except reminder_now.CannotRemind as exc:
        db.rollback()
        return exc
    db.commit()
    return outgoing, gateway


def _record(db: Session, message_id: int, sid: str | None, error: TwilioError | None) -> None:
    message = db.get(Message, message_id)
    assert message is not None
    staff_sms.record(db, message, sid, error, utcnow())
    db.commit()


@router.post("/schedule/appointments/{appointment_id}/remind")
async def remind_now(
    request: Request,
    appointment_id: int,
    db: DbDep,
    user: PageUser,
    settings: SettingsDep,
    override_cap: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/schedule",
) -> Response:
    """Sends the appointment's reminder text now (`reminder_now`), or says why not; `override_cap` passes over
    the office's caps on reminders a day and a week (audited)."""
    next_url = safe_next(next, "/schedule")
    prepared = await run_in_threadpool(
        _prepare_reminder, request, db, settings, user, appointment_id, bool(override_cap)
    )
    if prepared is None:
        return await run_in_threadpool(_not_found, request, user)
    if isinstance(prepared, reminder_now.CannotRemind):
        notice = Notice("warn", f"Not sent: {prepared.reason}.", override=prepared.over_cap)
    else:
        outgoing, gateway = prepared
        sid, error = await staff_sms.send(gateway, outgoing)
        await run_in_threadpool(_record, db, outgoing.message_id, sid, error)
        if error is None:
            notice = Notice("ok", "Reminder text sent. The planned reminders still go at their times.")
        else:
            notice = Notice("error", f"Not sent: Twilio refused the text: {error.reason}.")
    appointment = await run_in_threadpool(_appointment, db, user, appointment_id)
    assert appointment is not None
    return await run_in_threadpool(_after_action, request, db, appointment, next_url, notice)
