"""When a reminder is due, and the next moment a patient may be contacted.

All inputs and outputs are aware datetimes; local clock times are resolved in a named zone so that
"2 days before at 10:00" stays 10:00 on both sides of a DST switch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class RuleTiming:
    """Either `days_before` + `at_local_time`, or `minutes_before`."""

    days_before: int | None = None
    at_local_time: time | None = None
    minutes_before: int | None = None

    def __post_init__(self) -> None:
        clock = self.days_before is not None and self.at_local_time is not None
        relative = self.minutes_before is not None
        if clock == relative:
            raise ValueError("a rule is either 'N days before at HH:MM' or 'N minutes before', not both or neither")


@dataclass(frozen=True)
class Window:
    """The hours, in the patient's local time, in which texts and calls are allowed (TCPA: 8:00 to 21:00)."""

    start: time = time(8, 0)
    end: time = time(21, 0)


@lru_cache(maxsize=4096)
def local_datetime(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """A wall-clock time on a date in a zone, as UTC. A time skipped by DST moves forward by the gap.

    Cached: planning an import's thousands of appointments asks for the same few days, hours and zones."""
    naive = datetime.combine(day, clock)
    aware = naive.replace(tzinfo=zone)
    # zoneinfo accepts non-existent local times; a round trip through UTC reveals and normalises them.
    round_trip = aware.astimezone(UTC).astimezone(zone)
    if round_trip.replace(tzinfo=None) != naive:
        aware = round_trip
    return aware.astimezone(UTC)


def due_at(timing: RuleTiming, starts_at: datetime, zone: ZoneInfo) -> datetime:
    if timing.minutes_before is not None:
        return starts_at - timedelta(minutes=timing.minutes_before)
    assert timing.days_before is not None and timing.at_local_time is not None
    local_day = starts_at.astimezone(zone).date() - timedelta(days=timing.days_before)
    return local_datetime(local_day, timing.at_local_time, zone)


def next_allowed(moment: datetime, zone: ZoneInfo, window: Window) -> datetime:
    """`moment` if it falls inside the window in `zone`, else the window's next opening."""
    local = moment.astimezone(zone)
    if window.start <= local.time() < window.end:
        return moment
    day = local.date() if local.time() < window.start else local.date() + timedelta(days=1)
    return local_datetime(day, window.start, zone)


def seconds_left_in_window(moment: datetime, zone: ZoneInfo, window: Window) -> float:
    """How long until the window closes (0 when outside it): the most a message may wait in Twilio's queue."""
    local = moment.astimezone(zone)
    if not window.start <= local.time() < window.end:
        return 0.0
    closes = local_datetime(local.date(), window.end, zone)
    return max(0.0, (closes - moment).total_seconds())
