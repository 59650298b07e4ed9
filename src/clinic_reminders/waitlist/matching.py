"""Pure rules of the waitlist: whose wish a freed slot suits, who of them is offered it in a wave, and when slots
and offers close. No database, no clock: the caller passes "now"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..scheduling.timing import Window, next_allowed


@dataclass(frozen=True)
class Opening:
    """A freed slot as matching sees it; `zone` is its clinic's, in which dates and hours are meant."""

    clinic_id: int
    provider_id: int | None
    kind: str
    starts_at: datetime  # aware
    duration_minutes: int
    zone: ZoneInfo

    @property
    def local_start(self) -> datetime:
        return self.starts_at.astimezone(self.zone)

    @property
    def local_end(self) -> datetime:
        return (self.starts_at + timedelta(minutes=self.duration_minutes)).astimezone(self.zone)


@dataclass(frozen=True)
class Wish:
    """What a waiting patient asked for; None (or no weekdays) means any."""

    clinic_id: int | None = None
    provider_id: int | None = None
    kind: str | None = None
    earliest: date | None = None
    latest: date | None = None
    weekdays: tuple[int, ...] = ()  # 0 Monday .. 6 Sunday
    day_starts: time | None = None
    day_ends: time | None = None
    current_start: datetime | None = None  # the appointment they would move: only an earlier time is offered


def suits(wish: Wish, opening: Opening) -> bool:
    start, end = opening.local_start, opening.local_end
    if wish.clinic_id is not None and wish.clinic_id != opening.clinic_id:
        return False
    if wish.provider_id is not None and wish.provider_id != opening.provider_id:
        return False
    if wish.kind is not None and wish.kind != opening.kind:
        return False
    if wish.earliest is not None and start.date() < wish.earliest:
        return False
    if wish.latest is not None and start.date() > wish.latest:
        return False
    if wish.weekdays and start.weekday() not in wish.weekdays:
        return False
    if wish.day_starts is not None and start.time() < wish.day_starts:
        return False
    if wish.day_ends is not None and (end.date() != start.date() or end.time() > wish.day_ends):
        return False
    return wish.current_start is None or opening.starts_at < wish.current_start


@dataclass(frozen=True)
class Candidate:
    """A waiting patient whose wish the slot suits, in the order they joined."""

    entry_id: int
    patient_id: int
    zone: ZoneInfo  # the patient's, for the allowed hours
    reachable: bool = True  # consent to texts, not opted out, a number that takes texts, a sender that may send
    busy: bool = False  # an open offer of another slot (a YES must be unambiguous), or a visit then


@dataclass(frozen=True)
class Wave:
    chosen: list[Candidate]
    # When someone left out only for the allowed hours may be texted: the next wave need not wait longer.
    opens_at: datetime | None = None


def wave(candidates: Sequence[Candidate], size: int, now: datetime, window: Window) -> Wave:
    """The first `size` candidates who may be texted now, one offer per patient."""
    chosen: list[Candidate] = []
    seen: set[int] = set()
    opens_at: datetime | None = None
    for candidate in candidates:
        if len(chosen) >= size:
            break
        if candidate.patient_id in seen or not candidate.reachable or candidate.busy:
            continue
        allowed = next_allowed(now, candidate.zone, window)
        if allowed > now:
            opens_at = allowed if opens_at is None else min(opens_at, allowed)
            continue
        seen.add(candidate.patient_id)
        chosen.append(candidate)
    return Wave(chosen, opens_at)


def closes_at(starts_at: datetime, cutoff_hours: int) -> datetime:
    """The slot's cut-off: nothing is offered or booked inside the last `cutoff_hours` before it."""
    return starts_at - timedelta(hours=cutoff_hours)


def offer_expires(now: datetime, slot_closes: datetime, offer_minutes: int | None) -> datetime:
    """An offer is open for `offer_minutes`, never past the slot's cut-off (None: until the cut-off)."""
    if offer_minutes is None:
        return slot_closes
    return min(slot_closes, now + timedelta(minutes=offer_minutes))


def next_wave_at(
    now: datetime,
    wave_minutes: int,
    opens_at: datetime | None,
    closes: datetime,
    *,
    offered: bool,
    busy_until: datetime | None = None,
) -> datetime:
    """When the slot's next wave is due: `wave_minutes` after one that `offered` something (sooner when someone
    left out for the allowed hours may be texted sooner), or when the allowed hours open for one that was all
    quiet; never after the slot's cut-off `closes` (the caller stops there).

    A wave that offered nothing because everyone left holds another slot's offer (open until `busy_until` at the
    soonest) waits until that offer expires; one closed sooner wakes the slot (`waitlist.freed.close`)."""
    if not offered and opens_at is not None:
        return min(opens_at, closes)
    later = now + timedelta(minutes=wave_minutes)
    if not offered and busy_until is not None:
        later = max(later, busy_until)
    if opens_at is not None and now < opens_at < later:
        later = opens_at
    return min(later, closes)
