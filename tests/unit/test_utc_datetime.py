"""UTCDateTime on SQLite: its one-step processors write and read the very text SQLAlchemy's DateTime does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import DateTime
from sqlalchemy.dialects import postgresql, sqlite

from clinic_reminders.models.base import UTCDateTime

SQLITE = sqlite.dialect()
MOMENTS = [
    datetime(2030, 1, 15, 9, 30, tzinfo=UTC),  # no microseconds: still written with six digits
    datetime(2030, 3, 10, 2, 30, 15, 123456, tzinfo=ZoneInfo("America/Denver")),  # a zone, around a DST change
    datetime(2030, 11, 3, 1, 30, fold=1, tzinfo=ZoneInfo("America/Chicago")),
    datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),
    datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),  # a year of three digits
]


def _sqlalchemy_text(moment: datetime) -> str:
    process = DateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    assert process is not None
    text = process(moment.astimezone(UTC).replace(tzinfo=None))
    assert isinstance(text, str)
    return text


@pytest.mark.parametrize("moment", MOMENTS)
def test_it_writes_the_text_sqlalchemy_datetime_writes(moment: datetime) -> None:
    bind = UTCDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    assert bind is not None
    assert bind(moment) == _sqlalchemy_text(moment)


@pytest.mark.parametrize("moment", MOMENTS)
def test_it_reads_back_the_same_instant_in_utc(moment: datetime) -> None:
    read = UTCDateTime().dialect_impl(SQLITE).result_processor(SQLITE, None)
    assert read is not None
    value = read(_sqlalchemy_text(moment))
    assert value == moment.astimezone(UTC)  # the same instant (a time in a DST gap or fold included)
    assert value.tzinfo is UTC


def test_it_reads_text_without_microseconds_or_with_an_offset() -> None:
    read = UTCDateTime().dialect_impl(SQLITE).result_processor(SQLITE, None)
    assert read is not None
    assert read("2030-01-15 09:30:00") == datetime(2030, 1, 15, 9, 30, tzinfo=UTC)
    assert read("2030-01-15 09:30:00-05:00") == datetime(2030, 1, 15, 14, 30, tzinfo=UTC)
    assert read(None) is None


def test_it_refuses_a_naive_datetime_on_both_databases() -> None:
    naive = datetime(2030, 1, 15, 9, 30)
    for dialect in (SQLITE, postgresql.dialect()):
        bind = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
        with pytest.raises(ValueError, match="naive datetime"):
            bind(naive) if bind else UTCDateTime().process_bind_param(naive, dialect)


def test_it_tells_apart_the_two_instants_of_a_repeated_hour() -> None:
    """1:30 happens twice when Chicago falls back; the two compare equal as Chicago times, not as instants."""
    bind = UTCDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    assert bind is not None
    chicago = ZoneInfo("America/Chicago")
    first, second = (datetime(2030, 11, 3, 1, 30, fold=fold, tzinfo=chicago) for fold in (0, 1))
    assert bind(first) == "2030-11-03 06:30:00.000000"
    assert bind(second) == "2030-11-03 07:30:00.000000"
    assert bind(first.astimezone(UTC)) == bind(first)
