"""The one path by which the office's clinics and providers are added, changed and deactivated: the JSON API and
the staff pages both call it.

Clinics and providers are never deleted (appointments refer to them): deactivating one keeps it, and a change of
`active` brings it back. Each change is audited with the names of the fields it changed. Nothing is committed
here: the caller commits, or rolls back on `Refused`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from . import audit
from .models import Clinic, Provider
from .refusals import apply, referenced, sent_values

if TYPE_CHECKING:  # the API's schemas validate what staff type; importing them at run time would be circular
    from .web.api.schemas.clinics import ClinicCreate, ClinicUpdate, ProviderCreate, ProviderUpdate


def add_clinic(db: Session, office_id: int, body: ClinicCreate, actor: str) -> Clinic:
    clinic = Clinic(office_id=office_id, **body.model_dump())
    db.add(clinic)
    db.flush()
    audit.record(db, office_id, actor, "create", "clinic", clinic.id)
    return clinic


def _change(db: Session, row: Clinic | Provider, entity: str, values: dict[str, Any], actor: str) -> None:
    changed = apply(row, values)
    if changed:
        audit.record(db, row.office_id, actor, "update", entity, row.id, fields=changed)


def _deactivate(db: Session, row: Clinic | Provider, entity: str, actor: str) -> None:
    if row.active:
        row.active = False
        audit.record(db, row.office_id, actor, "deactivate", entity, row.id)


def change_clinic(db: Session, clinic: Clinic, body: ClinicUpdate, actor: str) -> Clinic:
    """Only the fields `body` sets change; a new time zone moves its reminders' clock time on their next re-plan."""
    _change(db, clinic, "clinic", sent_values(body, nullable=frozenset({"twilio_number"})), actor)
    return clinic


def deactivate_clinic(db: Session, clinic: Clinic, actor: str) -> Clinic:
    _deactivate(db, clinic, "clinic", actor)
    return clinic


def _check_clinic(db: Session, office_id: int, clinic_id: int | None) -> None:
    if clinic_id is not None:
        referenced(db, Clinic, clinic_id, office_id, "clinic_id", "clinic")


def add_provider(db: Session, office_id: int, body: ProviderCreate, actor: str) -> Provider:
    _check_clinic(db, office_id, body.clinic_id)
    provider = Provider(office_id=office_id, **body.model_dump())
    db.add(provider)
    db.flush()
    audit.record(db, office_id, actor, "create", "provider", provider.id)
    return provider


def change_provider(db: Session, provider: Provider, body: ProviderUpdate, actor: str) -> Provider:
    """Only the fields `body` sets change; a null `clinic_id` detaches the provider from any clinic."""
    values = sent_values(body, nullable=frozenset({"clinic_id"}))
    _check_clinic(db, provider.office_id, values.get("clinic_id"))
    _change(db, provider, "provider", values, actor)
    return provider


def deactivate_provider(db: Session, provider: Provider, actor: str) -> Provider:
    """Their appointments keep them."""
    _deactivate(db, provider, "provider", actor)
    return provider
