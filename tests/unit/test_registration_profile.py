"""The business profile's field rules: clear errors, normalized values, and what is missing before submitting."""

from __future__ import annotations

import pytest

from clinic_reminders.models import BusinessProfile
from clinic_reminders.registration.profile import check_field, problems


@pytest.mark.parametrize(
    ("field", "value", "stored"),
    [
        ("ein", "123456789", "12-3456789"),
        ("ein", "12-3456789", "12-3456789"),
        ("contact_phone", "(303) 555-0142", "+13035550142"),
        ("region", "co", "CO"),
        ("website", "https://riverside.example.com", "https://riverside.example.com"),
        ("postal_code", "80202-1234", "80202-1234"),
        ("ein", "", ""),  # not filled in yet: allowed, reported by problems()
    ],
)
def test_it_normalizes_good_values(field: str, value: str, stored: str) -> None:
    assert check_field(field, value) == stored


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("ein", "98-76", "9-digit EIN"),
        ("website", "riverside.example.com", "whole address"),
        ("privacy_policy_url", "https://localhost/privacy", "whole address"),
        ("contact_email", "grace at riverside", "not an email address"),
        ("contact_phone", "555-0142", "E.164"),
        ("business_type", "LLC", "Limited Liability Corporation"),
        ("region", "Colorado", "two-letter code"),
        ("postal_code", "8x2", "5-digit ZIP"),
        ("consent_flow", "by text", "at least 40 characters"),
        ("contact_job_position", "Office manager", "General Counsel"),
        ("opt_in_type", "intake", "PAPER_FORM"),
        ("terms_url", "terms", "whole address"),
    ],
)
def test_it_says_what_is_wrong_without_repeating_it(field: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        check_field(field, value)
    assert value not in str(caught.value)


def test_it_lists_everything_missing_from_an_empty_profile() -> None:
    found = problems(BusinessProfile(monthly_volume=0))
    assert found["ein"] == "the EIN is missing"
    assert found["consent_flow"] == "the description of how patients agree to texts is missing"
    assert "monthly_volume" in found
    assert found["contact_job_position"].startswith("the contact's position (Director, GM")
    assert len(found) == 18
    assert problems(None).keys() == found.keys()
    tollfree = problems(BusinessProfile(monthly_volume=0), tollfree=True)
    assert tollfree.keys() - found.keys() == {"opt_in_type", "opt_in_url"}
