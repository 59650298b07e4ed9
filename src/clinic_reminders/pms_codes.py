"""The office's mapping of the practice-management system's codes to its clinics and providers: the one path by
which the JSON API (`/api/pms-codes`) and the configuration page change it.

Imports list the codes they meet that nothing stands for (`imports.known.Known.saw`): an admin maps each to a
clinic (a location code) or a provider (a provider code), creates the provider from the name the import sent
with the code (HL7 AIP-3), or maps a code before any import meets it. Every import source looks codes up here
first (HL7 AIL-3, PV1-3, AIG-3, AIP-3, PV1-7; CSV and FHIR clinic and provider names), then clinics and
providers by name. Each change is audited; nothing is committed here: the caller commits, or rolls back on
`Refused`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .models import Clinic, PmsCode, PmsCodeKind, Provider
from .refusals import Refusal, Refused, referenced

MAX_CODE = 100
MAX_NAME = 200
MAX_TITLE = 50
_NEVER = datetime.min.replace(tzinfo=UTC)


def listed(db: Session, office_id: int, *, mapped: bool | None = None) -> list[PmsCode]:
    """The office's codes: those not mapped first, most recently met first; then the mapped ones by code."""
    rows = db.scalars(select(PmsCode).where(PmsCode.office_id == office_id))
    found = [row for row in rows if mapped is None or row.mapped == mapped]
    unknown = sorted((r for r in found if not r.mapped), key=lambda r: r.last_seen_at or _NEVER, reverse=True)
    known = sorted((r for r in found if r.mapped), key=lambda r: (r.kind, r.code.casefold(), r.code))
    return [*unknown, *known]


def code_of(db: Session, office_id: int, *, clinic_id: int | None = None, provider_id: int | None = None) -> str | None:
    """The PMS's code for one of our clinics or providers, as write-back names it to the PMS; the code met most
    recently when several stand for it, None when none does."""
    target = PmsCode.clinic_id == clinic_id if clinic_id is not None else PmsCode.provider_id == provider_id
    stmt = (
        select(PmsCode.code)
        .where(PmsCode.office_id == office_id, target)
        .order_by(PmsCode.last_seen_at.desc().nulls_last(), PmsCode.id)
        .limit(1)
    )
    return db.scalar(stmt)


def add(
    db: Session,
    office_id: int,
    kind: str,
    code: str,
    actor: str,
    *,
    clinic_id: int | None = None,
    provider_id: int | None = None,
) -> PmsCode:
    """A code mapped before an import meets it."""
    text = code.strip()
    if kind not in set(PmsCodeKind):
        raise Refused("kind", f"use one of {', '.join(PmsCodeKind)}")
    if not text:
        raise Refused("code", "fill this in")
    if len(text) > MAX_CODE:
        raise Refused("code", f"use at most {MAX_CODE} characters")
    taken = db.scalar(
        select(PmsCode.id).where(PmsCode.office_id == office_id, PmsCode.kind == kind, PmsCode.code == text)
    )
    if taken is not None:
        raise Refused("code", f"this {kind} code is listed already (code {taken}): map it there", Refusal.CONFLICT)
    row = PmsCode(office_id=office_id, kind=kind, code=text, name="", title="", seen_count=0)
    _set_target(db, row, clinic_id, provider_id)
    if not row.mapped:
        raise Refused(_target_field(row), "choose what the code stands for")
    db.add(row)
    db.flush()
    audit.record(db, office_id, actor, "create", "pms_code", row.id, kind=kind, **_target(row))
    return row


def map_code(
    db: Session, row: PmsCode, actor: str, *, clinic_id: int | None = None, provider_id: int | None = None
) -> PmsCode:
    """The clinic (location code) or provider (provider code) the code stands for; neither given unmaps it, and
    the imports list it again when they meet it."""
    _set_target(db, row, clinic_id, provider_id)
    audit.record(db, row.office_id, actor, "map" if row.mapped else "unmap", "pms_code", row.id, **_target(row))
    return row


def create_provider(db: Session, row: PmsCode, actor: str, *, clinic_id: int | None = None) -> Provider:
    """A provider made from the name the import sent with the code (AIP-3: given and family name, prefix), and
    the code mapped to them."""
    if row.kind != PmsCodeKind.PROVIDER:
        raise Refused("kind", "only a provider code makes a provider", Refusal.CONFLICT)
    if row.mapped:
        raise Refused("provider_id", "the code stands for a provider already; unmap it first", Refusal.CONFLICT)
    if not row.name.strip():
        raise Refused("name", "the import sent no name with this code: add the provider, then map the code to them")
    if clinic_id is not None:
        referenced(db, Clinic, clinic_id, row.office_id, "clinic_id", "clinic")
    provider = Provider(office_id=row.office_id, name=row.name.strip()[:MAX_NAME], title=row.title.strip()[:MAX_TITLE])
    provider.clinic_id = clinic_id
    db.add(provider)
    db.flush()
    audit.record(db, row.office_id, actor, "create", "provider", provider.id, pms_code=row.id)
    map_code(db, row, actor, provider_id=provider.id)
    return provider


def remove(db: Session, row: PmsCode, actor: str) -> None:
    """Forget the code: a mapping no longer wanted, or a code met once by mistake."""
    audit.record(db, row.office_id, actor, "delete", "pms_code", row.id, kind=row.kind)
    db.delete(row)
    db.flush()


def _set_target(db: Session, row: PmsCode, clinic_id: int | None, provider_id: int | None) -> None:
    if row.kind == PmsCodeKind.LOCATION:
        if provider_id is not None:
            raise Refused("provider_id", "a location code stands for a clinic: give clinic_id")
        if clinic_id is not None:
            clinic = referenced(db, Clinic, clinic_id, row.office_id, "clinic_id", "clinic")
            if not clinic.active:
                raise Refused("clinic_id", f"clinic {clinic_id} is deactivated")
        row.clinic_id = clinic_id
        return
    if clinic_id is not None:
        raise Refused("clinic_id", "a provider code stands for a provider: give provider_id")
    if provider_id is not None:
        provider = referenced(db, Provider, provider_id, row.office_id, "provider_id", "provider")
        if not provider.active:
            raise Refused("provider_id", f"provider {provider_id} is deactivated")
    row.provider_id = provider_id


def _target_field(row: PmsCode) -> str:
    return "clinic_id" if row.kind == PmsCodeKind.LOCATION else "provider_id"


def _target(row: PmsCode) -> dict[str, int | None]:
    return {_target_field(row): row.clinic_id if row.kind == PmsCodeKind.LOCATION else row.provider_id}
