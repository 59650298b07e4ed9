"""The operator's pages (`/operator/offices`): every office of the deployment with its set-up doctor's summary,
and suspend/resume. Only an operator (`Role.OPERATOR`) sees them; for anyone else they do not exist (404).

Each office's doctor summary is its own fragment, loaded by the list: the checks ask Twilio, and one slow account
must not hold up the page of hundreds."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from ... import offices
from ...doctor.checks import Status
from ...doctor.context import DoctorContext
from ...doctor.runner import run_doctor
from ...models import Office, StaffUser
from ..deps import DbDep, SettingsDep, audit_actor
from ..webhooks.signed import forget_directory
from .auth import OperatorPage
from .csrf import check_csrf
from .rendering import flash, render, render_fragment

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])


@router.get("/operator/offices", response_class=HTMLResponse)
def offices_page(request: Request, db: DbDep, user: OperatorPage) -> Response:
    context = {"title": "Offices", "section": "operator", "offices": offices.all_offices(db)}
    return render(request, "operator_offices.html", context, user=user, db=db)


@router.get("/operator/offices/{office_id}/doctor", response_class=HTMLResponse)
def office_doctor(request: Request, db: DbDep, user: OperatorPage, settings: SettingsDep, office_id: int) -> Response:
    """A plain `def`: the checks wait for Twilio in the threadpool, never on the event loop."""
    office = _office(db, office_id)
    report = run_doctor(DoctorContext(settings, request.app.state.sessions, office_id=office.id))
    failed = [r for r in report.results if r.status is Status.FAILED]
    html = render_fragment("_office_doctor.html", report=report, failed=failed[:3], more=len(failed) - 3)
    return HTMLResponse(html)


@router.post("/operator/offices/{office_id}/suspend")
def suspend_office(request: Request, db: DbDep, user: OperatorPage, office_id: int) -> Response:
    return _change(request, db, user, office_id, suspend=True)


@router.post("/operator/offices/{office_id}/resume")
def resume_office(request: Request, db: DbDep, user: OperatorPage, office_id: int) -> Response:
    return _change(request, db, user, office_id, suspend=False)


def _office(db: Session, office_id: int) -> Office:
    office = db.get(Office, office_id)
    if office is None:
        raise HTTPException(404)
    return office


def _change(request: Request, db: Session, user: StaffUser, office_id: int, *, suspend: bool) -> Response:
    office = _office(db, office_id)
    try:
        (offices.suspend if suspend else offices.resume)(db, office, audit_actor(user))
    except offices.OfficeError as exc:
        flash(request, f"{office.name}: {exc.message}", "warn")
        return RedirectResponse("/operator/offices", status_code=303)
    db.commit()
    forget_directory(request.app)  # this process's webhooks see it at once; the other replicas within a second
    flash(request, f"{office.name} is {'suspended' if suspend else 'active again'}.")
    return RedirectResponse("/operator/offices", status_code=303)
