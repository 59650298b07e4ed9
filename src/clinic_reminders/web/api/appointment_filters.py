"""The list filters of /api/appointments that need more than an equality: status sets and date ranges.

A bound is an ISO 8601 datetime with an offset (an exact instant) or a plain date, which means that day on
the clock of the appointment's clinic: "from=2030-01-15&to=2030-01-15" is the 15th in every clinic's zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, false, or_, true

from ...models import Appointment, AppointmentStatus, Clinic
from .errors import invalid_query

Bound = datetime | date

RANGE_DOC = (
    "ISO 8601 with an offset (2030-01-15T08:00:00-05:00, an exact instant) or a plain date (2030-01-15: that "
    "day in each appointment's clinic time zone). `from` is inclusive; `to` is exclusive for an instant and "
    "includes the whole day for a date."
)
STATUS_DOC = "One or several statuses: repeat the parameter or separate with commas (status=scheduled,confirmed)."


def parse_bound(raw: str | None, field: str) -> Bound | None:
    if raw is None or not raw.strip():
        return None
    raw = raw.strip()
    try:
        if len(raw) == 10:
            return date.fromisoformat(raw)
        value = datetime.fromisoformat(raw)
    except ValueError:
        invalid_query(field, "not an ISO 8601 date or datetime, e.g. 2030-01-15 or 2030-01-15T08:00:00-05:00")
    if value.tzinfo is None:
        invalid_query(field, "add a UTC offset (e.g. -05:00 or Z), or give a plain date")
    return value.astimezone(UTC)


def parse_statuses(raw: Sequence[str] | None) -> list[str] | None:
    if not raw:
        return None
    wanted = [s.strip() for item in raw for s in item.split(",") if s.strip()]
    known = {s.value for s in AppointmentStatus}
    if any(s not in known for s in wanted):
        invalid_query("status", "unknown status; use " + ", ".join(sorted(known)))
    return wanted or None


def _instant(bound: Bound, zone: str, end: bool) -> datetime:
    if isinstance(bound, datetime):
        return bound
    day = bound + timedelta(days=1) if end else bound
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _range(lo: Bound | None, hi: Bound | None, zone: str) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = []
    if lo is not None:
        parts.append(Appointment.starts_at >= _instant(lo, zone, end=False))
    if hi is not None:
        parts.append(Appointment.starts_at < _instant(hi, zone, end=True))
    return and_(true(), *parts)


def date_range(lo: Bound | None, hi: Bound | None, clinics: Sequence[Clinic]) -> ColumnElement[bool] | None:
    """The condition on starts_at; plain dates become one condition per clinic (offices have a few)."""
    if lo is None and hi is None:
        return None
    if all(b is None or isinstance(b, datetime) for b in (lo, hi)):
        return _range(lo, hi, "UTC")
    if not clinics:
        return false()
    return or_(*(and_(Appointment.clinic_id == c.id, _range(lo, hi, c.timezone)) for c in clinics))
