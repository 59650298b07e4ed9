"""Staff side of video visits and patient links: JSON endpoints and two standalone pages.

POST /api/appointments/{id}/video        "Start video visit": room + the provider's token (any staff user)
POST /api/appointments/{id}/link/revoke  revoke the appointment's patient links
POST /api/setup/test-chat                the set-up test chat: a room and two tokens (admin)
GET  /api/setup/test-chat/{visit_id}     that room's state and recorded status callbacks (admin)
GET  /video/visit/{id}                   the provider's visit page (the schedule's "Start video visit")
GET  /setup/test-chat                    the test chat page: both ends connect on one page
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy import select

from ... import local_time
from ...models import Appointment, StaffUser, VideoEvent, VideoPurpose, VideoVisit, utcnow
from ...telehealth import links, rooms
from ..api.errors import ADMIN_ONLY, NOT_FOUND, TWILIO_FAILED, not_found
from ..api.schemas.common import RowId
from ..deps import AdminUser, CurrentUser, DbDep, OfficeDep, SettingsDep, audit_actor, get_current_user
from .pages import templates

api = APIRouter(prefix="/api", tags=["video"], generate_unique_id_function=lambda route: route.name)
pages = APIRouter(include_in_schema=False)

REFUSAL_STATUS = {
    rooms.Refusal.NOT_CONFIGURED: status.HTTP_409_CONFLICT,
    rooms.Refusal.TWILIO_FAILED: status.HTTP_502_BAD_GATEWAY,
}


class VideoJoin(BaseModel):
    """What a browser needs to join a room with the Twilio Video SDK."""

    visit_id: int
    room: str
    room_sid: str | None
    identity: str
    token: str
    expires_at: str
    ws_server: str | None = None  # set when the simulator stands in for Twilio's signalling
    join_url: str | None = None


class TestChat(BaseModel):
    visit_id: int
    room: str
    room_sid: str | None
    ends: list[VideoJoin]


class LinkRevoked(BaseModel):
    revoked: int


def _refuse(exc: rooms.VideoUnavailable) -> HTTPException:
    code = REFUSAL_STATUS.get(exc.refusal, status.HTTP_409_CONFLICT)
    return HTTPException(code, detail=exc.detail)


def _appointment(db: DbDep, office_id: int, appointment_id: int) -> Appointment:
    appointment = db.get(Appointment, appointment_id)
    if appointment is None or appointment.office_id != office_id:
        not_found("appointment", appointment_id)
    return appointment


@api.post(
    "/appointments/{appointment_id}/video",
    responses={
        **NOT_FOUND,
        409: {"description": "Not a telehealth visit, over, or video not set up."},
        **TWILIO_FAILED,
    },
    summary="Start a video visit",
)
def start_video_visit(
    appointment_id: RowId, db: DbDep, office: OfficeDep, user: CurrentUser, settings: SettingsDep
) -> VideoJoin:
    """Creates the room if needed; returns the provider's access token and the page that uses it."""
    appointment = _appointment(db, office.id, appointment_id)
    try:
        visit, grant, ws_server = rooms.provider_join(db, settings, office, appointment, user.id)
    except rooms.VideoUnavailable as exc:
        db.commit()
        raise _refuse(exc) from None
    db.commit()
    return VideoJoin(
        visit_id=visit.id,
        room_sid=visit.room_sid,
        ws_server=ws_server,
        join_url=f"/video/visit/{appointment.id}",
        **{k: v for k, v in grant.as_json().items() if k in ("room", "identity", "token", "expires_at")},
    )


@api.post("/appointments/{appointment_id}/link/revoke", responses=NOT_FOUND, summary="Revoke the patient's links")
def revoke_patient_links(appointment_id: RowId, db: DbDep, office: OfficeDep, user: CurrentUser) -> LinkRevoked:
    """Every link already sent for this appointment stops working; the next reminder carries a new one."""
    appointment = _appointment(db, office.id, appointment_id)
    count = links.revoke_links(db, appointment, audit_actor(user))
    db.commit()
    return LinkRevoked(revoked=count)


@api.post(
    "/setup/test-chat",
    responses={**ADMIN_ONLY, 409: {"description": "Video is not set up."}, **TWILIO_FAILED},
    summary="Start a test chat",
)
def start_test_chat(db: DbDep, office: OfficeDep, user: AdminUser, settings: SettingsDep) -> TestChat:
    """The set-up's last step: a two-person test room and a token for each end."""
    try:
        visit, grants, ws_server = rooms.start_test_chat(db, settings, office, user.id)
    except rooms.VideoUnavailable as exc:
        db.commit()
        raise _refuse(exc) from None
    db.commit()
    ends = [
        VideoJoin(visit_id=visit.id, room_sid=visit.room_sid, ws_server=ws_server, **_grant_fields(g.as_json()))
        for g in grants
    ]
    return TestChat(visit_id=visit.id, room=visit.unique_name, room_sid=visit.room_sid, ends=ends)


def _grant_fields(data: dict[str, str]) -> dict[str, Any]:
    return {k: data[k] for k in ("room", "identity", "token", "expires_at")}


@api.get(
    "/setup/test-chat/{visit_id}", responses={**NOT_FOUND, **ADMIN_ONLY}, summary="A test chat's state and callbacks"
)
def test_chat_state(visit_id: RowId, db: DbDep, office: OfficeDep, user: AdminUser) -> dict[str, Any]:
    visit = db.get(VideoVisit, visit_id)
    if visit is None or visit.office_id != office.id or visit.purpose != VideoPurpose.TEST:
        not_found("test chat", visit_id)
    events = db.scalars(select(VideoEvent).where(VideoEvent.visit_id == visit.id).order_by(VideoEvent.id)).all()
    return {
        "visit_id": visit.id,
        "room": visit.unique_name,
        "room_sid": visit.room_sid,
        "status": visit.status,
        "events": [
            {"event": e.event, "identity": e.participant_identity, "at": e.received_at.isoformat()} for e in events
        ],
    }


# --- pages ------------------------------------------------------------------------------------------------------


def _page_user(request: Request, db: DbDep) -> StaffUser | None:
    try:
        return get_current_user(request, db)
    except HTTPException:
        return None


def _csrf(request: Request) -> str:
    """The staff session's CSRF token (same session key as the staff pages), sent back as X-CSRF-Token."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def _login(request: Request) -> Response:
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


@pages.get("/video/visit/{appointment_id}")
def provider_page(request: Request, appointment_id: RowId, db: DbDep) -> Response:
    user = _page_user(request, db)
    if user is None:
        return _login(request)
    appointment = _appointment(db, user.office_id, appointment_id)
    zone = appointment.clinic.timezone
    context = {
        "appointment_id": appointment.id,
        "patient_name": appointment.patient.full_name,
        "starts": local_time.display(appointment.starts_at, zone),
        "starts_at": appointment.starts_at.isoformat(),
        "with": ", ".join(
            x for x in (appointment.provider.display_name if appointment.provider else "", appointment.clinic.name) if x
        ),
        "csrf": _csrf(request),
        "now": utcnow(),
    }
    return templates.TemplateResponse(request, "staff_video.html", context)


@pages.get("/setup/test-chat")
def test_chat_page(request: Request, db: DbDep) -> Response:
    user = _page_user(request, db)
    if user is None:
        return _login(request)
    if not user.is_admin:
        return HTMLResponse("This page needs the admin role.", status_code=403)
    return templates.TemplateResponse(request, "test_chat.html", {"csrf": _csrf(request)})
