"""Patients: names, phones (E.164), language, preferred channel, consent and opt-outs. Writes go through
`patient_records`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ... import patient_records
from ...models import Patient
from ...patient_search import patient_search
from ..deps import CurrentUser, DbDep, OfficeDep
from .errors import CONFLICT, NOT_FOUND
from .lookups import get_or_404
from .pagination import Page, PageDep, paginate
from .schemas.common import LanguageCode, RowId, Text
from .schemas.patients import PatientCreate, PatientRead, PatientUpdate

router = APIRouter(prefix="/patients", tags=["patients"])


@router.get("", summary="List and search patients")
def list_patients(
    db: DbDep,
    office: OfficeDep,
    page: PageDep,
    q: Annotated[
        Text | None,
        Query(max_length=100, description="Words of the first or last name, or a phone number (or 4+ digits of it)."),
    ] = None,
    language: Annotated[LanguageCode | None, Query(description="Only patients with this language.")] = None,
    external_id: Annotated[Text | None, Query(max_length=100)] = None,
) -> Page[PatientRead]:
    stmt = select(Patient).where(Patient.office_id == office.id).options(selectinload(Patient.phones))
    if q and q.strip():
        stmt = stmt.where(patient_search(q.strip()))
    if language is not None:
        stmt = stmt.where(Patient.language == language)
    if external_id is not None:
        stmt = stmt.where(Patient.external_id == external_id)
    stmt = stmt.order_by(Patient.last_name, Patient.first_name, Patient.id)
    return paginate(db, stmt, page, PatientRead.model_validate)


@router.post("", status_code=201, responses=CONFLICT, summary="Add a patient")
def create_patient(body: PatientCreate, db: DbDep, office: OfficeDep, user: CurrentUser) -> PatientRead:
    patient = patient_records.add(db, office.id, body, user)
    db.commit()
    return PatientRead.model_validate(patient)


@router.get("/{patient_id}", responses=NOT_FOUND, summary="One patient")
def get_patient(patient_id: RowId, db: DbDep, office: OfficeDep) -> PatientRead:
    return PatientRead.model_validate(get_or_404(db, Patient, patient_id, office, "patient"))


@router.patch(
    "/{patient_id}",
    responses={**NOT_FOUND, **CONFLICT},
    summary="Change a patient",
    description="Only the fields sent change. `phones`, when sent, replaces the list; a number that stays keeps "
    "its history, including Twilio's refusal of it (`invalid_at`). To have reminders use a refused number again, "
    "send the phones with `retry: true` on that number: the refusal is cleared, audited, and the patient's "
    "upcoming reminders are re-planned. `retry` on a number that is new to the patient or that Twilio has not "
    "refused answers 422. Consent and opt-out changes are recorded as consent events with the source "
    "`staff:<user id>`.",
)
def update_patient(
    patient_id: RowId, body: PatientUpdate, db: DbDep, office: OfficeDep, user: CurrentUser
) -> PatientRead:
    patient = get_or_404(db, Patient, patient_id, office, "patient")
    patient_records.change(db, patient, body, user)
    db.commit()
    return PatientRead.model_validate(patient)


@router.delete(
    "/{patient_id}",
    status_code=204,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Delete a patient without appointments",
    description="Only a patient who has no appointment at all can be deleted (a mistaken entry); "
    "otherwise the answer is 409 and the patient stays, with their history.",
)
def delete_patient(patient_id: RowId, db: DbDep, office: OfficeDep, user: CurrentUser) -> Response:
    patient = get_or_404(db, Patient, patient_id, office, "patient")
    patient_records.delete(db, patient, user)
    db.commit()
    return Response(status_code=204)
