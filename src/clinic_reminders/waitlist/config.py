"""An office's waitlist settings (waves, cut-off, how long offers stay open, joining on a "3"), one row per office.

The row is made the first time the office uses the waitlist (a patient joins, an admin saves the settings), and
the outbox is read from that moment on: cancellations from before it are not offered.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import audit
from ..models import Event, Office, WaitlistSettings
from ..refusals import Refused

LIMITS = {
    "wave_size": (1, 50),
    "wave_minutes": (1, 24 * 60),
    "cutoff_hours": (0, 14 * 24),
    "offer_minutes": (5, 7 * 24 * 60),
}


def settings_of(db: Session, office: Office) -> WaitlistSettings:
    row = db.get(WaitlistSettings, office.id)
    if row is None:
        start = db.scalar(select(func.max(Event.id)).where(Event.office_id == office.id)) or 0
        row = WaitlistSettings(
            office_id=office.id,
            enabled=True,
            wave_size=5,
            wave_minutes=10,
            cutoff_hours=2,
            join_on_reschedule=False,
            events_from=start,
            event_cursor=start,
        )
        db.add(row)
        db.flush()
    return row


@dataclass(frozen=True)
class Change:
    enabled: bool
    wave_size: int
    wave_minutes: int
    cutoff_hours: int
    offer_minutes: int | None  # None: offers stay open until the slot's cut-off
    join_on_reschedule: bool


def change(db: Session, office: Office, new: Change, actor: str) -> WaitlistSettings:
    for field, (low, high) in LIMITS.items():
        value = getattr(new, field)
        if value is not None and not low <= value <= high:
            raise Refused(field, f"must be from {low} to {high}")
    row = settings_of(db, office)
    changed = {k: v for k, v in vars(new).items() if getattr(row, k) != v}
    for field, value in changed.items():
        setattr(row, field, value)
    if changed:
        audit.record(db, office.id, actor, "waitlist_settings", "office", office.id, fields=sorted(changed))
    return row
