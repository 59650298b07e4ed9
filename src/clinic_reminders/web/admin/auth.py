"""Signing in and out of the staff pages, session expiry, and the role checks the pages depend on.

A session lasts `REMINDERS_SESSION_MAX_AGE` seconds from sign-in, however busy: the cookie is refused after that
and so is a session whose sign-in time is older (the cookie's own age restarts whenever the session changes).
Roles: admins see everything; staff see the schedule, the inbox and patients.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from ... import audit
from ...accounts import SUSPENDED, OfficeSuspended, authenticate, check_office_active
from ...db import transaction
from ...models import StaffUser
from ..deps import DbDep, SettingsDep
from .csrf import CsrfRejected, check_csrf, new_csrf_token
from .rendering import flash, render

log = logging.getLogger(__name__)
clock: Callable[[], float] = time.time  # tests move it to expire sessions


class LoginRequired(Exception):
    def __init__(self, expired: bool = False, suspended: bool = False) -> None:
        super().__init__("sign in first")
        self.expired = expired
        self.suspended = suspended


class NotAllowed(Exception):
    """The signed-in user's role does not open this page."""


def _end_session(request: Request) -> None:
    request.session.clear()


def page_user(request: Request, db: DbDep, settings: SettingsDep) -> StaffUser:
    """The signed-in staff user of a page (session cookie only: bearer tokens are for the API)."""
    user_id, login_at = request.session.get("user_id"), request.session.get("login_at")
    if user_id is None:
        raise LoginRequired
    if not isinstance(login_at, (int, float)) or clock() - login_at > settings.session_max_age:
        _end_session(request)
        raise LoginRequired(expired=True)
    user = db.get(StaffUser, user_id)
    if user is None or not user.active:
        _end_session(request)
        raise LoginRequired
    try:
        check_office_active(db, user)
    except OfficeSuspended:
        _end_session(request)
        raise LoginRequired(suspended=True) from None
    return user


PageUser = Annotated[StaffUser, Depends(page_user)]


def admin_page(user: PageUser) -> StaffUser:
    if not user.is_admin:
        raise NotAllowed
    return user


AdminPage = Annotated[StaffUser, Depends(admin_page)]


def operator_page(user: PageUser) -> StaffUser:
    """The operator's pages do not exist for an office's staff: 404."""
    if not user.is_operator:
        raise HTTPException(404)
    return user


OperatorPage = Annotated[StaffUser, Depends(operator_page)]


def session_user(request: Request) -> StaffUser | None:
    """Who is signed in, for an error page's navigation (no dependency ran); nobody when it cannot be told."""
    user_id = request.session.get("user_id") if "session" in request.scope else None
    if user_id is None:
        return None
    try:
        with transaction(request.app.state.sessions) as db:
            user = db.get(StaffUser, user_id)
            if user is None or not user.active:
                return None
            db.expunge(user)
            return user
    except SQLAlchemyError:  # the error being shown may be the database's own
        log.warning("an error page could not look up who is signed in", exc_info=True)
        return None


def wants_fragment(request: Request) -> bool:
    """htmx or a script is asking (it cannot follow a redirect to the sign-in page sensibly)."""
    return request.headers.get("hx-request") == "true" or "application/json" in request.headers.get("accept", "")


def safe_next(target: str | None, default: str = "/schedule") -> str:
    """Only a path on this site: never `//evil.example` or a full URL."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


async def login_required_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    if exc.expired:
        flash(request, "Your session expired. Please sign in again.", "warn")
    if exc.suspended:
        flash(request, SUSPENDED, "warn")
    if wants_fragment(request):
        return JSONResponse({"detail": "sign in first", "login": "/login"}, 401, headers={"HX-Redirect": "/login"})
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


async def not_allowed_handler(request: Request, _exc: Exception) -> Response:
    message = "This page is for office administrators."
    if wants_fragment(request):
        return JSONResponse({"detail": message}, 403)
    context = {"title": "Not allowed", "message": message, "code": 403}
    return render(request, "error.html", context, user=session_user(request), status_code=403)


async def csrf_handler(request: Request, _exc: Exception) -> Response:
    assert isinstance(_exc, CsrfRejected)
    message = "This form was not accepted: it is out of date. Go back, reload the page and try again."
    if wants_fragment(request):
        return JSONResponse({"detail": message}, 403)
    context = {"title": "Form refused", "message": message, "code": 403}
    return render(request, "error.html", context, user=session_user(request), status_code=403)


EXCEPTION_HANDLERS = {
    LoginRequired: login_required_handler,
    NotAllowed: not_allowed_handler,
    CsrfRejected: csrf_handler,
}

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])


@router.get("/")
def home(request: Request) -> RedirectResponse:
    return RedirectResponse("/schedule" if request.session.get("user_id") else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> Response:
    if request.session.get("user_id"):
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "email": "", "error": None})


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    db: DbDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        user = authenticate(db, email, password) if email and password else None
    except OfficeSuspended as exc:
        context = {"next": safe_next(next), "email": email, "error": exc.message}
        return render(request, "login.html", context, status_code=403)
    if user is None:
        context = {"next": safe_next(next), "email": email, "error": "The email or the password is not right."}
        return render(request, "login.html", context, status_code=401)
    audit.record(db, user.office_id, f"user:{user.id}", "login", "staff_user", user.id)
    db.commit()
    request.session.clear()  # a new session: nothing from before sign-in carries over
    request.session.update(user_id=user.id, login_at=clock())
    new_csrf_token(request)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    _end_session(request)
    flash(request, "You are signed out.")
    return RedirectResponse("/login", status_code=303)
