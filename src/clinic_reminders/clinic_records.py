"""The one path by which the office's clinics and providers are added, changed and deactivated: the JSON API and
the staff pages both call it.

Clinics and providers are never deleted (appointments refer to them): deactivating one keeps it, and a change of
`active` brings it back. Each change is audited with the names of the fields it changed. Nothing is committed
here: the caller commits, or rolls back on `Refused`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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


def change_clinic(db: Session, clinic: Clinic, body: ClinicUpdate, actor: str) -> Clinic:
    """Only the fields `body` sets change; a new time zone moves its reminders' clock time on their next re-plan."""
    changed = apply(clinic, sent_values(body, nullable=frozenset({"twilio_number"})))
    if changed:
        audit.record(db, clinic.office_id, actor, "update", "clinic", clinic.id, fields=changed)
    return clinic


def deactivate_clinic(db: Session, clinic: Clinic, actor: str) -> Clinic:
    if clinic.active:
        clinic.active = False
        audit.record(db, clinic.office_id, actor, "deactivate", "clinic", clinic.id)
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
    changed = apply(provider, values)
    if changed:
        audit.record(db, provider.office_id, actor, "update", "provider", provider.id, fields=changed)
    return provider


def deactivate_provider(db: Session, provider: Provider, actor: str) -> Provider:
    """Their appointments keep them."""
    if provider.active:
        provider.active = False
        audit.record(db, provider.office_id, actor, "deactivate", "provider", provider.id)
    return provider
