"""Phone parsing into E.164."""

from __future__ import annotations

import pytest

from clinic_reminders.models import PhoneKind
from clinic_reminders.phones import InvalidPhoneNumber, display, guess_kind, to_e164


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("(303) 555-0123", "+13035550123"),
        ("303.555.0123", "+13035550123"),
        ("+1 303 555 0123", "+13035550123"),
        ("1-303-555-0123", "+13035550123"),
        ("+34 612 345 678", "+34612345678"),
    ],
)
def test_it_normalises_what_people_type(raw: str, e164: str) -> None:
    assert to_e164(raw) == e164


@pytest.mark.parametrize("raw", ["", "hello", "123", "+1 000 000 0000", "555-0123"])
def test_it_rejects_non_numbers_without_repeating_them(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as info:
        to_e164(raw)
    assert raw == "" or raw not in str(info.value)


def test_it_knows_a_spanish_mobile_but_not_a_us_one() -> None:
    assert guess_kind("+34612345678") == PhoneKind.MOBILE
    assert guess_kind("+13035550123") == PhoneKind.UNKNOWN


def test_it_displays_us_numbers_nationally() -> None:
    assert display("+13035550123") == "(303) 555-0123"
