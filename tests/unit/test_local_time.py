"""Times as people read them: the clinic's clock and its zone's abbreviation, in every style."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from clinic_reminders.local_time import display

WINTER = datetime(2030, 1, 14, 22, 0, tzinfo=UTC)  # 4:00 PM in Chicago, CST
SUMMER = datetime(2030, 7, 1, 14, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "zone", "style", "expected"),
    [
        (WINTER, "America/Chicago", "datetime", "Mon Jan 14, 4:00 PM CST"),
        (WINTER, "America/Chicago", "time", "4:00 PM CST"),
        (WINTER, "America/Chicago", "weekday-time", "Mon 4:00 PM CST"),
        (WINTER, "America/Denver", "time", "3:00 PM MST"),
        (SUMMER, "America/Chicago", "time", "9:05 AM CDT"),
        (WINTER, "Asia/Kolkata", "datetime", "Tue Jan 15, 3:30 AM IST"),
        (WINTER, "Asia/Dubai", "time", "2:00 AM UTC+04"),  # no abbreviation: the offset, said as such
        (datetime(2030, 1, 14, 6, 0, tzinfo=UTC), "UTC", "time", "6:00 AM UTC"),
        (datetime(2030, 1, 14, 12, 30, tzinfo=UTC), "UTC", "time", "12:30 PM UTC"),
        (datetime(2030, 1, 14, 0, 30, tzinfo=UTC), "UTC", "time", "12:30 AM UTC"),
        (WINTER, "Asia/Kolkata", "date", "Jan 15, 2030"),
        (WINTER, "Asia/Kolkata", "day", "Tuesday, January 15"),
        (WINTER, "Asia/Kolkata", "iso-date", "2030-01-15"),
    ],
)
def test_it_reads_an_instant_on_the_clinics_clock(moment: datetime, zone: str, style: str, expected: str) -> None:
    assert display(moment, zone, style) == expected


def test_it_refuses_a_style_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="unknown time style"):
        display(WINTER, "UTC", "%H:%M")
    assert display(None, "UTC") == ""
