"""An "Unknown number" conversation: texts from a phone that belongs to no patient, and saying whose it is.

Staff find the patient (by name or number) and link the number to them, or create a patient with it. Either way
the number becomes one of the patient's phones and its texts join the patient's conversation; later texts from
it find the patient like any other's.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ... import patient_records
from ...conversations import threads
from ...conversations.lookup import link_number
from ...models import Patient, StaffUser
from ...models.patients import SUPPORTED_LANGUAGES
from ...patient_search import patient_search
from ...phones import InvalidPhoneNumber, to_e164
from ..api.schemas.patients import PatientCreate
from ..deps import DbDep, audit_actor
from .auth import PageUser
from .csrf import check_csrf
from .forms import call, parse
from .inbox import not_found
from .rendering import flash, render
from .zones import zones_for

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

MATCHES = 10
LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}


def _number(raw: str) -> str | None:
    """The path's number, if it is one (E.164 as Twilio sends it)."""
    try:
        return to_e164(raw)
    except InvalidPhoneNumber:
        return None


def _waiting(db: Session, user: StaffUser, raw: str) -> str | None:
    """The path's number, when texts from it wait in the user's office to be linked to a patient."""
    number = _number(raw)
    if number is None or not threads.messages_of_number(db, user.office_id, number):
        return None
    return number


def _show(
    request: Request,
    db: Session,
    user: StaffUser,
    number: str,
    q: str = "",
    new: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    messages = threads.messages_of_number(db, user.office_id, number)
    if not messages:
        return not_found(request, user, "No text from this number is waiting to be linked to a patient.")
    if threads.mark_number_read(db, user.office_id, number):
        db.commit()
    matches: list[Patient] = []
    if q.strip():
        matches = list(
            db.scalars(
                select(Patient)
                .where(Patient.office_id == user.office_id, patient_search(q.strip()))
                .options(selectinload(Patient.phones))
                .order_by(Patient.last_name, Patient.first_name, Patient.id)
                .limit(MATCHES)
            )
        )
    context = {
        "title": "Unknown number",
        "section": "inbox",
        "number": number,
        "messages": messages,
        "zones": zones_for(db, user.office_id, []),  # no patient yet: the office's clock
        "q": q,
        "matches": matches,
        "searched": bool(q.strip()),
        "new": new or {"first_name": "", "last_name": "", "language": "en"},
        "errors": errors or {},
        "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in SUPPORTED_LANGUAGES],
    }
    return render(request, "unknown_number.html", context, user=user, db=db, status_code=422 if errors else 200)


@router.get("/inbox/number/{number}", response_class=HTMLResponse)
def number_page(request: Request, number: str, db: DbDep, user: PageUser, q: str = "") -> Response:
    e164 = _number(number)
    if e164 is None:
        return not_found(request, user, "That is not a phone number.")
    return _show(request, db, user, e164, q[:100])


def _linked(request: Request, db: Session, user: StaffUser, patient: Patient, number: str, how: str) -> Response:
    link_number(db, patient, number, audit_actor(user), how)
    db.commit()
    flash(request, f"The number is now {patient.full_name}'s; its texts are in their conversation.")
    return RedirectResponse(f"/inbox/{patient.id}", status_code=303)


@router.post("/inbox/number/{number}/link")
def link_to_patient(
    request: Request,
    number: str,
    db: DbDep,
    user: PageUser,
    patient_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
) -> Response:
    e164 = _waiting(db, user, number)
    patient = db.scalar(select(Patient).where(Patient.id == patient_id).options(selectinload(Patient.phones)))
    if e164 is None or patient is None or patient.office_id != user.office_id:
        return not_found(request, user)
    return _linked(request, db, user, patient, e164, "existing")


@router.post("/inbox/number/{number}/new-patient")
def new_patient(
    request: Request,
    number: str,
    db: DbDep,
    user: PageUser,
    first_name: Annotated[str, Form(max_length=200)] = "",
    last_name: Annotated[str, Form(max_length=200)] = "",
    language: Annotated[str, Form(max_length=10)] = "en",
) -> Response:
    e164 = _waiting(db, user, number)
    if e164 is None:
        return not_found(request, user)
    typed = {"first_name": first_name.strip(), "last_name": last_name.strip(), "language": language}
    body, errors = parse(PatientCreate, {**typed, "phones": [{"number": e164, "kind": "mobile"}]})
    patient, errors = call(patient_records.add, db, user.office_id, body, user) if body else (None, errors)
    if patient is None:
        db.rollback()
        return _show(request, db, user, e164, new=typed, errors=errors)
    return _linked(request, db, user, patient, e164, "new")
