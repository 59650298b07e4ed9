"""What staff see of the waitlist: the slots the schedule's cancellations freed with their offers and outcomes, a
patient's entries, and the dashboard's counts. Reads only."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from ..models import OfferStatus, Patient, SlotStatus, WaitlistEntry, WaitlistOffer, WaitlistSlot
from ..scheduling.timing import local_datetime

SLOT_LABELS = {
    SlotStatus.OPEN: "Being offered",
    SlotStatus.FILLED: "Filled from the waitlist",
    SlotStatus.TAKEN: "Taken another way",
    SlotStatus.EXPIRED: "Not filled",
}
OFFER_LABELS = {
    OfferStatus.OPEN: "offered, no answer yet",
    OfferStatus.ACCEPTED: "took it",
    OfferStatus.TOO_LATE: "said yes too late",
    OfferStatus.CLOSED: "no answer before it went",
    OfferStatus.EXPIRED: "offer expired",
    OfferStatus.FAILED: "text not sent",
}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class OfferLine:
    patient_id: int
    name: str
    wave: int
    status: str
    at: datetime

    @property
    def label(self) -> str:
        return OFFER_LABELS.get(OfferStatus(self.status), self.status)


@dataclass
class SlotView:
    slot: WaitlistSlot
    zone: str
    offers: list[OfferLine] = field(default_factory=list)

    @property
    def label(self) -> str:
        return SLOT_LABELS.get(SlotStatus(self.slot.status), self.slot.status)


def slots_freed_by(db: Session, office_id: int, appointment_ids: Sequence[int]) -> list[SlotView]:
    """The slots these appointments' cancellations freed, earliest first, each with its offers in order."""
    if not appointment_ids:
        return []
    slots = list(
        db.scalars(
            select(WaitlistSlot)
            .where(WaitlistSlot.office_id == office_id, WaitlistSlot.appointment_id.in_(appointment_ids))
            .options(joinedload(WaitlistSlot.clinic), joinedload(WaitlistSlot.provider))
            .order_by(WaitlistSlot.starts_at, WaitlistSlot.id)
        )
    )
    by_slot: dict[int, list[OfferLine]] = defaultdict(list)
    rows = db.execute(
        select(WaitlistOffer, Patient.first_name, Patient.last_name)
        .join(Patient, Patient.id == WaitlistOffer.patient_id)
        .where(WaitlistOffer.slot_id.in_([s.id for s in slots]))
        .order_by(WaitlistOffer.id)
    )
    for offer, first, last in rows:
        line = OfferLine(offer.patient_id, f"{first} {last}", offer.wave, offer.status, offer.created_at)
        by_slot[offer.slot_id].append(line)
    return [SlotView(s, s.clinic.timezone, by_slot[s.id]) for s in slots]


def entries_of(db: Session, patient_id: int) -> list[WaitlistEntry]:
    return list(
        db.scalars(
            select(WaitlistEntry)
            .where(WaitlistEntry.patient_id == patient_id)
            .options(selectinload(WaitlistEntry.clinic), selectinload(WaitlistEntry.provider))
            .order_by(WaitlistEntry.created_at.desc(), WaitlistEntry.id.desc())
        )
    )


def describe(entry: WaitlistEntry) -> str:
    """ "Dr. Chen at Riverside, in person, Jun 3 to Jun 30, Mon Wed, 08:00-12:00" (no patient data)."""
    parts = [entry.provider.display_name if entry.provider else "any provider"]
    parts[0] += f" at {entry.clinic.name}" if entry.clinic else ", any clinic"
    if entry.kind:
        parts.append("video" if entry.kind == "telehealth" else "in person")
    first, last = entry.earliest_date, entry.latest_date
    if first and last:
        parts.append(f"{first:%b} {first.day} to {last:%b} {last.day}")
    elif first or last:
        day = first or last
        assert day is not None
        parts.append(f"{'from' if first else 'until'} {day:%b} {day.day}")
    if entry.weekdays:
        parts.append(" ".join(WEEKDAYS[d] for d in entry.weekdays))
    if entry.day_starts or entry.day_ends:
        start = entry.day_starts.strftime("%H:%M") if entry.day_starts else "00:00"
        end = entry.day_ends.strftime("%H:%M") if entry.day_ends else "24:00"
        parts.append(f"{start}-{end}")
    return ", ".join(parts)


@dataclass(frozen=True)
class Counts:
    offers_sent: int
    slots_filled: int


def counts_on_days(db: Session, office_id: int, first: date, last: date, zone: str) -> Counts:
    """`counts` from the start of `first` to the end of `last`, on the clock of `zone` (the dashboard's days)."""
    where = ZoneInfo(zone)
    start, end = local_datetime(first, time(0), where), local_datetime(last + timedelta(days=1), time(0), where)
    return counts(db, office_id, start, end)


def counts(db: Session, office_id: int, start: datetime, end: datetime) -> Counts:
    """Offers texted and slots filled from the waitlist between `start` and `end`."""
    sent = db.scalar(
        select(func.count())
        .select_from(WaitlistOffer)
        .where(
            WaitlistOffer.office_id == office_id,
            WaitlistOffer.status != OfferStatus.FAILED,
            WaitlistOffer.created_at >= start,
            WaitlistOffer.created_at < end,
        )
    )
    filled = db.scalar(
        select(func.count())
        .select_from(WaitlistSlot)
        .where(
            WaitlistSlot.office_id == office_id,
            WaitlistSlot.status == SlotStatus.FILLED,
            WaitlistSlot.updated_at >= start,
            WaitlistSlot.updated_at < end,
        )
    )
    return Counts(sent or 0, filled or 0)
