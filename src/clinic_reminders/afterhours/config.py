"""An office's after-hours settings (on or off, its reply texts, its holidays and closed days) and each clinic's
opening hours. The settings row is made the first time an admin saves them, and the outbox is read from then on:
texts from before are not answered."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .. import audit
from ..messaging.compose import LANGUAGES
from ..models import AfterHoursSettings, Clinic, Event, Office, OpeningHours
from ..refusals import Refused
from .hours import Calendar, check_region

MAX_TEXT = 300
MAX_CLOSED_DATES = 366
Span = tuple[time, time]


def settings_of(db: Session, office: Office) -> AfterHoursSettings:
    row = db.get(AfterHoursSettings, office.id)
    if row is None:
        start = db.scalar(select(func.max(Event.id)).where(Event.office_id == office.id)) or 0
        row = AfterHoursSettings(
            office_id=office.id, enabled=False, texts={}, closed_dates=[], events_from=start, event_cursor=start
        )
        db.add(row)
        db.flush()
    return row


def hours_of(db: Session, office_id: int) -> dict[int, dict[int, Span]]:
    """Each clinic's opening hours: clinic id -> weekday -> (opens, closes)."""
    found: dict[int, dict[int, Span]] = {}
    for row in db.scalars(select(OpeningHours).where(OpeningHours.office_id == office_id)):
        found.setdefault(row.clinic_id, {})[row.weekday] = (row.opens, row.closes)
    return found


def calendar(row: AfterHoursSettings, clinic: Clinic, hours: Mapping[int, Span]) -> Calendar:
    return Calendar(
        zone=ZoneInfo(clinic.timezone),
        hours=hours,
        closed=frozenset(date.fromisoformat(d) for d in row.closed_dates),
        country=row.holiday_country,
        subdivision=row.holiday_subdivision,
    )


@dataclass(frozen=True)
class Change:
    enabled: bool
    texts: Mapping[str, str]  # by language; an empty one: the default wording
    holiday_country: str | None
    holiday_subdivision: str | None
    closed_dates: Sequence[date]
    hours: Mapping[int, Mapping[int, Span | None]]  # clinic id -> weekday -> hours (None: closed that day)


def change(db: Session, office: Office, new: Change, actor: str) -> AfterHoursSettings:
    texts = {lang: (new.texts.get(lang) or "").strip() for lang in LANGUAGES}
    for lang, text in texts.items():
        if len(text) > MAX_TEXT:
            raise Refused(f"text_{lang}", f"at most {MAX_TEXT} characters")
    country, subdivision = check_region(new.holiday_country, new.holiday_subdivision)
    if len(new.closed_dates) > MAX_CLOSED_DATES:
        raise Refused("closed_dates", f"at most {MAX_CLOSED_DATES} days")
    clinics = set(db.scalars(select(Clinic.id).where(Clinic.office_id == office.id)))
    for clinic_id, days in new.hours.items():
        if clinic_id not in clinics:
            raise Refused("hours", f"no clinic {clinic_id}")
        if not set(days) <= set(range(7)):
            raise Refused("hours", "weekdays are 0 (Monday) to 6 (Sunday)")
    row = settings_of(db, office)
    values = {
        "enabled": new.enabled,
        "texts": {lang: text for lang, text in texts.items() if text},
        "holiday_country": country,
        "holiday_subdivision": subdivision,
        "closed_dates": sorted({d.isoformat() for d in new.closed_dates}),
    }
    changed = sorted(k for k, v in values.items() if getattr(row, k) != v)
    for name in changed:
        setattr(row, name, values[name])
    before = hours_of(db, office.id)
    for clinic_id, days in new.hours.items():
        wanted = {day: span for day, span in days.items() if span is not None}
        if wanted == before.get(clinic_id, {}):
            continue
        changed.append(f"hours:{clinic_id}")
        db.execute(delete(OpeningHours).where(OpeningHours.clinic_id == clinic_id))
        for day, (opens, closes) in sorted(wanted.items()):
            db.add(OpeningHours(office_id=office.id, clinic_id=clinic_id, weekday=day, opens=opens, closes=closes))
    if changed:
        audit.record(db, office.id, actor, "after_hours_settings", "office", office.id, fields=changed)
    db.flush()
    return row
