"""The patient's page behind the reminder link: `/p/<token>`.

Nothing about the appointment is shown before the date of birth matches (5 wrong answers lock the link for a
while). An invalid link shows a generic page; an expired or revoked one only the clinic's phone. Answers have the
same effects as the SMS answers (`booking.set_status`, actor `patient:link`). No patient data is logged.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from ... import booking
from ...booking import BookingError
from ...models import ACTIVE_STATUSES, Appointment, AppointmentKind, AppointmentStatus, Office, PatientLink, utcnow
from ...phones import display
from ...telehealth import links, rooms
from ...telehealth.links import DobResult
from ..deps import DbDep, SettingsDep
from .calendar import appointment_ics
from .security import CSRF_FIELD, CSRF_HEADER, PortalGuard
from .texts import local_when, texts

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
STATIC = HERE / "static"
SDK = HERE.parent / "static" / "vendor" / "twilio-video.min.js"  # copied from node_modules by `make assets`
ANSWERS = {
    "confirm": AppointmentStatus.CONFIRMED,
    "cancel": AppointmentStatus.CANCELLED,
    "reschedule": AppointmentStatus.RESCHEDULE_REQUESTED,
}

router = APIRouter(include_in_schema=False)


def render(
    request: Request, guard: PortalGuard, name: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    language = context.get("language")
    response = templates.TemplateResponse(
        request, name, {"t": texts(language), "lang": (language or "en")[:2], **context}, status_code=status_code
    )
    return guard.apply(response)


def _gone(request: Request, guard: PortalGuard, check: links.LinkCheck) -> Response:
    """Invalid: a generic page. Expired or revoked: nothing but the clinic's phone."""
    if check.link is None:
        return render(request, guard, "gone.html", {"phone": None}, status_code=404)
    appointment = check.link.appointment
    context = {"phone": display(appointment.clinic.phone), "language": appointment.patient.language}
    return render(request, guard, "gone.html", context, status_code=410)


def _base(check: links.LinkCheck, token: str, guard: PortalGuard) -> dict[str, Any]:
    assert check.link is not None
    appointment = check.link.appointment
    return {
        "token": token,
        "csrf": guard.csrf_token(token),
        "language": appointment.patient.language,
        "phone": display(appointment.clinic.phone),
    }


def _verify_page(request: Request, guard: PortalGuard, check: links.LinkCheck, token: str, **extra: Any) -> Response:
    assert check.link is not None
    now = utcnow()
    status = int(extra.pop("status_code", 200))
    context = {**_base(check, token, guard), "locked": links.locked(check.link, now), **extra}
    return render(request, guard, "verify.html", context, status_code=429 if context["locked"] else status)


def _appointment_page(request: Request, guard: PortalGuard, check: links.LinkCheck, token: str) -> Response:
    assert check.link is not None
    appointment = check.link.appointment
    clinic = appointment.clinic
    day, clock = local_when(appointment.starts_at, clinic.timezone, appointment.patient.language)
    done = request.query_params.get("done", "")
    context = {
        **_base(check, token, guard),
        "appointment": appointment,
        "clinic": clinic,
        "provider": appointment.provider.display_name if appointment.provider else "",
        "day": day,
        "clock": clock,
        "map_url": f"https://www.openstreetmap.org/search?query={quote_plus(clinic.address)}" if clinic.address else "",
        "video": appointment.kind == AppointmentKind.TELEHEALTH,
        "can_answer": answerable(appointment),
        "active": appointment.status in ACTIVE_STATUSES,
        "done": done if done in ("confirmed", "cancelled", "reschedule-requested", "refused") else "",
    }
    return render(request, guard, "appointment.html", context)


def answerable(appointment: Appointment) -> bool:
    """Confirm, cancel and reschedule apply to an appointment still ahead and not closed."""
    open_statuses = (*ACTIVE_STATUSES, AppointmentStatus.RESCHEDULE_REQUESTED)
    return appointment.status in open_statuses and appointment.starts_at > utcnow()


def _checked(
    request: Request, db: DbDep, settings: SettingsDep, token: str
) -> tuple[PortalGuard, links.LinkCheck, Response | None]:
    """The link's state; a response to send instead when it is not valid or the DOB is not yet checked."""
    guard = PortalGuard(request, settings)
    check = links.check(db, settings, token)
    if not check.ok:
        return guard, check, _gone(request, guard, check)
    assert check.link is not None
    if not guard.verified(check.link.id):
        return guard, check, _verify_page(request, guard, check, token)
    return guard, check, None


@router.get("/p/{token}")
def patient_page(request: Request, db: DbDep, settings: SettingsDep, token: str) -> Response:
    guard, check, refusal = _checked(request, db, settings, token)
    return refusal or _appointment_page(request, guard, check, token)


def parse_dob(value: str, language: str | None) -> date | None:
    """ISO (what `<input type=date>` sends), or typed: MM/DD/YYYY in English, DD/MM/YYYY in Spanish."""
    value = value.strip()
    formats = ["%Y-%m-%d", "%d/%m/%Y" if (language or "").startswith("es") else "%m/%d/%Y"]
    for fmt in formats:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def _forbidden(request: Request, guard: PortalGuard, language: str | None) -> Response:
    return render(request, guard, "message.html", {"language": language, "message_key": "cookies"}, status_code=403)


@router.post("/p/{token}/verify")
def verify(
    request: Request, db: DbDep, settings: SettingsDep, token: str, dob: str = Form(""), csrf: str = Form("")
) -> Response:
    guard = PortalGuard(request, settings)
    check = links.check(db, settings, token)
    if not check.ok:
        return _gone(request, guard, check)
    link: PatientLink = check.link  # type: ignore[assignment]
    language = link.appointment.patient.language
    if not guard.csrf_ok(token, csrf):
        return _forbidden(request, guard, language)
    result = links.check_dob(link, parse_dob(dob, language))
    db.commit()
    log.info("patient link %s: date of birth %s", link.id, result.value)
    if result is DobResult.OK:
        response = RedirectResponse(f"/p/{token}", status_code=303)
        guard.mark_verified(response, link.id)
        return guard.apply(response)
    if result is DobResult.NO_DOB:
        context = {**_base(check, token, guard), "message_key": "no_dob"}
        return render(request, guard, "message.html", context, status_code=403)
    left = links.MAX_DOB_ATTEMPTS - link.failed_attempts
    return _verify_page(request, guard, check, token, wrong=result is DobResult.WRONG, left=left, status_code=400)


@router.post("/p/{token}/answer")
def answer_page(
    request: Request, db: DbDep, settings: SettingsDep, token: str, answer: str = Form(""), csrf: str = Form("")
) -> Response:
    guard, check, refusal = _checked(request, db, settings, token)
    if refusal is not None:
        return refusal
    link: PatientLink = check.link  # type: ignore[assignment]
    if not guard.csrf_ok(token, csrf):
        return _forbidden(request, guard, link.appointment.patient.language)
    status = ANSWERS.get(answer)
    if status is None:
        return guard.apply(RedirectResponse(f"/p/{token}", status_code=303))
    if not answerable(link.appointment):
        return guard.apply(RedirectResponse(f"/p/{token}?done=refused", status_code=303))
    try:
        booking.set_status(db, link.appointment, status, "patient:link")
    except BookingError:
        db.rollback()
        return guard.apply(RedirectResponse(f"/p/{token}?done=refused", status_code=303))
    db.commit()
    log.info("patient link %s: answered %s", link.id, answer)
    return guard.apply(RedirectResponse(f"/p/{token}?done={status.value}", status_code=303))


@router.get("/p/{token}/calendar.ics")
def calendar(request: Request, db: DbDep, settings: SettingsDep, token: str) -> Response:
    guard, check, refusal = _checked(request, db, settings, token)
    if refusal is not None:
        return refusal
    assert check.link is not None
    page_url = links.public_base(db, settings, check.link.office_id) + links.LINK_PATH + token
    body = appointment_ics(check.link.appointment, page_url, utcnow())
    headers = {"Content-Disposition": 'attachment; filename="appointment.ics"'}
    return guard.apply(Response(body, media_type="text/calendar; charset=utf-8", headers=headers))


@router.get("/p/{token}/video")
def video_page(request: Request, db: DbDep, settings: SettingsDep, token: str) -> Response:
    guard, check, refusal = _checked(request, db, settings, token)
    if refusal is not None:
        return refusal
    assert check.link is not None
    if check.link.appointment.kind != AppointmentKind.TELEHEALTH:
        return guard.apply(RedirectResponse(f"/p/{token}", status_code=303))
    lead = rooms.VideoPolicy.from_settings(settings).room_lead
    context = {**_base(check, token, guard), "lead_minutes": int(lead.total_seconds() // 60)}
    return render(request, guard, "video.html", context)


@router.post("/p/{token}/video/token")
def video_token(request: Request, db: DbDep, settings: SettingsDep, token: str) -> Response:
    """JSON for the join page's script: the patient's access token, or why there is none (409)."""
    guard = PortalGuard(request, settings)
    check = links.check(db, settings, token)
    if not check.ok or check.link is None or not guard.verified(check.link.id):
        return guard.apply(JSONResponse({"refusal": "link"}, status_code=403))
    if not guard.csrf_ok(token, request.headers.get(CSRF_HEADER)):
        return guard.apply(JSONResponse({"refusal": "csrf"}, status_code=403))
    appointment = check.link.appointment
    office = db.get(Office, appointment.office_id)
    assert office is not None
    try:
        _visit, grant, ws_server = rooms.patient_join(db, settings, office, appointment)
    except rooms.VideoUnavailable as exc:
        db.commit()
        log.info("patient link %s: no video (%s)", check.link.id, exc.refusal.value)
        return guard.apply(JSONResponse({"refusal": exc.refusal.value}, status_code=409))
    db.commit()
    return guard.apply(JSONResponse({**grant.as_json(), "ws_server": ws_server}))


@router.get("/portal/assets/{name}")
def asset(name: str) -> Response:
    path = SDK if name == SDK.name else STATIC / name
    if "/" in name or name.startswith(".") or not path.is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})


__all__ = ["CSRF_FIELD", "router"]
