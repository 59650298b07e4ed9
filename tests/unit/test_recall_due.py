"""When a patient is due for recall (a visit plus months, to the day or the month's last day), and the checks an
office's own follow-up or recall text must pass."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinic_reminders.followup import texts
from clinic_reminders.followup.recall import MOST_OVERDUE, add_months, is_due
from clinic_reminders.messaging.segments import count_segments

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))
months = st.integers(min_value=1, max_value=120)


@given(days, months)
def test_it_lands_months_later_on_the_same_day_or_the_months_last(day: date, n: int) -> None:
    due = add_months(day, n)
    assert (due.year * 12 + due.month) - (day.year * 12 + day.month) == n
    last = calendar.monthrange(due.year, due.month)[1]
    assert due.day == min(day.day, last)


@given(days, months, months)
def test_it_never_goes_backwards_and_grows_with_the_interval(day: date, n: int, more: int) -> None:
    assert day < add_months(day, n) <= add_months(day, n + more)


@pytest.mark.parametrize(
    ("visit", "n", "due"),
    [
        (date(2030, 1, 31), 1, date(2030, 2, 28)),
        (date(2031, 12, 31), 2, date(2032, 2, 29)),
        (date(2030, 6, 12), 12, date(2031, 6, 12)),
        (date(2030, 11, 30), 3, date(2031, 2, 28)),
    ],
)
def test_it_handles_short_months_and_leap_years(visit: date, n: int, due: date) -> None:
    assert add_months(visit, n) == due


@given(days, st.integers(min_value=-800, max_value=800))
def test_a_due_date_counts_from_its_day_until_it_is_too_old(today: date, offset: int) -> None:
    due_on = today + timedelta(days=offset)
    assert is_due(due_on, today) == (-MOST_OVERDUE.days <= offset <= 0)


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("{clinic}: we missed you. Call {phone}.", "opt out"),
        ("{clinic}: we missed you {name}. STOP=opt out", "Unknown placeholder"),
        ("{clinic: we missed you. STOP=opt out", "braces"),
        ("  ", "empty"),
        ("{clinic}: " + "we missed you today, " * 8 + "STOP=opt out", "segments"),
    ],
)
def test_an_office_text_must_name_the_opt_out_and_fit_one_segment(source: str, problem: str) -> None:
    assert any(problem in found for found in texts.problems(source))


def test_the_defaults_pass_the_checks_and_fit_one_segment_with_long_names() -> None:
    for kind in texts.Kind:
        for lang, sources in texts.DEFAULTS[kind].items():
            for source in sources:
                assert texts.problems(source) == [], (kind, lang)
            body = texts.text(kind, lang, {}, clinic="Riverside Family Medicine of Greater Springfield", phone="")
            assert count_segments(body).segments == 1 and "STOP" in body
