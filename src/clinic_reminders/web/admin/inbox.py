"""The inbox: each patient's conversation, those needing a person and unread ones first, and a reply box.

Lists and threads come from `conversations.threads`; a reply goes through `staff_sms.text_patient`, as the
conversations API's do (consent, opt-out and quiet-hour checks, the message written before Twilio is called).
Open threads poll for new messages and status changes. Texts from a number of no patient are an "Unknown
number" conversation (`unknown_numbers.py`), where staff say whose number it is.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from starlette.concurrency import run_in_threadpool

from ...conversations import staff_sms, threads
from ...models import Appointment, Direction, Message, Office, Patient, StaffUser, utcnow
from ...refusals import Refused
from ..deps import DbDep, audit_actor, shared_gateway
from .auth import PageUser
from .csrf import check_csrf
from .rendering import flash, render, render_fragment
from .zones import zones_for

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

PAGE_SIZE = 50
POLL_SECONDS = 3
OVERLAP = timedelta(seconds=10)


def _list_context(db: Session, user: StaffUser, page: int, only: str) -> dict[str, Any]:
    summaries, total = threads.inbox(
        db,
        user.office_id,
        only_unread=only == "unread",
        only_needs_person=only == "needs-person",
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    return {
        "conversations": summaries,
        "total": total,
        "page": page,
        "pages": max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        "only": only,
        "zones": zones_for(db, user.office_id, [s.patient_id for s in summaries if s.patient_id is not None]),
    }


def _only(value: str) -> str:
    return value if value in ("unread", "needs-person") else ""


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(request: Request, db: DbDep, user: PageUser, page: int = 1, only: str = "") -> Response:
    context = {"title": "Inbox", "section": "inbox", **_list_context(db, user, max(page, 1), _only(only))}
    return render(request, "inbox.html", context, user=user, db=db)


@router.get("/inbox/list", response_class=HTMLResponse)
def inbox_list(db: DbDep, user: PageUser, page: int = 1, only: str = "") -> HTMLResponse:
    """The conversation list alone, for the page to refresh itself."""
    return HTMLResponse(render_fragment("_conversations.html", **_list_context(db, user, max(page, 1), _only(only))))


def _patient(db: Session, user: StaffUser, patient_id: int) -> Patient | None:
    patient = db.get(Patient, patient_id)
    return patient if patient is not None and patient.office_id == user.office_id else None


def not_found(request: Request, user: StaffUser, message: str = "No such patient.") -> Response:
    return render(request, "error.html", {"title": "Not found", "message": message}, user=user, status_code=404)


@router.get("/inbox/{patient_id}", response_class=HTMLResponse)
def thread_page(request: Request, patient_id: int, db: DbDep, user: PageUser) -> Response:
    return _thread(request, db, user, patient_id)


def _thread(
    request: Request, db: Session, user: StaffUser, patient_id: int, draft: str = "", refusal: str | None = None
) -> Response:
    """The conversation; after a refused reply, with the draft kept and the reason (never kept in the cookie)."""
    patient = db.scalar(select(Patient).where(Patient.id == patient_id).options(selectinload(Patient.phones)))
    if patient is None or patient.office_id != user.office_id:
        return not_found(request, user)
    messages = threads.messages_of(db, patient.id)
    if threads.mark_read(db, patient.id):
        db.commit()
    upcoming = db.scalars(
        select(Appointment)
        .where(Appointment.patient_id == patient.id, Appointment.starts_at > utcnow() - timedelta(hours=1))
        .options(selectinload(Appointment.clinic))
        .order_by(Appointment.starts_at)
        .limit(3)
    )
    context = {
        "title": f"Conversation with {patient.full_name}",
        "section": "inbox",
        "patient": patient,
        "messages": messages,
        "needs_person": any(m.needs_person for m in messages),
        "appointments": list(upcoming),
        "zones": zones_for(db, user.office_id, [patient.id]),
        "since": utcnow().isoformat(),
        "poll_seconds": POLL_SECONDS,
        "price": _price(db, user),
        "draft": draft,
        "refusal": refusal,
    }
    return render(request, "thread.html", context, user=user, db=db, status_code=409 if refusal else 200)


def _price(db: Session, user: StaffUser) -> str:
    office = db.get(Office, user.office_id)
    return str(office.sms_price_per_segment) if office else "0"


@router.get("/inbox/{patient_id}/updates")
def thread_updates(patient_id: int, db: DbDep, user: PageUser, since: str = "") -> JSONResponse:
    """Messages of the thread written or changed since `since`, as HTML; answers shown are marked read."""
    now = utcnow()
    patient = _patient(db, user, patient_id)
    if patient is None:
        return JSONResponse({"detail": "no such patient"}, 404)
    try:
        after = datetime.fromisoformat(since.replace(" ", "+")).astimezone(UTC) - OVERLAP
    except ValueError:
        after = now - OVERLAP
    changed = list(
        db.scalars(
            select(Message)
            .where(Message.patient_id == patient.id, Message.updated_at > after)
            .order_by(Message.created_at, Message.id)
            .limit(200)
        )
    )
    if any(m.unread and m.direction == Direction.INBOUND for m in changed) and threads.mark_read(db, patient.id):
        db.commit()
    zones = zones_for(db, user.office_id, [patient.id])
    html = {str(m.id): render_fragment("_message.html", m=m, zones=zones) for m in changed}
    return JSONResponse({"now": now.isoformat(), "messages": html})


@router.post("/inbox/{patient_id}/reply")
async def reply(
    request: Request,
    patient_id: int,
    db: DbDep,
    user: PageUser,
    body: Annotated[str, Form(max_length=1600)] = "",
    urgent: Annotated[str, Form()] = "",
) -> Response:
    """Sends as the conversations API does; a refusal (opt-out, quiet hours, Twilio) shows the draft again."""
    if not body.strip():
        return await run_in_threadpool(_thread, request, db, user, patient_id, "", "Write a message first.")
    app = request.app
    try:
        gateway_for = partial(shared_gateway, app)
        await staff_sms.text_patient(
            app.state.sessions, app.state.settings, gateway_for, user, patient_id, body, bool(urgent)
        )
    except Refused as exc:
        return await run_in_threadpool(_thread, request, db, user, patient_id, body, f"Not sent: {exc.detail}")
    flash(request, "Sent.")
    return RedirectResponse(f"/inbox/{patient_id}", status_code=303)


@router.post("/inbox/{patient_id}/handled")
def mark_handled(request: Request, patient_id: int, db: DbDep, user: PageUser) -> Response:
    """A person has dealt with this conversation's flagged answers."""
    patient = _patient(db, user, patient_id)
    if patient is None:
        return not_found(request, user)
    threads.resolve_patient(db, patient, audit_actor(user))
    db.commit()
    flash(request, "Marked as handled.")
    return RedirectResponse(f"/inbox/{patient.id}", status_code=303)
