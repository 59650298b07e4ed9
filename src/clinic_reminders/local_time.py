"""Times as people read them: on a clinic's clock (or a patient's, where that is what is meant), always with the
zone's abbreviation, so that one appointment reads the same on every page: "Tue Jan 14, 4:00 PM CST".

Every time shown to a person goes through `display`: the staff pages (the `local` and `when` filters), the
notices they flash, the staff video page and the simulator's phone page. Which zone is the caller's choice: an
appointment and what happened about it are on its clinic's clock; a patient's own history on the clock of the
clinic they are seen at (`web/admin/zones.py`).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

STYLES = ("datetime", "time", "weekday-time", "date", "day", "iso-date")


def abbreviation(moment: datetime) -> str:
    """CST, MDT, IST...; a zone without one reads as its offset (UTC+04), never a bare "+04"."""
    name = moment.tzname() or ""
    return f"UTC{name}" if name[:1] in "+-" else name


def clock(moment: datetime) -> str:
    """4:00 PM (no leading zero, whatever the locale)."""
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def display(value: datetime | None, zone: str, style: str = "datetime") -> str:
    """`value` (aware) on the clock of `zone`:

    - datetime: Tue Jan 14, 4:00 PM CST
    - time: 4:00 PM CST
    - weekday-time: Tue 4:00 PM CST
    - date: Jan 14, 2025 (a day: no clock, no zone)
    - day: Tuesday, January 14 (a heading)
    - iso-date: 2025-01-14 (for links to a day of the schedule)
    """
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(zone))
    at = f"{clock(local)} {abbreviation(local)}"
    if style == "datetime":
        return f"{local:%a %b} {local.day}, {at}"
    if style == "time":
        return at
    if style == "weekday-time":
        return f"{local:%a} {at}"
    if style == "date":
        return f"{local:%b} {local.day}, {local.year}"
    if style == "day":
        return f"{local:%A, %B} {local.day}"
    if style == "iso-date":
        return local.date().isoformat()
    raise ValueError(f"unknown time style {style!r}; use one of {', '.join(STYLES)}")
