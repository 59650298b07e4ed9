"""Whether a clinic is open at an instant: its opening hours on its own clock, less public holidays (the `holidays`
library, by the office's country and state) and the office's own closed days. Pure: the caller passes "now"."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from ..refusals import Refused


@dataclass(frozen=True)
class Calendar:
    zone: ZoneInfo  # the clinic's
    hours: Mapping[int, tuple[time, time]]  # weekday (0 Monday) -> opens, closes; a weekday left out is closed
    closed: Collection[date] = ()
    country: str | None = None
    subdivision: str | None = None

    def is_holiday(self, day: date) -> bool:
        return day in self.closed or (self.country is not None and day in _holidays(self.country, self.subdivision))

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.zone)
        if self.is_holiday(local.date()):
            return False
        span = self.hours.get(local.weekday())
        return span is not None and span[0] <= local.time() < span[1]


@lru_cache(maxsize=64)
def _holidays(country: str, subdivision: str | None) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdivision)


def check_region(country: str | None, subdivision: str | None) -> tuple[str | None, str | None]:
    """The country and subdivision as the `holidays` library spells them, or refused."""
    country = (country or "").strip().upper() or None
    subdivision = (subdivision or "").strip().upper() or None
    if country is None:
        if subdivision is not None:
            raise Refused("holiday_subdivision", "give the country too")
        return None, None
    supported = holidays.list_supported_countries()
    if country not in supported:
        raise Refused("holiday_country", "not a country the holidays library knows (ISO code, e.g. US)")
    if subdivision is not None and subdivision not in supported[country]:
        raise Refused("holiday_subdivision", f"not a state or province of {country} (e.g. CA for California)")
    return country, subdivision


def parse_span(field: str, text: str) -> tuple[time, time] | None:
    """ "9:00-17:00" -> (9:00, 17:00); empty: closed that day."""
    text = text.strip()
    if not text:
        return None
    opens, sep, closes = text.partition("-")
    try:
        if not sep:
            raise ValueError
        span = (time.fromisoformat(opens.strip().zfill(5)), time.fromisoformat(closes.strip().zfill(5)))
    except ValueError:
        raise Refused(field, "write the hours as 9:00-17:00, or leave it empty when closed") from None
    if span[1] <= span[0]:
        raise Refused(field, "must close after it opens")
    return span


def show_span(span: tuple[time, time] | None) -> str:
    return "" if span is None else f"{span[0]:%H:%M}-{span[1]:%H:%M}"
