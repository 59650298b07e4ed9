"""The waitlist: patients join (POST) and leave (DELETE); freed slots and their offers are read-only here (the
dispatcher offers them, a patient's YES books them)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import EntrySource, EntryStatus, SlotStatus, WaitlistEntry, WaitlistOffer, WaitlistSlot
from ...waitlist import entries
from ..deps import CurrentUser, DbDep, OfficeDep, audit_actor
from .errors import CONFLICT, NOT_FOUND
from .lookups import get_or_404
from .pagination import Page, PageDep, paginate
from .schemas.common import RowId
from .schemas.waitlist import WaitlistEntryCreate, WaitlistEntryRead, WaitlistOfferRead, WaitlistSlotRead

router = APIRouter(prefix="/waitlist", tags=["waitlist"])


def _read(entry: WaitlistEntry) -> WaitlistEntryRead:
    return WaitlistEntryRead.model_validate(entry)


@router.get("", summary="List waitlist entries", description="Oldest first.")
def list_waitlist(
    db: DbDep,
    office: OfficeDep,
    page: PageDep,
    status: EntryStatus | None = None,
    patient_id: RowId | None = None,
) -> Page[WaitlistEntryRead]:
    stmt = select(WaitlistEntry).where(WaitlistEntry.office_id == office.id)
    if status is not None:
        stmt = stmt.where(WaitlistEntry.status == status)
    if patient_id is not None:
        stmt = stmt.where(WaitlistEntry.patient_id == patient_id)
    return paginate(db, stmt.order_by(WaitlistEntry.created_at, WaitlistEntry.id), page, _read)


@router.post("", status_code=201, responses=CONFLICT, summary="Put a patient on the waitlist")
def join_waitlist(body: WaitlistEntryCreate, db: DbDep, office: OfficeDep, user: CurrentUser) -> WaitlistEntryRead:
    entry = entries.join(db, office, body.to_join(), audit_actor(user), EntrySource.API)
    db.commit()
    return _read(entry)


def _slot(db: Session, slot: WaitlistSlot) -> WaitlistSlotRead:
    offers = db.scalars(select(WaitlistOffer).where(WaitlistOffer.slot_id == slot.id).order_by(WaitlistOffer.id))
    return WaitlistSlotRead.model_validate(
        {
            **{k: getattr(slot, k) for k in WaitlistSlotRead.model_fields if k != "offers"},
            "offers": [WaitlistOfferRead.model_validate(o) for o in offers],
        }
    )


@router.get("/slots", summary="Freed slots and their offers", description="By start, earliest first.")
def list_waitlist_slots(
    db: DbDep, office: OfficeDep, page: PageDep, status: SlotStatus | None = None
) -> Page[WaitlistSlotRead]:
    stmt = select(WaitlistSlot).where(WaitlistSlot.office_id == office.id)
    if status is not None:
        stmt = stmt.where(WaitlistSlot.status == status)
    return paginate(db, stmt.order_by(WaitlistSlot.starts_at, WaitlistSlot.id), page, lambda s: _slot(db, s))


@router.get("/{entry_id}", responses=NOT_FOUND, summary="One waitlist entry")
def get_waitlist_entry(entry_id: RowId, db: DbDep, office: OfficeDep) -> WaitlistEntryRead:
    return _read(get_or_404(db, WaitlistEntry, entry_id, office, "waitlist entry"))


@router.delete("/{entry_id}", responses=NOT_FOUND, summary="Take a patient off the waitlist")
def leave_waitlist(entry_id: RowId, db: DbDep, office: OfficeDep, user: CurrentUser) -> WaitlistEntryRead:
    """The entry is kept as removed (its offers are history); removing it twice is harmless."""
    entry = get_or_404(db, WaitlistEntry, entry_id, office, "waitlist entry")
    entries.remove(db, office, entry, audit_actor(user))
    db.commit()
    return _read(entry)
